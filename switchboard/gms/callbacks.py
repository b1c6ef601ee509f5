"""GMS callbacks that happen: each callback is dialed by the outbound dialer.

Every callback service name of a tenant (``callback``, ``vip-line``...) has a system
calling list ``gms-callback:<name>`` and a running campaign ``GMS callback <name>``,
created with the first callback; each callback is a record of that list (key: the
callback's ``_id``; ``Phone``: ``_customer_number``) whose result is due at
``_desired_time``. The dialer then does the rest as for any campaign: it offers the
callback to a ready agent with the skills of the campaign's service (``outbound_preview``
on the agent's channel; progressive when ``_agent_preview`` is false), the agent accepts
(``POST /agentapi/v1/outbound/{attemptId}/start``), the carrier calls the customer and
connects the agent (to the agent's phone with a real carrier), the agent sets a
disposition; busy, no answer, machines and failures are retried after
``_dial_retry_timeout`` seconds, ``_max_dial_attempts`` times. Attempts are outbound
attempts: they count in the outbound statistics of the service and are recorded.

Options (tenant settings; in brackets the Genesys callback option they stand for):

| tenant setting | default | |
|---|---|---|
| ``gms_callback_target`` (``_target``) | a service named like the callback service, else the first voice service | the service whose skills agents need |
| ``gms_callback_max_dial_attempts`` (``_max_dial_attempts``) | 3 | |
| ``gms_callback_dial_retry_seconds`` (``_dial_retry_timeout``) | 300 | before a failed call is retried |
| ``gms_callback_agent_preview`` (``_agent_preview``) | true | offer to the agent first (false: dial when an agent is free) |
| ``gms_callback_preview_timeout_seconds`` (``_agent_preview_timeout``) | 60 | the agent's time to accept |
| ``gms_callback_caller_id`` (``_calling_party_number``) | the tenant's first voice access number | |
| ``gms_callback_amd`` (``_cpd_enable``) | false | answering-machine detection |

The callback's state as the GMS API shows it is read from its record: ``ROUTING`` while
offered to an agent, ``PROCESSING`` while dialing or talking, ``COMPLETED`` (with
``_callback_reason``: the disposition) once the record is closed; cancelling,
rescheduling and expiring a callback change its record in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import DAYS, Campaign, campaign_lists
from switchboard.core.errors import Conflict
from switchboard.dialer.attempts import agent_in, attempt_event, changed
from switchboard.dnc import phones
from switchboard.gms.models import GmsService
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.scenarios.models import AccessNumber
from switchboard.services.models import Service
from switchboard.telephony.models import TelephonyCampaignOptions
from switchboard.tenants.models import Tenant

LIST_PREFIX = "gms-callback:"
CAMPAIGN_PREFIX = "GMS callback "
FIELDS = ["ID", "Phone", "DesiredTime", "Service", "UserData"]
DEFAULTS: dict[str, Any] = {
    "_target": None,
    "_max_dial_attempts": 3,
    "_dial_retry_timeout": 300,
    "_agent_preview": True,
    "_agent_preview_timeout": 60,
    "_calling_party_number": None,
    "_cpd_enable": False,
}


def list_name(name: str) -> str:
    return f"{LIST_PREFIX}{name}"[:255]


def campaign_name(name: str) -> str:
    return f"{CAMPAIGN_PREFIX}{name}"[:255]


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# tenant setting -> option
SETTINGS = {
    "gms_callback_target": "_target",
    "gms_callback_max_dial_attempts": "_max_dial_attempts",
    "gms_callback_dial_retry_seconds": "_dial_retry_timeout",
    "gms_callback_agent_preview": "_agent_preview",
    "gms_callback_preview_timeout_seconds": "_agent_preview_timeout",
    "gms_callback_caller_id": "_calling_party_number",
    "gms_callback_amd": "_cpd_enable",
}


async def options_in(s: AsyncSession, tenant_id: str) -> dict[str, Any]:
    tenant = await s.get(Tenant, tenant_id)
    out = dict(DEFAULTS)
    for key, option in SETTINGS.items():
        value = tenant.setting(key) if tenant is not None else None
        if value is not None:
            out[option] = value
    return out


async def _service_id(s: AsyncSession, tenant_id: str, name: str, target: Any) -> str | None:
    for wanted in (name, target):
        if isinstance(wanted, str) and wanted:
            found = (
                await s.execute(
                    select(Service.id).where(
                        Service.tenant_id == tenant_id,
                        func.lower(Service.name) == wanted.lower(),
                    )
                )
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
    voice = (
        await s.execute(
            select(Service.id)
            .where(Service.tenant_id == tenant_id, Service.media == "voice")
            .order_by(Service.created_at, Service.name)
            .limit(1)
        )
    ).scalar_one_or_none()
    return str(voice) if voice is not None else None


async def _caller_id(s: AsyncSession, tenant_id: str, configured: Any, region: str) -> str | None:
    if isinstance(configured, str) and configured:
        return phones.normalize(configured, region) or configured
    number = (
        await s.execute(
            select(AccessNumber.number)
            .where(AccessNumber.tenant_id == tenant_id, AccessNumber.media.like("voice%"))
            .order_by(AccessNumber.number)
            .limit(1)
        )
    ).scalar_one_or_none()
    return phones.normalize(number, region) if number else None


async def system_campaign_in(
    s: AsyncSession,
    tenant_id: str,
    at: datetime,
    *,
    list_name: str,
    campaign_name: str,
    description: str,
    fields: list[str],
) -> tuple[Campaign, CallingList]:
    """A calling list and running campaign that Switchboard manages (the list row locked),
    created on first use: GMS callbacks and chat callbacks place their calls through one."""
    defn = (
        await s.execute(
            select(CallingList)
            .where(CallingList.tenant_id == tenant_id, CallingList.name == list_name)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if defn is None:
        defn = CallingList(
            tenant_id=tenant_id,
            name=list_name,
            description=description,
            fields=list(fields),
            keys=["ID"],
            required=["ID", "Phone"],
            phone_fields=["Phone"],
            read_only=True,
            next_index=0,
            created_at=at,
            updated_at=at,
        )
        s.add(defn)
        await s.flush()
    campaign = (
        await s.execute(
            select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.name == campaign_name)
        )
    ).scalar_one_or_none()
    if campaign is None:
        campaign = Campaign(
            tenant_id=tenant_id,
            name=campaign_name,
            description=description,
            enabled=True,
            state="RUNNING",
            started_at=at,
            calling_hours={d: [["00:00", "24:00"]] for d in DAYS},
            required_skills={},
            created_at=at,
            updated_at=at,
        )
        s.add(campaign)
        await s.flush()
        await s.execute(
            insert(campaign_lists).values(
                campaign_id=campaign.id, list_id=defn.id, position=0, next_idx=0
            )
        )
    return campaign, defn


async def carrier_options_in(
    s: AsyncSession,
    campaign: Campaign,
    opts: dict[str, Any],
    *,
    service_hint: str,
    at: datetime,
    region: str,
) -> None:
    """What the tenant's callback options say of a callback campaign's calls: its service
    (``_target``), caller id (``_calling_party_number``, else the first voice access
    number), answering-machine detection (``_cpd_enable``); every call recorded."""
    campaign.service_id = await _service_id(s, campaign.tenant_id, service_hint, opts["_target"])
    campaign.caller_id = await _caller_id(
        s, campaign.tenant_id, opts["_calling_party_number"], region
    )
    options = await s.get(TelephonyCampaignOptions, campaign.id)
    if options is None:
        options = TelephonyCampaignOptions(campaign_id=campaign.id, tenant_id=campaign.tenant_id)
        s.add(options)
    options.machine_detection = "enable" if _bool(opts["_cpd_enable"]) else "off"
    options.record = True
    options.updated_at = at


async def ensure_in(
    s: AsyncSession, tenant_id: str, name: str, at: datetime, region: str
) -> tuple[Campaign, CallingList]:
    """The callback service's list and running campaign, created or brought in line with
    the tenant's options (inside the caller's transaction; the list row is locked)."""
    opts = await options_in(s, tenant_id)
    campaign, defn = await system_campaign_in(
        s,
        tenant_id,
        at,
        list_name=list_name(name),
        campaign_name=campaign_name(name),
        description=f"GMS callbacks of {name} (managed by Switchboard)",
        fields=FIELDS,
    )
    retry = max(0.0, float(opts["_dial_retry_timeout"])) / 60
    campaign.mode = "preview" if _bool(opts["_agent_preview"]) else "progressive"
    campaign.max_attempts = max(1, int(opts["_max_dial_attempts"]))
    campaign.preview_timeout_seconds = max(1, int(opts["_agent_preview_timeout"]))
    campaign.retry_minutes = {k: retry for k in ("busy", "no_answer", "failed", "timeout")} | {
        "skipped": retry
    }
    if campaign.state != "RUNNING":
        campaign.state, campaign.started_at = "RUNNING", at
    await carrier_options_in(s, campaign, opts, service_hint=name, at=at, region=region)
    return campaign, defn


async def enqueue_in(
    s: AsyncSession, svc: GmsService, user_data: dict[str, str], at: datetime, region: str
) -> None:
    """Inside the transaction creating the callback: its record, due at its time."""
    campaign, defn = await ensure_in(s, svc.tenant_id, svc.name, at, region)
    record = CallingRecord(
        list_id=defn.id,
        idx=defn.next_index,
        key=svc.id,
        data={
            "ID": svc.id,
            "Phone": svc.customer_number or "",
            "DesiredTime": (svc.desired_time or at).isoformat(),
            "Service": svc.name,
            "UserData": json.dumps(user_data, sort_keys=True)[:4000] if user_data else "",
        },
        updated_at=at,
    )
    defn.next_index += 1
    defn.updated_at = at
    s.add(record)
    await s.flush()
    s.add(
        RecordResult(
            tenant_id=svc.tenant_id,
            campaign_id=campaign.id,
            list_id=defn.id,
            record_id=record.id,
            state="idle",
            completed=False,
            total_attempts=0,
            dial_attempts=0,
            phone_index=0,
            next_attempt_at=svc.desired_time or at,
            updated_at=at,
        )
    )
    changed(s, svc.tenant_id, svc.id)


# ---- the callback's progress -----------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    result: RecordResult
    attempt_state: str | None
    campaign: str

    @property
    def state(self) -> str | None:
        """The GMS callback state the record implies (None: the stored one)."""
        if self.result.completed:
            return "COMPLETED"
        if self.attempt_state == "offered":
            return "ROUTING"
        if self.attempt_state in ("dialing", "connected", "wrapup"):
            return "PROCESSING"
        return None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.result.dial_attempts:
            out["_dial_attempts"] = self.result.dial_attempts
        if self.result.completed and self.result.record_disposition:
            out["_callback_reason"] = self.result.record_disposition
        elif self.result.last_disposition:
            out["_last_disposition"] = self.result.last_disposition
        return out


async def progress_in(s: AsyncSession, services: Sequence[GmsService]) -> dict[str, Progress]:
    """The records of these callbacks (one query)."""
    callbacks = [svc for svc in services if svc.kind == "callback"]
    if not callbacks:
        return {}
    tenant_id = callbacks[0].tenant_id
    rows = await s.execute(
        select(CallingRecord.key, RecordResult, CallAttempt.state, Campaign.name)
        .join(CallingList, CallingList.id == CallingRecord.list_id)
        .join(RecordResult, RecordResult.record_id == CallingRecord.id)
        .join(Campaign, Campaign.id == RecordResult.campaign_id)
        .outerjoin(CallAttempt, CallAttempt.id == RecordResult.last_attempt_id)
        .where(
            CallingList.tenant_id == tenant_id,
            CallingList.name.in_({list_name(svc.name) for svc in callbacks}),
            CallingRecord.key.in_([svc.id for svc in callbacks]),
        )
    )
    return {key: Progress(result, state, name) for key, result, state, name in rows.all()}


async def overlay_in(s: AsyncSession, services: Sequence[GmsService]) -> dict[str, Progress]:
    """Show each callback's progress in its ``callback_state`` (the objects are taken out
    of the read session first: nothing is written)."""
    found = await progress_in(s, services)
    for svc in services:
        p = found.get(svc.id)
        if p is None or svc.callback_state in ("CANCELLED", "EXPIRED", "COMPLETED"):
            continue
        state = p.state
        if state is not None:
            if svc in s:
                s.expunge(svc)
            svc.callback_state = state
    return found


async def _locked_record(
    s: AsyncSession, svc: GmsService
) -> tuple[RecordResult, CallAttempt | None] | None:
    row = (
        await s.execute(
            select(RecordResult)
            .join(CallingRecord, CallingRecord.id == RecordResult.record_id)
            .join(CallingList, CallingList.id == CallingRecord.list_id)
            .where(
                CallingList.tenant_id == svc.tenant_id,
                CallingList.name == list_name(svc.name),
                CallingRecord.key == svc.id,
            )
            .with_for_update(of=RecordResult)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    attempt = None
    if row.last_attempt_id:
        attempt = (
            await s.execute(
                select(CallAttempt).where(CallAttempt.id == row.last_attempt_id).with_for_update()
            )
        ).scalar_one_or_none()
    return row, attempt


async def stop_in(s: AsyncSession, svc: GmsService, reason: str, at: datetime) -> str | None:
    """The callback ends without (more) calls: cancelled or expired. A pending offer is
    withdrawn from its agent; a call in progress cannot be stopped (409). Returns
    ``COMPLETED`` when its record had already completed, else None."""
    found = await _locked_record(s, svc)
    if found is None:
        return None
    result, attempt = found
    if result.completed:
        return "COMPLETED"
    if attempt is not None and attempt.state in ("dialing", "connected", "wrapup"):
        raise Conflict("The callback is being processed")
    if attempt is not None and attempt.state == "offered":
        campaign = await s.get(Campaign, attempt.campaign_id)
        event = attempt_event("outbound_withdrawn", attempt, campaign.name if campaign else "")
        agent = attempt.agent_user_id
        result.total_attempts = max(0, result.total_attempts - 1)
        await s.delete(attempt)
        await agent_in(s, svc.tenant_id, agent, release=True, event=event)
    result.state = "done"
    result.completed = True
    result.completed_at = at
    result.reason = reason
    result.record_disposition = result.record_disposition or reason.capitalize()
    result.updated_at = at
    changed(s, svc.tenant_id, svc.id)
    return None


async def reschedule_in(s: AsyncSession, svc: GmsService, desired: datetime, at: datetime) -> None:
    """A new desired time: the record is due then (409 while offered or in progress)."""
    found = await _locked_record(s, svc)
    if found is None:
        return
    result, attempt = found
    if attempt is not None and attempt.state in ("offered", "dialing", "connected", "wrapup"):
        raise Conflict("The callback is being processed")
    if result.state == "idle":
        result.next_attempt_at = desired
        result.updated_at = at
    changed(s, svc.tenant_id, svc.id)
