"""Support for the push tests (no tests here): local fakes of the Apple Push Notification
service and of Firebase Cloud Messaging HTTP v1 that check what the real ones check, and
credentials made for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from tests.conftest import free_port

MAX_PAYLOAD = 4096
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# the audience Google's token endpoint requires of a service account's assertion
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


# ---- APNs --------------------------------------------------------------------------------


@dataclass
class FakeApns:
    """``POST /3/device/{token}`` over HTTP/2 only, with Apple's checks: a provider token
    (ES256 JWT) of a registered key (``kid``) and team (``iss``), at most an hour old;
    ``apns-topic`` one of the team's bundle ids; ``apns-push-type``; a JSON payload with
    ``aps`` of at most 4 KB; a known device token of that topic (unregistered: 410)."""

    keys: dict[str, tuple[str, Any]] = field(default_factory=dict)  # kid -> (team, public key)
    topics: dict[str, set[str]] = field(default_factory=dict)  # team -> bundle ids
    devices: dict[str, str] = field(default_factory=dict)  # token -> topic
    unregistered: set[str] = field(default_factory=set)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def _no(self, status: int, reason: str) -> Response:
        self.refused.append((status, reason))
        body: dict[str, Any] = {"reason": reason}
        if status == 410:
            body["timestamp"] = int(time.time() * 1000)
        return JSONResponse(body, status_code=status, headers={"apns-id": secrets.token_hex(8)})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/3/device/{token}")
        async def push(token: str, request: Request) -> Response:
            if request.scope.get("http_version") != "2":
                return self._no(505, "HTTP/2 required")
            auth = request.headers.get("authorization", "")
            if not auth.startswith("bearer "):
                return self._no(403, "MissingProviderToken")
            provider_token = auth[len("bearer ") :]
            try:
                header = jwt.get_unverified_header(provider_token)
            except jwt.PyJWTError:
                return self._no(403, "InvalidProviderToken")
            if header.get("alg") != "ES256" or header.get("kid") not in self.keys:
                return self._no(403, "InvalidProviderToken")
            team, public = self.keys[header["kid"]]
            try:
                claims = jwt.decode(
                    provider_token,
                    public,
                    algorithms=["ES256"],
                    options={"require": ["iss", "iat"], "verify_iat": True},
                )
            except jwt.PyJWTError:
                return self._no(403, "InvalidProviderToken")
            if claims["iss"] != team:
                return self._no(403, "InvalidProviderToken")
            if time.time() - claims["iat"] > 3600:
                return self._no(403, "ExpiredProviderToken")
            topic = request.headers.get("apns-topic")
            if not topic:
                return self._no(400, "MissingTopic")
            if topic not in self.topics.get(team, set()):
                return self._no(400, "TopicDisallowed")
            if request.headers.get("apns-push-type") not in ("alert", "background"):
                return self._no(400, "InvalidPushType")
            body = await request.body()
            if len(body) > MAX_PAYLOAD:
                return self._no(413, "PayloadTooLarge")
            try:
                payload = json.loads(body)
            except ValueError:
                return self._no(400, "BadPayload")
            if not isinstance(payload, dict) or "aps" not in payload:
                return self._no(400, "PayloadEmpty")
            if token in self.unregistered:
                return self._no(410, "Unregistered")
            if token not in self.devices:
                return self._no(400, "BadDeviceToken")
            if self.devices[token] != topic:
                return self._no(400, "DeviceTokenNotForTopic")
            self.delivered.append({"token": token, "topic": topic, "payload": payload})
            return Response(status_code=200, headers={"apns-id": secrets.token_hex(8)})

        return app


def apns_key(directory: Path, fake: FakeApns, team: str, topic: str) -> tuple[str, Path]:
    """A new signing key registered with the fake: (key id, path of its .p8 file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    kid = secrets.token_hex(5).upper()
    fake.keys[kid] = (team, key.public_key())
    fake.topics.setdefault(team, set()).add(topic)
    path = directory / f"AuthKey_{kid}.p8"
    path.write_text(pem(key))
    return kid, path


# ---- FCM ---------------------------------------------------------------------------------


@dataclass
class FakeFcm:
    """Google's OAuth2 token endpoint (JWT bearer grant: an RS256 assertion of a known
    service account, ``aud`` Google's token endpoint, the messaging scope, at most an
    hour) and
    ``POST /v1/projects/{project}/messages:send`` (a valid access token of an account
    of that project, a message with one token, string data, at most 4 KB; an
    unregistered token: 404 ``UNREGISTERED``)."""

    base_url: str = ""
    accounts: dict[str, tuple[str, Any]] = field(default_factory=dict)  # email -> (project, key)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (project, exp)
    devices: set[str] = field(default_factory=set)
    unregistered: set[str] = field(default_factory=set)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    grants: int = 0

    def _error(self, status: int, state: str, code: str | None = None) -> Response:
        self.refused.append((status, code or state))
        error: dict[str, Any] = {"code": status, "message": state, "status": state}
        if code:
            error["details"] = [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
            ]
        return JSONResponse({"error": error}, status_code=status)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            assertion = form.get("assertion", "")
            try:
                unverified = jwt.decode(assertion, options={"verify_signature": False})
                project, public = self.accounts[unverified["iss"]]
                claims = jwt.decode(
                    assertion,
                    public,
                    algorithms=["RS256"],
                    audience=GOOGLE_TOKEN_AUDIENCE,
                    options={"require": ["iss", "aud", "iat", "exp"]},
                )
            except (jwt.PyJWTError, KeyError):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if claims["exp"] - claims["iat"] > 3600 or FCM_SCOPE not in claims.get("scope", ""):
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            self.grants += 1
            access = "ya29." + secrets.token_urlsafe(24)
            self.tokens[access] = (project, time.time() + 3600)
            return JSONResponse(
                {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
            )

        @app.post("/v1/projects/{project}/messages:send")
        async def send(project: str, request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            found = self.tokens.get(auth.removeprefix("Bearer "))
            if not auth.startswith("Bearer ") or found is None or found[1] < time.time():
                return self._error(401, "UNAUTHENTICATED")
            if found[0] != project:
                return self._error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")
            body = await request.body()
            try:
                message = json.loads(body)["message"]
            except (ValueError, KeyError, TypeError):
                return self._error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
            if len(body) > MAX_PAYLOAD:
                return self._error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
            data = message.get("data", {})
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                return self._error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
            device = message.get("token")
            if device in self.unregistered:
                return self._error(404, "NOT_FOUND", "UNREGISTERED")
            if device not in self.devices:
                return self._error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
            self.delivered.append(message)
            return JSONResponse({"name": f"projects/{project}/messages/{secrets.token_hex(6)}"})

        return app

    def service_account(self, directory: Path, project: str) -> Path:
        """A new service-account key of ``project``, as the JSON file Firebase gives."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        email = f"firebase-adminsdk-{secrets.token_hex(3)}@{project}.iam.gserviceaccount.com"
        self.accounts[email] = (project, key.public_key())
        info = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": secrets.token_hex(20),
            "private_key": pem(key),
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": f"{self.base_url}/token",
        }
        path = directory / f"{project}-firebase-adminsdk.json"
        path.write_text(json.dumps(info))
        return path


# ---- serving -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve_h2(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with hypercorn (HTTP/2 with prior knowledge on a plain local port)."""
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    stop = asyncio.Event()
    task = asyncio.create_task(hypercorn_serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    for _ in range(200):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await task
