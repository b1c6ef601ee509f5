"""ASGI entry point for multi-worker serving: ``uvicorn switchboard.asgi:app``."""

from switchboard.app import create_app

app = create_app()
