"""Agent API v1 (``/agentapi/v1``): sessions, states, offers and the agent's actions on
interactions. Routers parse, authorise, call one action or read, and map errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select

from switchboard.agents import actions as agents
from switchboard.agents import service as agent_service
from switchboard.agents.channel import cursor_now
from switchboard.agents.models import AgentSession
from switchboard.api.agent.deps import (
    CurrentAgent,
    RuntimeDep,
    current_agent,
    principal_for,
    runtime,
)
from switchboard.api.agent.schemas import (
    Accepted,
    AgentState,
    CaseIn,
    ClientHistory,
    Colleague,
    ColleagueList,
    ConferenceIn,
    DispositionIn,
    EndIn,
    FileIn,
    FormIn,
    InteractionList,
    InteractionOut,
    Load,
    LoginRequest,
    LoginResponse,
    Me,
    MessageIn,
    Named,
    NamedList,
    OfferOut,
    Ok,
    PastChat,
    Posted,
    ReceiptIn,
    SignalingIn,
    StateChange,
    Step,
    TransferIn,
    TypingIn,
    UserInfo,
)
from switchboard.api.common import bearer_token, body_doc, client_address, parse
from switchboard.api.messaging.upload import receive_file
from switchboard.auth.actions import LoginFailed, login, revoke
from switchboard.calls import actions as calls
from switchboard.chats import files
from switchboard.chats import service as chat_service
from switchboard.chats.events import render
from switchboard.core.errors import Invalid, NotFound, TooManyRequests, Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.core.security import upload_headers
from switchboard.interactions import actions
from switchboard.interactions import service as interactions
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.services.models import Disposition, NotReadyReason, Service
from switchboard.users.models import User

router = APIRouter(prefix="/agentapi/v1", tags=["Agent API"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the message says which field)"},
    401: {"description": "Missing, invalid or expired agent session token"},
    403: {"description": "The user lacks the privilege Handle interactions"},
    404: {"description": "No such interaction (or not yours)"},
    409: {"description": "Not possible in the current state (the message says why)"},
    415: {"description": "Content-Type is not application/json"},
}


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _state(agent: AgentSession | None) -> AgentState:
    if agent is None:
        return AgentState(state="logged_out", since="")
    p = agents.state_payload(agent)
    return AgentState(
        state=p["state"],
        reason=p["reason"],
        since=p["since"],
        next_state=p["next_state"],
        login_at=p["login_at"],
    )


async def _user_info(rt: Runtime, tenant_id: str, user_id: str) -> UserInfo:
    async with rt.db.read() as s:
        user = await s.get(User, user_id)
        if user is None or user.tenant_id != tenant_id:
            raise Unauthorized("User not found")
        return UserInfo(
            id=user.id,
            login_id=user.login_id,
            first_name=user.first_name,
            last_name=user.last_name,
            display_name=user.display_name,
            team=user.team.name if user.team is not None else None,
            skills={us.skill.name: us.level for us in user.skills},
        )


async def _agent(rt: Runtime, tenant_id: str, user_id: str) -> AgentSession | None:
    async with rt.db.read() as s:
        return await agent_service.get(session=s, tenant_id=tenant_id, user_id=user_id)


# ---- session ---------------------------------------------------------------------------


@router.post(
    "/login",
    summary="Log in (loginId, password, tenant domain); starts the agent session",
    response_model=LoginResponse,
    openapi_extra=body_doc(LoginRequest),
    responses={
        **ERRORS,
        401: {"description": "Unknown tenant or user, wrong password, locked or disabled"},
    },
)
async def login_route(request: Request, rt: RuntimeDep) -> LoginResponse:
    data = await parse(request, LoginRequest)
    try:
        issued = await login(
            rt,
            tenant_domain=data.tenant,
            login_id=data.login_id,
            secret=data.password,
            using="password",
            kind="agent",
            lifetime_seconds=rt.settings.agent_session_lifetime_seconds,
            source=client_address(request),
        )
    except LoginFailed as e:
        if e.reason == "throttled":
            raise TooManyRequests(
                "Too many failed logins from this address; retry later",
                retry_after=int(e.retry_after + 0.999) or 1,
            ) from e
        messages = {
            "locked": "User is locked out after repeated failures",
            "disabled": "User is disabled",
        }
        raise Unauthorized(
            messages.get(e.reason, "Invalid tenant, loginId or password"), code=e.reason
        ) from e
    try:
        principal = await principal_for(rt, issued.token)
        await agents.start_session(
            rt,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            state=data.state,
            reason=data.reason,
        )
    except Exception:
        await revoke(rt, issued.token)
        raise
    agent = await _agent(rt, issued.tenant_id, issued.user_id)
    cursor = await cursor_now(rt, tenant_id=issued.tenant_id, user_id=issued.user_id)
    return LoginResponse(
        access_token=issued.token,
        expires_in=issued.expires_in,
        tenant=issued.tenant_domain,
        user=await _user_info(rt, issued.tenant_id, issued.user_id),
        agent=_state(agent),
        cursor=cursor.encode(),
    )


@router.post(
    "/logout",
    summary="Log out (withdraws pending offers; refused while interactions are open)",
    response_model=AgentState,
    responses=ERRORS,
)
async def logout_route(request: Request, principal: CurrentAgent, rt: RuntimeDep) -> AgentState:
    await actions.logout(
        rt,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        token=bearer_token(request) or request.query_params.get("access_token", ""),
    )
    return _state(await _agent(rt, principal.tenant_id, principal.user_id))


@router.get("/me", summary="The agent, state, loads and a resume cursor", response_model=Me)
async def me(principal: CurrentAgent, rt: RuntimeDep) -> Me:
    async with rt.db.read() as s:
        agent = await agent_service.get(
            session=s, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
        loads = await agent_service.loads(session=s, user_id=principal.user_id)
        load_out = [
            Load(media=ld.media, capacity=ld.capacity, active=ld.active, wrapup=ld.wrapup)
            for ld in loads
        ]
    cursor = await cursor_now(rt, tenant_id=principal.tenant_id, user_id=principal.user_id)
    return Me(
        user=await _user_info(rt, principal.tenant_id, principal.user_id),
        agent=_state(agent),
        loads=load_out,
        cursor=cursor.encode(),
    )


@router.get("/state", summary="The agent's ACD state", response_model=AgentState)
async def get_state(principal: CurrentAgent, rt: RuntimeDep) -> AgentState:
    return _state(await _agent(rt, principal.tenant_id, principal.user_id))


@router.put(
    "/state",
    summary="Go ready or not ready (with a reason from the tenant's list), or log out",
    response_model=AgentState,
    openapi_extra=body_doc(StateChange),
    responses=ERRORS,
)
async def put_state(request: Request, principal: CurrentAgent, rt: RuntimeDep) -> AgentState:
    data = await parse(request, StateChange)
    if data.state == "logged_out":
        if data.reason is not None:
            raise Invalid("Only not_ready takes a reason")
        await actions.logout(
            rt,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            token=bearer_token(request) or request.query_params.get("access_token", ""),
        )
    else:
        await agents.set_state(
            rt,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            state=data.state,
            reason=data.reason,
        )
    return _state(await _agent(rt, principal.tenant_id, principal.user_id))


# ---- reference lists -------------------------------------------------------------------


@router.get("/reasons", summary="The tenant's not-ready reasons", response_model=NamedList)
async def reasons(principal: CurrentAgent, rt: RuntimeDep) -> NamedList:
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(NotReadyReason)
                .where(NotReadyReason.tenant_id == principal.tenant_id)
                .order_by(NotReadyReason.name)
            )
        ).scalars()
        return NamedList(items=[Named(id=r.id, name=r.name) for r in rows])


@router.get(
    "/dispositions",
    summary="Dispositions an agent may select (of a service, or all)",
    response_model=NamedList,
)
async def dispositions(
    principal: CurrentAgent, rt: RuntimeDep, service_id: str | None = None
) -> NamedList:
    async with rt.db.read() as s:
        stmt = select(Disposition).where(
            Disposition.tenant_id == principal.tenant_id, Disposition.agent_can_select
        )
        if service_id:
            stmt = stmt.where(
                (Disposition.service_id.is_(None)) | (Disposition.service_id == service_id)
            )
        rows = (await s.execute(stmt.order_by(Disposition.sort_order, Disposition.name))).scalars()
        return NamedList(items=[Named(id=d.id, name=d.name) for d in rows])


@router.get("/services", summary="Chat services (transfer targets)", response_model=NamedList)
async def services(principal: CurrentAgent, rt: RuntimeDep) -> NamedList:
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(Service)
                .where(
                    Service.tenant_id == principal.tenant_id,
                    Service.media == "chat",
                    Service.enabled,
                )
                .order_by(Service.name)
            )
        ).scalars()
        return NamedList(items=[Named(id=r.id, name=r.name) for r in rows])


@router.get(
    "/agents",
    summary="Logged-in colleagues and their states (transfer and conference targets)",
    response_model=ColleagueList,
)
async def colleagues(principal: CurrentAgent, rt: RuntimeDep) -> ColleagueList:
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(AgentSession, User)
                .join(User, User.id == AgentSession.user_id)
                .where(
                    AgentSession.tenant_id == principal.tenant_id,
                    AgentSession.login_at.is_not(None),
                )
                .order_by(User.login_id)
            )
        ).all()
        return ColleagueList(
            agents=[
                Colleague(
                    login_id=u.login_id,
                    display_name=u.display_name,
                    state=a.state,
                    reason=a.reason if a.state == "not_ready" else None,
                )
                for a, u in rows
                if u.id != principal.user_id
            ]
        )


# ---- interactions ----------------------------------------------------------------------


def _step(st: InteractionStep) -> Step:
    return Step(
        id=st.id,
        kind=st.kind,
        phase=st.phase,
        outcome=st.outcome,
        party_id=st.party_id,
        offered_at=st.offered_at.isoformat(),
        answered_at=_iso(st.answered_at),
        ended_at=_iso(st.ended_at),
        completed_at=_iso(st.completed_at),
        deadline=_iso(st.deadline),
        disposition=st.disposition,
        notes=st.notes,
    )


async def _out(rt: Runtime, st: InteractionStep, it: Interaction) -> InteractionOut:
    customer: dict[str, Any] = {}
    service_name = None
    async with rt.db.read() as s:
        if it.chat_id:
            chat = await chat_service.get_chat(
                session=s, tenant_id=it.tenant_id, chat_id=it.chat_id
            )
            if chat is not None:
                customer = {
                    "parameters": dict(chat.parameters or {}),
                    "from": chat.from_address,
                    "phone_number": chat.phone_number,
                    "client_key": chat.client_key,
                    "chat_state": chat.state,
                }
        if it.service_id:
            svc = await s.get(Service, it.service_id)
            service_name = svc.name if svc else None
    return InteractionOut(
        id=it.id,
        media=it.media,
        chat_id=it.chat_id,
        state=it.state,
        service_id=it.service_id,
        service=service_name,
        priority=it.priority,
        case_id=it.case_id,
        disposition=it.disposition,
        notes=it.notes,
        created_at=it.created_at.isoformat(),
        queued_at=_iso(it.queued_at),
        answered_at=_iso(it.answered_at),
        ended_at=_iso(it.ended_at),
        mine=_step(st),
        customer=customer,
    )


@router.get(
    "/interactions",
    summary="The agent's current interactions: offered, connected, in after-call work",
    response_model=InteractionList,
)
async def list_mine(principal: CurrentAgent, rt: RuntimeDep) -> InteractionList:
    async with rt.db.read() as s:
        rows = await interactions.held_by(
            session=s, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
    return InteractionList(interactions=[await _out(rt, st, it) for st, it in rows])


@router.get(
    "/interactions/{interaction_id}",
    summary="One interaction, the agent's part in it, and the customer's parameters",
    response_model=InteractionOut,
    responses=ERRORS,
)
async def get_one(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> InteractionOut:
    async with rt.db.read() as s:
        st, it = await interactions.my_part(
            session=s,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            interaction_id=interaction_id,
        )
    return await _out(rt, st, it)


def _ids(principal: CurrentAgent, interaction_id: str) -> dict[str, str]:
    return {
        "tenant_id": principal.tenant_id,
        "user_id": principal.user_id,
        "interaction_id": interaction_id,
    }


@router.post(
    "/interactions/{interaction_id}/accept",
    summary="Accept the offer: join the chat",
    response_model=Accepted,
    responses=ERRORS,
)
async def accept(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> Accepted:
    party_id = await actions.accept(rt, **_ids(principal, interaction_id))
    return Accepted(party_id=party_id)


@router.post(
    "/interactions/{interaction_id}/reject",
    summary="Reject the offer: the chat goes to another agent",
    response_model=Ok,
    responses=ERRORS,
)
async def reject(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> Ok:
    await actions.reject(rt, **_ids(principal, interaction_id))
    return Ok()


async def _post(
    rt: Runtime, principal: CurrentAgent, interaction_id: str, event: dict[str, Any]
) -> Posted:
    seq = await actions.post_event(rt, **_ids(principal, interaction_id), event=event)
    return Posted(seq=seq)


@router.post(
    "/interactions/{interaction_id}/messages",
    summary="Send a chat message to the customer",
    response_model=Posted,
    openapi_extra=body_doc(MessageIn),
    responses=ERRORS,
)
async def send_message(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    data = await parse(request, MessageIn)
    return await _post(
        rt, principal, interaction_id, {"event": "chat_session_message", "msg": data.msg}
    )


async def send_message_route(request: Request) -> Response:
    """``send_message`` as a plain Starlette route (``FAST_ROUTES``)."""
    principal = await current_agent(request)
    data = await parse(request, MessageIn)
    posted = await _post(
        runtime(request),
        principal,
        request.path_params["interaction_id"],
        {"event": "chat_session_message", "msg": data.msg},
    )
    return JSONResponse({"seq": posted.seq})


@router.post(
    "/interactions/{interaction_id}/receipts",
    summary="Tell the customer a message was delivered or read",
    response_model=Posted,
    openapi_extra=body_doc(ReceiptIn),
    responses=ERRORS,
)
async def receipt(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    data = await parse(request, ReceiptIn)
    name = f"chat_session_message_{data.type}"
    return await _post(
        rt, principal, interaction_id, {"event": name, "ref_msg_id": data.ref_msg_id}
    )


@router.post(
    "/interactions/{interaction_id}/typing",
    summary="Typing indicator (true: typing, false: stopped)",
    response_model=Posted,
    openapi_extra=body_doc(TypingIn),
    responses=ERRORS,
)
async def typing(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    data = await parse(request, TypingIn)
    name = "chat_session_typing" if data.typing else "chat_session_not_typing"
    return await _post(rt, principal, interaction_id, {"event": name})


@router.post(
    "/interactions/{interaction_id}/signaling",
    summary="Send a WebRTC signaling message to the customer (relayed, never in history)",
    response_model=Posted,
    openapi_extra=body_doc(SignalingIn),
    responses=ERRORS,
)
async def signaling(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    data = await parse(request, SignalingIn)
    payload = data.data.model_dump(exclude_none=True)
    seq = await calls.agent_signaling(
        rt,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        interaction_id=interaction_id,
        data=payload,
    )
    return Posted(seq=seq)


@router.post(
    "/interactions/{interaction_id}/files",
    summary="Send a file: a multipart upload (field 'file'), or the file_id of one uploaded",
    response_model=Posted,
    openapi_extra=body_doc(FileIn),
    responses={**ERRORS, 413: {"description": "Larger than max_upload_bytes"}},
)
async def send_file(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    event: dict[str, Any] = {"event": "chat_session_file"}
    if ctype == "multipart/form-data":
        async with rt.db.read() as s:
            _st, it = await interactions.my_part(
                session=s,
                tenant_id=principal.tenant_id,
                user_id=principal.user_id,
                interaction_id=interaction_id,
            )
        writer = files.UploadWriter(rt, principal.tenant_id)
        await receive_file(request, writer)
        stored = await files.register(rt, writer, chat_id=it.chat_id, uploaded_by=principal.user_id)
        event["file_id"] = stored.id
    else:
        data = await parse(request, FileIn)
        event["file_id"] = data.file_id
        if data.file_type:
            event["file_type"] = data.file_type
    return await _post(rt, principal, interaction_id, event)


@router.get(
    "/interactions/{interaction_id}/files/{file_id}",
    summary="Download a file of the chat (sent by the customer or an agent)",
    responses=ERRORS,
)
async def get_file(
    interaction_id: str, file_id: str, principal: CurrentAgent, rt: RuntimeDep
) -> FileResponse:
    async with rt.db.read() as s:
        _st, it = await interactions.my_part(
            session=s,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            interaction_id=interaction_id,
        )
    stored = await files.get(rt, file_id=file_id)
    if stored is None or stored.tenant_id != principal.tenant_id or stored.chat_id != it.chat_id:
        raise NotFound("File not found")
    path = files.path_of(rt, stored)
    if not path.is_file():
        raise NotFound("File not found")
    headers = upload_headers(stored.content_type, stored.name)
    return FileResponse(
        path,
        media_type=headers.pop("Content-Type"),
        filename=stored.name,
        content_disposition_type="attachment" if "Content-Disposition" in headers else "inline",
        headers=headers,
    )


@router.post(
    "/interactions/{interaction_id}/forms",
    summary="Show a predefined form to the customer (answers arrive as form_data)",
    response_model=Posted,
    openapi_extra=body_doc(FormIn),
    responses=ERRORS,
)
async def push_form(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Posted:
    data = await parse(request, FormIn)
    event: dict[str, Any] = {"event": "chat_session_form_show", "form_name": data.form_name}
    if data.form_timeout is not None:
        event["form_timeout"] = str(data.form_timeout)
    return await _post(rt, principal, interaction_id, event)


@router.put(
    "/interactions/{interaction_id}/case",
    summary="Link the chat to a CRM case (customer gets chat_session_case_set)",
    response_model=Ok,
    openapi_extra=body_doc(CaseIn),
    responses=ERRORS,
)
async def set_case(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Ok:
    data = await parse(request, CaseIn)
    await actions.set_case(rt, **_ids(principal, interaction_id), case_id=data.case_id)
    return Ok()


@router.post(
    "/interactions/{interaction_id}/transfer",
    summary="Transfer to a service (queue) or to a ready agent",
    response_model=OfferOut | Ok,
    openapi_extra=body_doc(TransferIn),
    responses=ERRORS,
)
async def transfer(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> OfferOut | Ok:
    data = await parse(request, TransferIn)
    if bool(data.service) == bool(data.agent):
        raise Invalid("Give either service or agent")
    if data.agent:
        offer = await actions.transfer_to_agent(
            rt, **_ids(principal, interaction_id), target_login=data.agent
        )
        return OfferOut(interaction_id=offer.interaction_id, user_id=offer.user_id, kind=offer.kind)
    await actions.transfer_to_service(
        rt,
        **_ids(principal, interaction_id),
        service=data.service or "",
        requested_skills=data.requested_skills,
        priority=data.priority,
    )
    return Ok()


@router.post(
    "/interactions/{interaction_id}/conference",
    summary="Invite a colleague or supervisor into the chat",
    response_model=OfferOut,
    openapi_extra=body_doc(ConferenceIn),
    responses=ERRORS,
)
async def conference(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> OfferOut:
    data = await parse(request, ConferenceIn)
    offer = await actions.conference(rt, **_ids(principal, interaction_id), target_login=data.agent)
    return OfferOut(interaction_id=offer.interaction_id, user_id=offer.user_id, kind=offer.kind)


@router.post(
    "/interactions/{interaction_id}/leave",
    summary="Leave a chat you were conferenced into",
    response_model=Ok,
    responses=ERRORS,
)
async def leave(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> Ok:
    await actions.leave(rt, **_ids(principal, interaction_id))
    return Ok()


async def _optional_body(request: Request, model: type[Any]) -> Any:
    if not (await request.body()).strip():
        return model()
    return await parse(request, model)


@router.post(
    "/interactions/{interaction_id}/end",
    summary="End the chat; optional disposition, notes, and complete (skip after-call work)",
    response_model=Ok,
    openapi_extra=body_doc(EndIn),
    responses=ERRORS,
)
async def end(interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep) -> Ok:
    data: EndIn = await _optional_body(request, EndIn)
    await actions.end(
        rt,
        **_ids(principal, interaction_id),
        disposition=data.disposition,
        notes=data.notes,
        complete=data.complete,
    )
    return Ok()


@router.put(
    "/interactions/{interaction_id}/disposition",
    summary="Set the disposition and/or notes",
    response_model=Ok,
    openapi_extra=body_doc(DispositionIn),
    responses=ERRORS,
)
async def disposition(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Ok:
    data = await parse(request, DispositionIn)
    await actions.set_disposition(
        rt, **_ids(principal, interaction_id), disposition=data.disposition, notes=data.notes
    )
    return Ok()


@router.post(
    "/interactions/{interaction_id}/complete",
    summary="Finish after-call work (optionally with disposition and notes)",
    response_model=Ok,
    openapi_extra=body_doc(DispositionIn),
    responses=ERRORS,
)
async def complete(
    interaction_id: str, request: Request, principal: CurrentAgent, rt: RuntimeDep
) -> Ok:
    data: DispositionIn = await _optional_body(request, DispositionIn)
    await actions.complete_wrap_up(
        rt, **_ids(principal, interaction_id), disposition=data.disposition, notes=data.notes
    )
    return Ok()


@router.get(
    "/interactions/{interaction_id}/history",
    summary="The whole chat so far: [{chat_seq, event}] (events as the customer's client sees them)",
    response_model=dict[str, list[dict[str, Any]]],
    responses=ERRORS,
)
async def history(
    interaction_id: str, principal: CurrentAgent, rt: RuntimeDep
) -> dict[str, list[dict[str, Any]]]:
    async with rt.db.read() as s:
        _st, it = await interactions.my_part(
            session=s,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            interaction_id=interaction_id,
        )
        rows = (
            await chat_service.events_after(session=s, chat_id=it.chat_id, after_seq=0, limit=5000)
            if it.chat_id
            else []
        )
    return {"events": [{"chat_seq": r.seq, "event": render(r, r.chat_id)} for r in rows]}


@router.get(
    "/interactions/{interaction_id}/client-history",
    summary="The customer's earlier chats (same clientId), newest first",
    response_model=ClientHistory,
    responses=ERRORS,
)
async def client_history(
    interaction_id: str, principal: CurrentAgent, rt: RuntimeDep, limit: int = 5
) -> ClientHistory:
    limit = max(1, min(limit, 20))
    out: list[PastChat] = []
    async with rt.db.read() as s:
        _st, it = await interactions.my_part(
            session=s,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            interaction_id=interaction_id,
        )
        if it.client_key and it.chat_id:
            chats = await interactions.client_chats(
                session=s,
                tenant_id=principal.tenant_id,
                client_key=it.client_key,
                before_chat=it.chat_id,
                limit=limit,
            )
            for c in chats:
                evs = await chat_service.events_after(
                    session=s, chat_id=c.id, after_seq=0, limit=1000
                )
                out.append(
                    PastChat(
                        chat_id=c.id,
                        state=c.state,
                        created_at=c.created_at.isoformat(),
                        ended_at=_iso(c.ended_at),
                        events=[render(e, c.id) for e in evs],
                    )
                )
    return ClientHistory(chats=out)
