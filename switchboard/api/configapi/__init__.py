"""Configuration API v2 (``/configapi/v2``): OAuth, users, teams, phones, and the
routers that other domains add here (SCIM, calling lists, campaigns, DNC)."""

from fastapi import APIRouter

from switchboard.api.configapi import callinglist, campaigns, dnc, oauth, phones, recordings, users

router = APIRouter(prefix="/configapi/v2")
router.include_router(oauth.router)
router.include_router(users.router)
router.include_router(phones.router)
router.include_router(callinglist.router)
router.include_router(campaigns.router)
router.include_router(dnc.router)
router.include_router(recordings.router)
