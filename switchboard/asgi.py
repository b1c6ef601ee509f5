"""ASGI entry point for multi-worker serving: ``uvicorn switchboard.asgi:app``."""

from switchboard.app import create_app
from switchboard.core.logs import configure
from switchboard.core.settings import get_settings

configure(get_settings().log_level)
app = create_app()
