"""The demo tenant that ``make run`` seeds on an empty database."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select

from switchboard.core.runtime import Runtime
from switchboard.core.security import generate_password, generate_secret
from switchboard.scenarios.models import AccessNumber, HoursOfOperation, ScenarioEntry
from switchboard.services.models import Disposition, NotReadyReason, Service, Skill
from switchboard.teams.models import Team, team_supervisors
from switchboard.tenants.actions import create_tenant
from switchboard.tenants.models import Tenant
from switchboard.users.actions import create_user, generate_api_secret
from switchboard.users.models import User
from switchboard.users.schemas import UserCreate

# "Accounting": the team of seed 003's Update User example
TEAMS = ["Administrators", "Support Team", "Sales Team", "Accounting"]
SKILLS = ["Support", "Sales", "English", "Spanish", "Mobile", "Cable"]
DISPOSITIONS = [
    ("Resolved", "complete", None),
    ("Follow-up needed", "complete", None),
    ("Not resolved", "complete", None),
    ("Call back later", "retry", 60),
    ("No answer", "retry", 30),
    ("Do not call", "do_not_call", None),
    ("Wrong number", "complete", None),
]
NOT_READY = ["Break", "Lunch", "Meeting", "Training"]
SMS_NUMBER = "16502505674"
AGENTS = [
    ("agent1", "Alice", "Agent", {"Support": 90, "English": 100, "Mobile": 70}),
    ("agent2", "Bob", "Agent", {"Support": 70, "Sales": 80, "English": 100, "Spanish": 80}),
    ("agent3", "Carol", "Agent", {"Sales": 90, "English": 80, "Cable": 60}),
]
EXPECTED_PARAMETERS = [
    {"name": "FIRST_NAME", "type": "string", "required": False, "description": "First name"},
    {"name": "LAST_NAME", "type": "string", "required": False, "description": "Last name"},
    {"name": "EMAIL", "type": "email", "required": False, "description": "E-mail address"},
    {"name": "PHONE", "type": "phone", "required": False, "description": "Phone number"},
]


@dataclass
class DemoCredentials:
    tenant: str
    tenant_id: str = ""
    admin_login: str = "admin"
    admin_secret: str = ""
    password: str = ""
    users: list[str] = field(default_factory=list)


def credentials_file(rt: Runtime) -> Path:
    return Path(rt.settings.data_dir) / "demo-credentials.json"


async def seed_demo(rt: Runtime) -> DemoCredentials | None:
    """Create the demo tenant unless the database already has any tenant."""
    async with rt.db.read() as s:
        if (await s.execute(select(Tenant.id).limit(1))).first() is not None:
            return None
    creds = await create_demo_tenant(
        rt,
        domain=rt.settings.demo_tenant,
        admin_secret=rt.settings.demo_admin_secret or generate_secret(64),
        password=rt.settings.demo_password or generate_password(),
    )
    _save(rt, creds)
    return creds


async def create_demo_tenant(
    rt: Runtime, *, domain: str, admin_secret: str, password: str
) -> DemoCredentials:
    """A complete tenant: teams, skills, services, dispositions, the ``test`` chat entry,
    ``admin`` (with ``admin_secret``), ``agent1..3`` and ``supervisor1`` (``password``)."""
    tenant = await create_tenant(rt, domain=domain, name="Example Contact Center")
    creds = DemoCredentials(tenant=tenant.domain, admin_secret=admin_secret, password=password)
    async with rt.db.write() as s:
        teams = {n: Team(tenant_id=tenant.id, name=n) for n in TEAMS}
        s.add_all(teams.values())
        s.add_all(Skill(tenant_id=tenant.id, name=n) for n in SKILLS)
        service = Service(tenant_id=tenant.id, name="Chat Service", media="chat")
        s.add(service)
        s.add(Service(tenant_id=tenant.id, name="Voice Service", media="voice"))
        s.add(Service(tenant_id=tenant.id, name="Outbound Service", media="outbound"))
        hours = HoursOfOperation(tenant_id=tenant.id, name="24/7", always_open=True)
        s.add(hours)
        s.add(
            HoursOfOperation(
                tenant_id=tenant.id,
                name="Business hours",
                timezone="America/Los_Angeles",
                weekly={d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                holidays=[{"date": "2026-12-25", "name": "Christmas Day"}],
            )
        )
        await s.flush()
        for order, (name, outcome, retry) in enumerate(DISPOSITIONS):
            s.add(
                Disposition(
                    tenant_id=tenant.id,
                    name=name,
                    outcome=outcome,
                    retry_minutes=retry,
                    sort_order=order,
                )
            )
        s.add_all(NotReadyReason(tenant_id=tenant.id, name=n) for n in NOT_READY)
        s.add(
            ScenarioEntry(
                tenant_id=tenant.id,
                app_id="test",
                name="Test Chat",
                service_id=service.id,
                hours_id=hours.id,
                expected_parameters=EXPECTED_PARAMETERS,
                requested_skills={},
                priority=0,
                widget_configuration={
                    "title": "Chat with us",
                    "greeting": "Hello! How can we help you today?",
                    "color": "#1f6feb",
                    "pre_chat_form": [p["name"] for p in EXPECTED_PARAMETERS],
                },
            )
        )
        s.add(
            AccessNumber(
                tenant_id=tenant.id,
                number="16505555555",
                media="voice_text",
                type="scenario",
                scenario="Main Inbound",
            )
        )
        # the From number of seed 003's SMS/MMS examples: texts to it open chats on
        # the demo chat entry (appId "test"), and the SMS API may send from it
        s.add(
            AccessNumber(
                tenant_id=tenant.id,
                number=SMS_NUMBER,
                media="sms_mms",
                type="scenario",
                scenario="test",
            )
        )
    await create_user(
        rt,
        tenant_id=tenant.id,
        data=UserCreate(
            login_id="admin",
            password=creds.password,
            first_name="API",
            last_name="User",
            team="Administrators",
            roles=["System Administrator"],
        ),
    )
    await generate_api_secret(rt, tenant_id=tenant.id, login_id="admin", secret=creds.admin_secret)
    for login, first, last, skills in AGENTS:
        await create_user(
            rt,
            tenant_id=tenant.id,
            data=UserCreate(
                login_id=login,
                password=creds.password,
                first_name=first,
                last_name=last,
                team="Support Team" if login != "agent3" else "Sales Team",
                roles=["Agent"],
                skills=skills,
                email=f"{login}@example.com",
            ),
        )
    sup = await create_user(
        rt,
        tenant_id=tenant.id,
        data=UserCreate(
            login_id="supervisor1",
            password=creds.password,
            first_name="Sam",
            last_name="Supervisor",
            team="Support Team",
            roles=["Supervisor"],
            skills={"Support": 100, "Sales": 100, "English": 100},
        ),
    )
    async with rt.db.write() as s:
        for name in ("Support Team", "Sales Team"):
            team_id = teams[name].id
            await s.execute(insert(team_supervisors).values(team_id=team_id, user_id=sup.id))
    creds.users = ["admin", *(a[0] for a in AGENTS), "supervisor1"]
    creds.tenant_id = tenant.id
    await _after_seed(rt, tenant.id)
    return creds


async def _after_seed(rt: Runtime, tenant_id: str) -> None:
    """Let other domains add their demo data (calling lists, campaigns...)."""
    import importlib

    from switchboard.core.registry import _domains

    for name in _domains():
        try:
            mod = importlib.import_module(f"switchboard.{name}.demo")
        except ModuleNotFoundError as e:
            if e.name != f"switchboard.{name}.demo":
                raise
            continue
        hook = getattr(mod, "seed_demo_tenant", None)
        if hook is not None:
            await hook(rt, tenant_id)


def _save(rt: Runtime, creds: DemoCredentials) -> None:
    path = credentials_file(rt)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds.__dict__, f, indent=2)


def load_saved(rt: Runtime) -> DemoCredentials | None:
    path = credentials_file(rt)
    if not path.exists():
        return None
    try:
        return DemoCredentials(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


async def demo_user_count(rt: Runtime) -> int:
    async with rt.db.read() as s:
        return len((await s.execute(select(User.id))).all())
