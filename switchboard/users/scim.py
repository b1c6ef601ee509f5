"""SCIM 2.0 (RFC 7643/7644) view of users and teams: the resource models, the mapping
between them and ``users.models.User`` / ``teams.models.Team``, and the photo fetcher.

The mapping follows seed 003 ("Users SCIM Provisioning"):

* ``active`` is the inverse of ``User.disabled``;
* of several ``emails`` / ``addresses`` / ``photos`` the one marked ``primary`` is kept,
  else the first one;
* ``phoneNumbers`` of type ``extension``, ``default``, ``work`` and ``mobile`` map to the
  extension, the default hardphone number, the work and the mobile phone; other types
  are ignored;
* ``roles`` name roles of the tenant; ``groups`` (read-only) shows the user's team;
* ``password`` is write-only.

Our extension schema :data:`CC_SCHEMA` carries what a contact center needs on top of
the core schema: the team and the skills (with levels) of the agent.

The HTTP layer (``switchboard.api.scim``) validates payloads with these models, applies
PATCH operations with scim2-models, turns the resulting resource into a
:class:`UserState` with :func:`user_state` and hands it to ``users.actions``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Context,
    Extension,
    External,
    Meta,
    Mutability,
    Reference,
    Required,
    Resource,
    Returned,
    Schema,
    ScimPolicy,
    Uniqueness,
)

from switchboard.core.errors import DomainError, Invalid
from switchboard.teams.models import Team
from switchboard.users.models import User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
CC_SCHEMA = "urn:switchboard:params:scim:schemas:extension:contactcenter:2.0:User"

#: ``meta.resourceType`` as the seed shows it; the resource types are named "User" and
#: "Group" (clients match resource type names case-insensitively).
USER_RESOURCE_TYPE = "USER"
GROUP_RESOURCE_TYPE = "GROUP"

PHONE_TYPES = ["work", "mobile", "default", "extension"]
EMAIL_TYPES = ["work", "home", "other"]
PHOTO_TYPES = ["photo", "thumbnail"]
SKILL_LEVELS = [str(n) for n in range(0, 101, 10)]

#: Tenant settings (``Tenant.settings``) read by the SCIM service.
SETTING_ALLOW_USERNAME_CHANGE = "scim_allow_username_change"  # bool, default False
SETTING_DEFAULT_ROLES = "scim_default_roles"  # list of role names, default ["Agent"]
SETTING_ASSIGN_EXTENSION = "scim_assign_extension"  # bool, default True
#: "fetch" (default: a URL that fails is a 400/404 error), "lenient" (a URL that fails is
#: kept without an image) or "url" (photos are never fetched, only their URL is kept).
SETTING_PHOTOS = "scim_photos"

DEFAULT_ROLES = ["Agent"]

#: How we read what identity systems send: unknown attributes are ignored (the seed:
#: "if a certain SCIM field is not listed, it is not supported"), a PATCH ``remove``
#: may carry the values to remove, and a PATCH filter matching nothing creates the
#: entry it describes (both as Microsoft Entra ID sends them).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


# ---- resource models ---------------------------------------------------------------


class Name(ComplexAttribute):
    family_name: Annotated[str | None, Required.true] = None
    """Last name."""

    given_name: Annotated[str | None, Required.true] = None
    """First name."""


class Email(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The e-mail address."""

    type: str | None = Field(None, examples=EMAIL_TYPES)
    """A label indicating the address's function."""

    primary: bool | None = None
    """The address the contact center uses (the primary one, else the first one)."""


