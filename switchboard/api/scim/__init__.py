"""SCIM 2.0 user provisioning (``/configapi/v2/scim``): users, groups (teams) and
discovery, authenticated by Configuration API Bearer tokens with the privilege
*Manage users*. See docs/scim.md."""

from fastapi import APIRouter

from switchboard.api.scim import discovery, groups, users
from switchboard.api.scim.common import PREFIX
from switchboard.api.scim.errors import render
from switchboard.core import errors

router = APIRouter(prefix=PREFIX)
router.include_router(users.router)
router.include_router(groups.router)
router.include_router(discovery.router)

errors.register_format(PREFIX, render)
