"""What the GMS API hands to the domain (parsed bodies) and the answers' shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass
class Upload:
    """A file part of a multipart body (spooled by the parser; closed by the router)."""

    key: str
    filename: str
    content_type: str
    size: int
    file: IO[bytes]


@dataclass
class Params:
    """A request body: text values by key, and files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        value = self.fields.get(key)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def service_params(self) -> dict[str, str]:
        """The ``_``-prefixed parameters: they drive the service."""
        return {k: v for k, v in self.fields.items() if k.startswith("_")}

    def user_data(self) -> Params:
        """Everything else: user data, kept in storage (files included)."""
        return Params(
            {k: v for k, v in self.fields.items() if not k.startswith("_")},
            [f for f in self.files if not f.key.startswith("_")],
        )


# ---- answers (OpenAPI documentation) ------------------------------------------------


class ServiceCreated(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(alias="_id")


class CallbackRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    desired_time: str = Field(alias="_desired_time")
    service_name: str = Field(alias="_service_name")
    callback_state: str = Field(alias="_callback_state")
    expiration_time: str | None = Field(alias="_expiration_time")
    customer_number: str = Field(alias="_customer_number")


class StorageCreated(BaseModel):
    id: str


class ChatAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    statusCode: int
    chatId: str
    alias: str
    secureKey: str | None = None
    userId: str
    chatEnded: bool
    nextPosition: int | None = None
    messages: list[dict[str, Any]]


class ErrorRead(BaseModel):
    message: str
    exception: str
