"""Canned responses: tenant-managed reply texts with ``$(PARAM)`` placeholders."""
