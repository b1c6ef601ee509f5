"""Canned responses of the demo tenant."""

from __future__ import annotations

from switchboard.canned.models import CannedResponse
from switchboard.core.runtime import Runtime

DEMO = [
    (
        "Greeting",
        "Hello $(FIRST_NAME|there)! My name is on the left; how can I help you today?",
        "General",
        "/hello",
        ["greeting"],
    ),
    (
        "One moment",
        "Thank you $(FIRST_NAME|), let me check that for you. One moment please.",
        "General",
        "/moment",
        ["hold"],
    ),
    (
        "Confirm e-mail",
        "I have $(EMAIL) as your e-mail address: is that right?",
        "Account",
        "/email",
        ["account", "email"],
    ),
    (
        "Goodbye",
        "Thank you for contacting us, $(FIRST_NAME|)! Have a great day.",
        "General",
        "/bye",
        ["closing"],
    ),
]


async def seed_demo_tenant(rt: Runtime, tenant_id: str) -> None:
    async with rt.db.write() as s:
        for title, text, category, shortcut, tags in DEMO:
            s.add(
                CannedResponse(
                    tenant_id=tenant_id,
                    title=title,
                    text=text,
                    category=category,
                    shortcut=shortcut,
                    tags=tags,
                )
            )
