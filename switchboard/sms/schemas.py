"""The SMS/MMS API's message resource (every number a string, as the seed shows)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SmsMessageRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    account_sid: str = Field(description="The tenant's id (the seed's examples name it so)")
    tenant_id: str = Field(description="The tenant's id (the seed's parameter table)")
    api_version: str = "1"
    body: str
    num_segments: str
    num_media: str
    date_created: str
    date_sent: str | None
    date_updated: str
    direction: str = Field(description="outbound-api; our extensions: outbound-reply, inbound")
    error_code: str | None
    error_message: str | None
    from_: str = Field(alias="from")
    price: str | None = None
    sid: str
    status: str = Field(description="queued, sent, delivered, failed (inbound: received)")
    to: str
    uri: str


class InboundRead(BaseModel):
    """The inbound webhook's answer: the stored message and the chat it went to."""

    sid: str
    chat_id: str | None
    is_new_chat: bool
    status: str
