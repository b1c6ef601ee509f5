"""Do-Not-Call lists: internal numbers, geographic (postal), area codes, record exclusion."""
