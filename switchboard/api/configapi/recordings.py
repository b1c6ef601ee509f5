"""Configuration API v2: regular and multichannel call recordings.

Seed methods: ``GET /recordings/audio``, ``GET /recordings/metadata``,
``DELETE /recordings/audio`` (erase), ``GET /multi_channel_recordings`` (structure) and
``GET /multi_channel_recordings/audio`` (one party's segment). Privilege: *Access
recordings*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from switchboard.api.configapi.deps import require
from switchboard.auth.service import Principal
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.recordings import actions, service
from switchboard.users.models import Privilege

router = APIRouter(tags=["Configuration API: call recordings"])

Reader = Annotated[Principal, Depends(require(Privilege.RECORDINGS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A required query parameter is missing or invalid"},
    401: {"description": "Authentication failed"},
    403: {"description": "The user lacks the privilege 'Access recordings'"},
    404: {"description": "No recording of that interaction (step, party, segment)"},
    410: {"description": "The recording was erased"},
}
AUDIO = {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}

Giid = Annotated[str | None, Query(description="Global interaction identifier")]
StepId = Annotated[str | None, Query(description="Interaction step identifier")]


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def _required(value: str | None, name: str) -> str:
    if value is None or not value.strip():
        raise Invalid(f"Query parameter '{name}' is required")
    return value.strip()


def _audio(path: Path, name: str) -> FileResponse:
    return FileResponse(
        path,
        media_type="audio/wav",
        filename=name,
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/recordings/audio",
    summary="Get Regular Recording Audio File",
    response_class=FileResponse,
    responses={**ERRORS, 200: AUDIO},
)
async def get_audio(
    request: Request, principal: Reader, giid: Giid = None, stepid: StepId = None
) -> FileResponse:
    rt = _rt(request)
    async with rt.db.read() as s:
        rec = await service.get_or_raise(
            session=s, tenant_id=principal.tenant_id, giid=_required(giid, "giid"), step_id=stepid
        )
    return _audio(service.audio_path(Path(rt.settings.data_dir), rec), rec.file_name)


@router.get("/recordings/metadata", summary="Get Interaction Metadata", responses=ERRORS)
async def get_metadata(
    request: Request, principal: Reader, giid: Giid = None, stepid: StepId = None
) -> JSONResponse:
    async with _rt(request).db.read() as s:
        rec = await service.get_or_raise(
            session=s, tenant_id=principal.tenant_id, giid=_required(giid, "giid"), step_id=stepid
        )
        body = await service.metadata(session=s, recording=rec, base_url=str(request.base_url))
    return JSONResponse(body)


@router.delete("/recordings/audio", summary="Erase Call Recordings", responses=ERRORS)
async def erase(
    request: Request,
    principal: Reader,
    giid: Giid = None,
    reason: Annotated[str | None, Query(description="Why (optional)")] = None,
) -> JSONResponse:
    erased = await actions.erase(
        _rt(request),
        tenant_id=principal.tenant_id,
        giid=_required(giid, "giid"),
        user=principal.login_id,
        reason=reason,
    )
    return JSONResponse({"giid": giid, "erased": erased})


@router.get(
    "/multi_channel_recordings",
    summary="Get Multichannel Recording Structure",
    responses=ERRORS,
)
async def get_structure(
    request: Request,
    principal: Reader,
    giid: Giid = None,
    iid: Annotated[str | None, Query(description="Interaction id (optional)")] = None,
) -> JSONResponse:
    async with _rt(request).db.read() as s:
        rows = await service.for_giid(
            session=s, tenant_id=principal.tenant_id, giid=_required(giid, "giid")
        )
    if iid:
        rows = [r for r in rows if r.interaction_id.lower() == iid.lower()]
    if not rows:
        raise NotFound(f"No multichannel recording of interaction {giid}")
    return JSONResponse(service.structure(rows[0]))


@router.get(
    "/multi_channel_recordings/audio",
    summary="Get Multichannel Recording Segment Audio File",
    response_class=FileResponse,
    responses={**ERRORS, 200: AUDIO},
)
async def get_segment(
    request: Request,
    principal: Reader,
    giid: Giid = None,
    iid: Annotated[str | None, Query(description="Interaction id")] = None,
    party: Annotated[str | None, Query(description="Party id")] = None,
    recid: Annotated[str | None, Query(description="Segment number (from 0)")] = None,
) -> FileResponse:
    giid_value = _required(giid, "giid")
    iid_value = _required(iid, "iid")
    party_value = _required(party, "party")
    index = 0
    if recid is not None and recid.strip() != "":
        if not recid.strip().isdigit():
            raise Invalid("Query parameter 'recid' must be a non-negative integer")
        index = int(recid)
    rt = _rt(request)
    async with rt.db.read() as s:
        rows = await service.for_giid(session=s, tenant_id=principal.tenant_id, giid=giid_value)
    rows = [r for r in rows if r.interaction_id.lower() == iid_value.lower()]
    if not rows:
        raise NotFound(f"No interaction {iid_value} in {giid_value}")
    path, name = service.segment_path(Path(rt.settings.data_dir), rows[0], party_value, index)
    return _audio(path, name)
