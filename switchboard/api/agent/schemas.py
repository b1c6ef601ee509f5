"""Request and response shapes of the agent API (``/agentapi/v1``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class LoginRequest(_In):
    tenant: str = Field(description="The tenant's domain name (the contact center)")
    login_id: str = Field(alias="loginId", min_length=1)
    password: str = Field(min_length=1)
    state: Literal["ready", "not_ready"] = "not_ready"
    reason: str | None = None


class StateChange(_In):
    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = None


class MessageIn(_In):
    msg: str = Field(min_length=1, max_length=65536)


class ReceiptIn(_In):
    type: Literal["delivered", "read"]
    ref_msg_id: str = Field(min_length=1)


class TypingIn(_In):
    typing: bool


SIGNALING_TYPES = (
    "REQUEST_CALL",
    "OFFER_CALL",
    "ANSWER_CALL",
    "ICE_CANDIDATE",
    "END_CALL",
    "CALL_REJECTED",
    "REQUEST_PHONE_CALL",
    "REQUEST_SMS",
)


class SignalingData(_In):
    """A WebRTC signaling message (seed 003 ``chat_session_signaling``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    type: Literal[
        "REQUEST_CALL",
        "OFFER_CALL",
        "ANSWER_CALL",
        "ICE_CANDIDATE",
        "END_CALL",
        "CALL_REJECTED",
        "REQUEST_PHONE_CALL",
        "REQUEST_SMS",
    ]
    sdp: str | None = Field(default=None, max_length=65536)
    candidate: str | None = Field(default=None, max_length=4096)
    sdpMid: str | None = Field(default=None, max_length=255)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=65535)


class SignalingIn(_In):
    data: SignalingData


class FormIn(_In):
    form_name: str = Field(min_length=1, max_length=255)
    form_timeout: int | None = Field(default=None, ge=0)


class FileIn(_In):
    file_id: str = Field(min_length=1)
    file_type: Literal["image", "attachment"] | None = None


class CaseIn(_In):
    case_id: str = Field(min_length=1, max_length=255)


class TransferIn(_In):
    service: str | None = Field(default=None, description="Service name or id")
    agent: str | None = Field(default=None, description="loginId of a ready agent")
    requested_skills: dict[str, int] | None = None
    priority: int | None = None


class ConferenceIn(_In):
    agent: str = Field(min_length=1, description="loginId of the user to invite")


class DispositionIn(_In):
    disposition: str | None = None
    notes: str | None = Field(default=None, max_length=65536)


class EndIn(DispositionIn):
    complete: bool = Field(default=False, description="Skip after-call work")


class AgentState(BaseModel):
    state: str
    reason: str | None = None
    since: str
    next_state: str | None = None
    login_at: str | None = None


class Load(BaseModel):
    media: str
    capacity: int
    active: int
    wrapup: int


class UserInfo(BaseModel):
    id: str
    login_id: str
    first_name: str
    last_name: str
    display_name: str
    team: str | None = None
    skills: dict[str, int]


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    tenant: str
    user: UserInfo
    agent: AgentState
    cursor: str


class Me(BaseModel):
    user: UserInfo
    agent: AgentState
    loads: list[Load]
    cursor: str = Field(description="A resume cursor at the present moment")


class Step(BaseModel):
    id: str
    kind: str
    phase: str
    outcome: str | None = None
    party_id: str | None = None
    offered_at: str
    answered_at: str | None = None
    ended_at: str | None = None
    completed_at: str | None = None
    deadline: str | None = None
    disposition: str | None = None
    notes: str | None = None


class InteractionOut(BaseModel):
    id: str
    media: str
    chat_id: str | None = None
    state: str
    service_id: str | None = None
    service: str | None = None
    priority: int
    case_id: str | None = None
    disposition: str | None = None
    notes: str | None = None
    created_at: str
    queued_at: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    mine: Step
    customer: dict[str, Any] = Field(default_factory=dict)


class InteractionList(BaseModel):
    interactions: list[InteractionOut]


class Accepted(BaseModel):
    party_id: str


class Posted(BaseModel):
    seq: int


class OfferOut(BaseModel):
    interaction_id: str
    user_id: str
    kind: str


class Events(BaseModel):
    events: list[dict[str, Any]]
    cursor: str


class PastChat(BaseModel):
    chat_id: str
    state: str
    created_at: str
    ended_at: str | None = None
    events: list[dict[str, Any]]


class ClientHistory(BaseModel):
    chats: list[PastChat]


class Named(BaseModel):
    id: str
    name: str


class NamedList(BaseModel):
    items: list[Named]


class Colleague(BaseModel):
    login_id: str
    display_name: str
    state: str
    reason: str | None = None


class ColleagueList(BaseModel):
    agents: list[Colleague]


class Ok(BaseModel):
    ok: bool = True
