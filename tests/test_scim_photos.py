"""SCIM photos: fetched over HTTP from their URL and stored (a local server stands in for
the identity system's photo host); a URL that fails is a 400 or a 404 (seed 003)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from switchboard.core.runtime import Runtime
from switchboard.users.models import User
from tests.conftest import TenantInfo
from tests.test_scim_support import (
    PNG,
    SCIM,
    assert_error,
    create,
    patch_body,
    photo_server,
    scim_headers,
    set_settings,
    user_body,
)

__all__ = ["photo_server"]


async def _photo(rt: Runtime, user_id: str) -> tuple[str | None, str | None, bytes | None]:
    async with rt.db.read() as s:
        u = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
        return u.photo_url, u.photo_content_type, u.photo_data


def _photos(*urls: str, primary: int | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"value": u, "type": "photo"} for u in urls]
    if primary is not None:
        out[primary]["primary"] = True
    return out


async def test_photo_is_fetched_and_stored(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, photo_server: str
) -> None:
    h = await scim_headers(client, tenant)
    url = photo_server + "/photo/a.png"
    made = await create(client, h, user_body("pic", photos=_photos(url)))
    assert "photos" not in made  # write-only
    assert await _photo(rt, made["id"]) == (url, "image/png", PNG)
    # Of several photos the primary one, else the first one; redirects are followed.
    second = photo_server + "/redirect"
    made = await create(client, h, user_body("pic2", photos=_photos(url + "?x", second, primary=1)))
    assert await _photo(rt, made["id"]) == (second, "image/png", PNG)
    made = await create(client, h, user_body("pic3", photos=_photos(url + "?1", url + "?2")))
    assert (await _photo(rt, made["id"]))[0] == url + "?1"


async def test_photo_changes(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, photo_server: str
) -> None:
    h = await scim_headers(client, tenant)
    first = photo_server + "/photo/1.png"
    made = await create(client, h, user_body("chg", photos=_photos(first)))
    url = f"{SCIM}/users/{made['id']}"
    # A PUT that does not mention photos keeps the photo (write-only: not asserted).
    assert (await client.put(url, json=user_body("chg"), headers=h)).status_code == 200
    assert (await _photo(rt, made["id"]))[0] == first
    second = photo_server + "/photo/2.png"
    r = await client.patch(
        url,
        json=patch_body({"op": "replace", "path": "photos", "value": _photos(second)}),
        headers=h,
    )
    assert r.status_code == 200
    assert (await _photo(rt, made["id"]))[0] == second
    r = await client.patch(url, json=patch_body({"op": "remove", "path": "photos"}), headers=h)
    assert r.status_code == 200
    assert await _photo(rt, made["id"]) == (None, None, None)
    r = await client.put(url, json=user_body("chg", photos=_photos(first)), headers=h)
    assert r.status_code == 200
    assert (await _photo(rt, made["id"]))[2] == PNG


async def test_photo_urls_that_fail(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, photo_server: str
) -> None:
    h = await scim_headers(client, tenant)
    cases = [
        (photo_server + "/missing.png", 404, None),
        (photo_server + "/text", 400, "invalidValue"),
        (photo_server + "/error", 400, "invalidValue"),
        ("ftp://127.0.0.1/photo.png", 400, "invalidValue"),
        ("http://127.0.0.1:1/photo.png", 400, "invalidValue"),  # nothing listens there
        ("not a url", 400, "invalidValue"),
    ]
    for url, status, scim_type in cases:
        r = await client.post(
            SCIM + "/users", json=user_body("bad", photos=_photos(url)), headers=h
        )
        assert_error(r, status, scim_type)
    # Nothing was created by the failures.
    r = await client.get(SCIM + '/users?filter=userName eq "bad"', headers=h)
    assert r.json()["totalResults"] == 0
    made = await create(client, h, user_body("ok"))
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body(
            {"op": "add", "path": "photos", "value": _photos(photo_server + "/gone.png")}
        ),
        headers=h,
    )
    assert_error(r, 404)


async def test_photo_modes(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, photo_server: str
) -> None:
    h = await scim_headers(client, tenant)
    missing = photo_server + "/missing.png"
    await set_settings(rt, tenant, scim_photos="lenient")
    made = await create(client, h, user_body("lenient", photos=_photos(missing)))
    assert await _photo(rt, made["id"]) == (missing, None, None)
    good = photo_server + "/photo/ok.png"
    made = await create(client, h, user_body("lenient2", photos=_photos(good)))
    assert (await _photo(rt, made["id"]))[2] == PNG
    await set_settings(rt, tenant, scim_photos="url")
    made = await create(client, h, user_body("byurl", photos=_photos(good)))
    assert await _photo(rt, made["id"]) == (good, None, None)
