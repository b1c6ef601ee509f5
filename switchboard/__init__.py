"""Switchboard: a self-hosted contact-center server."""

__version__ = "0.1.0"
