"""The outbound dialer: picks eligible records of running campaigns, checks DNC and
calling hours, reserves agents, and places calls through the telephony protocol."""
