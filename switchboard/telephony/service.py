"""Reading carrier options and calls."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns import service as campaigns_service
from switchboard.telephony.models import TelephonyCall, TelephonyCampaignOptions


async def campaign_options(
    *, session: AsyncSession, tenant_id: str, campaign: str
) -> TelephonyCampaignOptions:
    """The campaign's options (the defaults when none were set); 404 unknown campaign."""
    found = await campaigns_service.get_or_raise(
        session=session, tenant_id=tenant_id, name=campaign
    )
    options = await session.get(TelephonyCampaignOptions, found.id)
    return options or TelephonyCampaignOptions(
        campaign_id=found.id, tenant_id=tenant_id, machine_detection="off", record=True
    )


async def get_call(*, session: AsyncSession, call_id: str) -> TelephonyCall | None:
    return await session.get(TelephonyCall, call_id)