class PhoneNumber(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The number."""

    type: str | None = Field(None, examples=PHONE_TYPES)
    """extension: the phone extension (unique in the contact center); default: the
    default hardphone number; work: the work phone; mobile: the mobile phone. Numbers
    of other types are ignored."""


class Address(ComplexAttribute):
    type: str | None = Field(None, examples=EMAIL_TYPES)
    """A label indicating the address's function."""

    locality: str | None = None
    """City."""

    region: str | None = None
    """State or province."""

    country: str | None = None
    """Country."""

    primary: bool | None = None
    """Of several addresses the primary one is kept, else the first one."""


class Photo(ComplexAttribute):
    value: Annotated[Reference[External] | None, Required.true] = None
    """URL of the photo: it is fetched and stored when the user is written."""

    type: str | None = Field(None, examples=PHOTO_TYPES)
    """photo or thumbnail."""

    primary: bool | None = None
    """Of several photos the primary one is kept, else the first one."""


class RoleRef(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The name of a role of the contact center."""


class GroupRef(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only] = None
    """The id of the user's team."""

    display: Annotated[str | None, Mutability.read_only] = None
    """The name of the user's team."""


class Skill(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The skill's name (skills the contact center does not know yet are created)."""

    level: int | None = Field(None, examples=SKILL_LEVELS)
    """Level from 0 to 100 (100 when absent)."""


class ContactCenterUser(Extension):
    """Contact center attributes of a user: the team and the skills of an agent."""

    __schema__ = URN(CC_SCHEMA)

    team: str | None = None
    """The name of the user's team (an existing team)."""

    skills: list[Skill] | None = None
    """The agent's skills with their levels."""


class ScimUser(Resource[ContactCenterUser]):
    """User Account"""

    __schema__ = URN(USER_SCHEMA)

    external_id: Annotated[str | None, Mutability.read_write, Returned.default, CaseExact.true] = (
        None
    )
    """An identifier of the user defined by the provisioning client."""

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """The username (loginId) of the user."""

    name: Annotated[Name | None, Required.true] = None
    """The user's first and last names."""

    nick_name: str | None = None
    """The chat nickname."""

    title: str | None = None
    """The user's title."""

    timezone: str | None = None
    """The user's IANA time zone, e.g. 'America/Los_Angeles'."""

    active: Annotated[bool | None, Required.true] = None
    """False when the user is disabled. A creation request without it creates an
    active user; a replacement without it keeps the state."""

    password: Annotated[str | None, Mutability.write_only, Returned.never, CaseExact.true] = None
    """The password; generated when a user is created without one."""

    emails: Annotated[list[Email] | None, Required.true] = None
    """The user's e-mail address."""

    phone_numbers: list[PhoneNumber] | None = None
    """Extension, default hardphone, work and mobile numbers."""

    addresses: list[Address] | None = None
    """The user's address (city, state, country)."""

    photos: Annotated[list[Photo] | None, Mutability.write_only, Returned.never] = None
    """The user's photo, fetched from its URL and stored."""

    roles: list[RoleRef] | None = None
    """The names of the user's roles."""

    groups: Annotated[list[GroupRef] | None, Mutability.read_only] = None
    """The user's team."""


#: A reference to a resource of the type named "User".
UserReference = Reference["User"]


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, Required.true, CaseExact.true] = None
    """The id of a user."""

    ref: Annotated[UserReference | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the user."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """Always 'User': teams do not nest."""


class ScimGroup(Resource[Any]):
    """Group: a team of the contact center"""

    __schema__ = URN(GROUP_SCHEMA)

    external_id: Annotated[str | None, Mutability.read_only, Returned.default, CaseExact.true] = (
        None
    )
    """Not supported for teams: ignored in requests, never returned."""

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The team's name."""

    members: list[GroupMember] | None = None
    """The users of the team (a user belongs to one team at most)."""


# ---- reading: User/Team -> resources -------------------------------------------------


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != ""}


def user_location(base_url: str, user_id: str) -> str:
    return f"{base_url}/users/{user_id}"


def group_location(base_url: str, team_id: str) -> str:
    return f"{base_url}/groups/{team_id}"


def _emails(user: User) -> list[Email] | None:
    if not user.email:
        return None
    stored = [e for e in (user.emails or []) if isinstance(e, dict)]
    match = next((e for e in stored if e.get("value") == user.email), None)
    entry: dict[str, Any] = _clean(dict(match)) if match else {"value": user.email}
    entry.setdefault("primary", True)
    return [Email.model_validate(entry)]


def _phone_numbers(user: User) -> list[PhoneNumber] | None:
    out = [
        PhoneNumber(type=kind, value=value)
        for kind, value in (
            ("work", user.work_phone),
            ("mobile", user.mobile_phone),
            ("default", user.default_phone),
            ("extension", user.extension),
        )
        if value
    ]
    return out or None


def _addresses(user: User) -> list[Address] | None:
    out = []
    for a in user.addresses or []:
        if isinstance(a, dict) and _clean(a):
            out.append(Address.model_validate(_clean(a)))
    return out or None


def to_scim_user(user: User, base_url: str | None = None) -> ScimUser:
    """The SCIM representation of a user (roles, skills and team must be loaded)."""
    resource = ScimUser(
        id=user.id,
        external_id=user.external_id or None,
        user_name=user.login_id,
        name=Name(family_name=user.last_name, given_name=user.first_name),
        nick_name=user.nickname or None,
        title=user.title or None,
        timezone=user.timezone or None,
        active=not user.disabled,
        emails=_emails(user),
        phone_numbers=_phone_numbers(user),
        addresses=_addresses(user),
        roles=[RoleRef(value=name) for name in sorted(r.name for r in user.roles)] or None,
        groups=[GroupRef(value=user.team.id, display=user.team.name)] if user.team else None,
    )
    skills = sorted((us.skill.name, us.level) for us in user.skills)
    if user.team is not None or skills:
        resource[ContactCenterUser] = ContactCenterUser(
            team=user.team.name if user.team is not None else None,
            skills=[Skill(value=n, level=lvl) for n, lvl in skills] or None,
        )
    resource.meta = Meta(
        resource_type=USER_RESOURCE_TYPE,
        created=user.created_at,
        last_modified=user.updated_at or user.created_at,
        location=user_location(base_url, user.id) if base_url else None,
    )
    resource.meta.version = version_of(resource)
    return resource


def to_scim_group(team: Team, member_ids: list[str], base_url: str | None = None) -> ScimGroup:
    resource = ScimGroup(
        id=team.id,
        display_name=team.name,
        members=[
            GroupMember(
                value=uid,
                ref=UserReference(user_location(base_url, uid)) if base_url else None,
                type="User",
            )
            for uid in sorted(member_ids)
        ]
        or None,
    )
    resource.meta = Meta(
        resource_type=GROUP_RESOURCE_TYPE,
        created=team.created_at,
        location=group_location(base_url, team.id) if base_url else None,
    )
    resource.meta.version = version_of(resource)
    return resource


def version_of(resource: Resource[Any]) -> str:
    """A weak entity tag of a representation (meta and references excluded)."""
    body = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    body.pop("meta", None)
    for member in body.get("members") or []:
        member.pop("$ref", None)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest[:20]}"'


# ---- writing: resources -> the state to store ----------------------------------------

Mode = Literal["create", "replace", "patch"]


@dataclass
class UserState:
    """What a SCIM write asks to store. ``assigned`` names the fields to write; the
    others are kept as they are (or take their defaults when the user is created)."""

    login_id: str
    first_name: str
    last_name: str
    assigned: set[str] = field(default_factory=set)
    nickname: str | None = None
    title: str | None = None
    timezone: str | None = None
    external_id: str | None = None
    disabled: bool = False
    email: str | None = None
    emails: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    work_phone: str | None = None
    mobile_phone: str | None = None
    default_phone: str | None = None
    extension: str | None = None
    photo_url: str | None = None
    roles: list[str] = field(default_factory=list)
    team: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    password: str | None = None


def _pick(entries: list[Any]) -> Any:
    """The entry marked primary, else the first one (seed: emails, addresses, photos)."""
    if not entries:
        return None
    return next((e for e in entries if getattr(e, "primary", None)), entries[0])


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    try:
        return frozenset(zoneinfo.available_timezones())
    except Exception:  # no time zone database: accept any name
        return frozenset()


def check_login_id(value: str) -> str:
    if not value or value != value.strip() or any(c.isspace() for c in value) or "/" in value:
        raise Invalid("userName must be non-empty, without spaces or '/'", code="invalidValue")
    if len(value) > 255:
        raise Invalid("userName is longer than 255 characters", code="invalidValue")
    return value


def _text(value: str | None, attr: str, limit: int = 255) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise Invalid(f"{attr} is longer than {limit} characters", code="invalidValue")
    return value


def user_state(
    resource: ScimUser, *, mode: Mode, asserted: set[str], touched: set[str] | None = None
) -> UserState:
    """Map a validated SCIM user onto the state to store.

    ``asserted`` holds the (lower-cased) top-level keys of a POST/PUT body: a PUT keeps
    the roles, the contact-center extension, the extension number, the password and the
    photo when it does not assert them. For a PATCH the resource is the current one with
    the operations applied, so it is authoritative for everything but the write-only
    attributes, which count only when an operation ``touched`` them.
    """
    name = resource.name
    first = (name.given_name if name else None) or ""
    last = (name.family_name if name else None) or ""
    if not first.strip() or not last.strip():
        raise Invalid("name.givenName and name.familyName are required", code="invalidValue")
    state = UserState(
        login_id=check_login_id(resource.user_name or ""),
        first_name=_text(first, "name.givenName") or "",
        last_name=_text(last, "name.familyName") or "",
    )
    assigned = state.assigned
    touched = touched or set()

    state.nickname = _text(resource.nick_name, "nickName")
    state.title = _text(resource.title, "title")
    tz = _text(resource.timezone, "timezone", 64)
    if tz is not None and time_zones() and tz not in time_zones():
        raise Invalid(f"timezone is not an IANA time zone: {tz}", code="invalidValue")
    state.timezone = tz
    state.external_id = _text(resource.external_id, "externalId")
    assigned |= {"nickname", "title", "timezone", "external_id", "name"}

    if resource.active is not None:
        state.disabled = not resource.active
        assigned.add("disabled")
    elif mode == "create":
        assigned.add("disabled")

    email = _pick(resource.emails or [])
    if email is not None:
        if not email.value or "@" not in email.value:
            raise Invalid(f"Not an e-mail address: {email.value}", code="invalidValue")
        state.email = _text(email.value, "emails.value")
        entry = _clean(email.model_dump(scim_ctx=None, exclude_none=True, by_alias=True))
        state.emails = [entry]
    assigned |= {"email"}

    address = _pick(resource.addresses or [])
    if address is not None:
        entry = _clean(address.model_dump(scim_ctx=None, exclude_none=True, by_alias=True))
        for key in ("locality", "region", "country", "type"):
            _text(entry.get(key), f"addresses.{key}")
        state.addresses = [entry] if entry else []
    assigned.add("addresses")

    _phones(state, resource, mode)

    photo = _pick(resource.photos or [])
    if photo is not None:
        state.photo_url = str(photo.value)
        assigned.add("photo")
    elif (mode == "replace" and "photos" in asserted) or (mode == "patch" and "photos" in touched):
        assigned.add("photo")

    if mode == "patch" or "roles" in asserted:
        state.roles = [r.value for r in resource.roles or [] if r.value]
        assigned.add("roles")
    elif mode == "create":
        assigned.add("default_roles")

    ext = resource[ContactCenterUser]
    if mode != "replace" or CC_SCHEMA.lower() in asserted:
        state.team = _text(ext.team, "team") if ext else None
        skills: dict[str, int] = {}
        for sk in (ext.skills if ext else None) or []:
            skill_name = (sk.value or "").strip()
            if not skill_name:
                raise Invalid("skills.value (the skill name) is required", code="invalidValue")
            _text(skill_name, "skills.value")
            level = 100 if sk.level is None else sk.level
            if not 0 <= level <= 100:
                raise Invalid(
                    f"skill level of {skill_name!r} must be between 0 and 100",
                    code="invalidValue",
                )
            skills[skill_name] = level
        state.skills = skills
        assigned |= {"team", "skills"}

    if resource.password:
        state.password = resource.password
        assigned.add("password")
    elif mode == "create":
        assigned.add("password")  # generated
    elif mode == "patch" and "password" in touched:
        assigned.add("password")  # removed: no password login (single sign-on)
    return state


def _phones(state: UserState, resource: ScimUser, mode: Mode) -> None:
    found: dict[str, str] = {}
    extensions: set[str] = set()
    for phone in resource.phone_numbers or []:
        kind = (phone.type or "").strip().lower()
        value = (phone.value or "").strip()
        if not value or kind not in PHONE_TYPES:
            continue  # the seed: "all other possible types are ignored"
        _text(value, "phoneNumbers.value", 32 if kind == "extension" else 64)
        if kind == "extension":
            if not value.isdigit() or len(value) > 16:
                raise Invalid(f"An extension is digits only: {value}", code="invalidValue")
            extensions.add(value)
        found.setdefault(kind, value)
    if len(extensions) > 1:
        raise Invalid(
            "A user has one extension: phoneNumbers of type extension disagree",
            code="invalidValue",
        )
    state.work_phone = found.get("work")
    state.mobile_phone = found.get("mobile")
    state.default_phone = found.get("default")
    state.assigned |= {"work_phone", "mobile_phone", "default_phone"}
    if "extension" in found:
        state.extension = found["extension"]
        state.assigned.add("extension")
    elif mode == "patch":
        state.assigned.add("extension")  # removed
    elif mode == "create":
        state.assigned.add("default_extension")


def touched_attributes(operations: list[Any]) -> set[str]:
    """The (lower-cased) top-level attributes that PATCH operations name."""
    out: set[str] = set()
    for op in operations:
        path = str(op.path) if op.path is not None else ""
        if path:
            low = path.lower()
            for urn in (USER_SCHEMA.lower(), CC_SCHEMA.lower()):
                if low.startswith(urn + ":"):
                    low = low[len(urn) + 1 :]
                    break
            out.add(low.split("[", 1)[0].split(".", 1)[0])
        elif isinstance(op.value, dict):
            for key in op.value:
                out.add(str(key).lower().split("[", 1)[0].split(".", 1)[0])
    return out


def prepare_user_payload(body: dict[str, Any]) -> dict[str, Any]:
    """Leniencies applied to POST/PUT bodies before validation: read-only attributes
    are ignored (RFC 7644 §3.5.1), and roles may be plain strings (as some of the seed's
    examples show them)."""
    out = {k: v for k, v in body.items() if k.lower() not in ("id", "meta", "groups")}
    for key, value in list(out.items()):
        if key.lower() == "roles" and isinstance(value, list):
            out[key] = [{"value": v} if isinstance(v, str) else v for v in value]
    return out


# ---- discovery: the schemas published, completed with what the tenant knows ----------


def published_schemas(
    *, role_names: list[str], team_names: list[str], allow_username_change: bool
) -> list[Schema]:
    """The User, contact-center extension and Group schemas, with the tenant's roles,
    teams and the time zones as canonical values."""
    user = ScimUser.to_schema()
    user.name = "User"
    user.description = "User Account"
    for attr in user.attributes or []:
        if attr.name == "userName" and not allow_username_change:
            attr.mutability = Mutability.immutable
        if attr.name == "timezone" and time_zones():
            attr.canonical_values = sorted(time_zones())
        if attr.name == "roles":
            for sub in attr.sub_attributes or []:
                if sub.name == "value":
                    sub.canonical_values = sorted(role_names) or None
    ext = ContactCenterUser.to_schema()
    ext.name = "ContactCenterUser"
    ext.description = ContactCenterUser.__doc__
    for attr in ext.attributes or []:
        if attr.name == "team":
            attr.canonical_values = sorted(team_names) or None
    group = ScimGroup.to_schema()
    group.name = "Group"
    group.description = "Group"
    return [copy.deepcopy(user), copy.deepcopy(ext), copy.deepcopy(group)]


# ---- photos: fetched from their URL (a collaborator leaving the box) -----------------


@dataclass(frozen=True)
class FetchedPhoto:
    url: str
    content_type: str | None
    data: bytes | None


class PhotoFetcher(Protocol):
    async def fetch(self, url: str) -> FetchedPhoto: ...


class PhotoError(DomainError):
    """A photo URL that cannot be used: 400 (bad URL, not an image) or 404."""


def photo_error(status: int, message: str) -> PhotoError:
    err = PhotoError(message, code="invalidValue" if status == 400 else None)
    err.status = status
    err.kind = "bad_request" if status == 400 else "not_found"
    return err


MAX_PHOTO_BYTES = 5 * 1024 * 1024


class HttpPhotoFetcher:
    """Fetches photos with httpx (redirects followed, 10 s, 5 MiB, image/* only)."""

    def __init__(self, timeout: float = 10.0, max_bytes: int = MAX_PHOTO_BYTES) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def fetch(self, url: str) -> FetchedPhoto:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise photo_error(400, f"Photo URL must be http(s): {url}")
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=True, max_redirects=5
                ) as client,
                client.stream("GET", url, headers={"Accept": "image/*"}) as response,
            ):
                if response.status_code in (404, 410):
                    raise photo_error(404, f"Photo not found: {url}")
                if response.status_code >= 400:
                    raise photo_error(400, f"Photo URL answered {response.status_code}: {url}")
                ctype = response.headers.get("content-type", "").split(";", 1)[0].strip()
                if not ctype.lower().startswith("image/"):
                    raise photo_error(400, f"Photo URL is not an image ({ctype or 'no type'})")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self.max_bytes:
                        raise photo_error(400, "Photo is larger than 5 MiB")
        except httpx.HTTPError as e:
            raise photo_error(400, f"Photo URL cannot be fetched: {url} ({e})") from e
        if not data:
            raise photo_error(400, f"Photo URL returned an empty body: {url}")
        return FetchedPhoto(url=url, content_type=ctype.lower(), data=bytes(data))
