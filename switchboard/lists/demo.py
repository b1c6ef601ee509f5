"""Demo outbound data: the calling list ``list.csv`` (the seed's example fields) bound to
the stopped campaign ``Outbound Campaign``, and the internal DNC list ``DNC_List``, so
the seed's example requests work on a fresh ``make run``."""

from __future__ import annotations

from sqlalchemy import insert, select

from switchboard.campaigns.models import (
    Campaign,
    campaign_lists,
    default_calling_hours,
    default_retry_minutes,
)
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.dnc.models import DncList
from switchboard.lists.models import KEY_SEP, CallingList, CallingRecord
from switchboard.services.models import Service

LIST_NAME = "list.csv"
CAMPAIGN_NAME = "Outbound Campaign"
DNC_NAME = "DNC_List"
FIELDS = ["ID", "firstName", "lastName", "Phone", "Status"]
RECORDS = [
    {"ID": "1", "firstName": "Graham", "lastName": "Smith", "Phone": "16509999999", "Status": "Gold"},
    {"ID": "2", "firstName": "Mike", "lastName": "Miller", "Phone": "16507777777", "Status": "Platinum"},
    {"ID": "3", "firstName": "Katrina", "lastName": "Johnson", "Phone": "16502222222", "Status": "Silver"},
]  # fmt: skip


async def seed_demo_tenant(rt: Runtime, tenant_id: str) -> None:
    async with rt.db.write() as s:
        exists = await s.execute(
            select(CallingList.id).where(
                CallingList.tenant_id == tenant_id, CallingList.name == LIST_NAME
            )
        )
        if exists.first() is not None:
            return
        service_id = (
            await s.execute(
                select(Service.id).where(
                    Service.tenant_id == tenant_id, Service.name == "Outbound Service"
                )
            )
        ).scalar_one_or_none()
        defn = CallingList(
            tenant_id=tenant_id,
            name=LIST_NAME,
            description="Demo calling list (the API examples' fields)",
            fields=FIELDS,
            keys=["ID"],
            required=["ID", "Phone"],
            phone_fields=["Phone"],
            next_index=len(RECORDS),
        )
        campaign = Campaign(
            tenant_id=tenant_id,
            name=CAMPAIGN_NAME,
            description="Demo outbound campaign (stopped)",
            enabled=True,
            state="STOPPED",
            mode="preview",
            service_id=service_id,
            max_attempts=3,
            calling_hours=default_calling_hours(),
            retry_minutes=default_retry_minutes(),
            caller_id="16505555555",
        )
        dnc = DncList(
            tenant_id=tenant_id,
            name=DNC_NAME,
            type="internal",
            description="Demo internal Do Not Call list",
            all_campaigns=True,
        )
        s.add_all([defn, campaign, dnc])
        await s.flush()
        now = utcnow()
        s.add_all(
            CallingRecord(
                list_id=defn.id,
                idx=i,
                key=KEY_SEP.join([r["ID"]]),
                data=dict(r),
                updated_at=now,
            )
            for i, r in enumerate(RECORDS)
        )
        await s.execute(
            insert(campaign_lists).values(
                campaign_id=campaign.id, list_id=defn.id, position=0, next_idx=0
            )
        )
