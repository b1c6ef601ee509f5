"""Calling lists: a definition (fields, keys, required and phone fields, time-zone field),
records numbered by insertion index from 0, and per-campaign results and attempts."""
