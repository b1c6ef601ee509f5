"""Outbound campaigns: state, dialing mode, bound calling lists and DNC lists, service and
skills, dispositions, attempts, calling hours and caller id."""
