"""SMS/MMS API (``/clientweb/smsapi/v1``): Send Message, Get Message, and our inbound
and delivery-report webhooks. Errors answer ``{"error_code", "error_message"}``."""

from switchboard.api.smsapi import errors
from switchboard.api.smsapi.routes import router

errors.install()

__all__ = ["router"]
