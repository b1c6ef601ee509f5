"""Fetching SCIM photo URLs without letting a tenant administrator probe the server's
network (issue 12): every connection and redirect passes ``core.netguard``, and every
URL that cannot be fetched — refused address, nothing listening, timeout, bad TLS —
gets the same answer (400 ``invalidValue``, "Photo URL cannot be fetched"), so the
answers tell nothing about internal hosts. A photo host that answers keeps its
documented answers (404 for a missing photo, 400 for an error or a non-image)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from switchboard.core.netguard import guarded_client
from switchboard.users.scim import MAX_PHOTO_BYTES, FetchedPhoto, photo_error


class GuardedPhotoFetcher:
    def __init__(
        self,
        allow_networks: Iterable[str] = (),
        timeout: float = 10.0,
        max_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        self.allow_networks = list(allow_networks)
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def fetch(self, url: str) -> FetchedPhoto:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise photo_error(400, f"Photo URL must be http(s): {url}")
        data = bytearray()
        try:
            async with (
                guarded_client(self.allow_networks, timeout=self.timeout) as client,
                client.stream("GET", url, headers={"Accept": "image/*"}) as response,
            ):
                if response.status_code in (404, 410):
                    raise photo_error(404, f"Photo not found: {url}")
                if response.status_code >= 400:
                    raise photo_error(400, f"Photo URL answered {response.status_code}: {url}")
                ctype = response.headers.get("content-type", "").split(";", 1)[0].strip()
                if not ctype.lower().startswith("image/"):
                    raise photo_error(400, f"Photo URL is not an image ({ctype or 'no type'})")
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self.max_bytes:
                        raise photo_error(400, "Photo is larger than 5 MiB")
        except (httpx.HTTPError, ValueError) as e:
            # one answer for refused addresses, unreachable hosts, timeouts, TLS errors
            raise photo_error(400, f"Photo URL cannot be fetched: {url}") from e
        if not data:
            raise photo_error(400, f"Photo URL returned an empty body: {url}")
        return FetchedPhoto(url=url, content_type=ctype.lower(), data=bytes(data))
