"""Changing the carrier options of a campaign (answering-machine detection, recording)."""

from __future__ import annotations

from switchboard.campaigns import service as campaigns_service
from switchboard.core.db import utcnow
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime
from switchboard.telephony.models import MACHINE_DETECTION, TelephonyCampaignOptions


async def set_campaign_options(
    rt: Runtime,
    *,
    tenant_id: str,
    campaign: str,
    machine_detection: str | None,
    record: bool | None,
) -> TelephonyCampaignOptions:
    if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
        raise Invalid(f"answeringMachineDetection must be one of {', '.join(MACHINE_DETECTION)}")
    async with rt.db.write() as s:
        found = await campaigns_service.get_or_raise(session=s, tenant_id=tenant_id, name=campaign)
        options = await s.get(TelephonyCampaignOptions, found.id, with_for_update=True)
        if options is None:
            options = TelephonyCampaignOptions(
                campaign_id=found.id, tenant_id=tenant_id, machine_detection="off", record=True
            )
            s.add(options)
        if machine_detection is not None:
            options.machine_detection = machine_detection
        if record is not None:
            options.record = record
        options.updated_at = utcnow()
    return options
