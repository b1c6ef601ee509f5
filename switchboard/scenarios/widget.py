"""The chat widget configuration of a scenario entry (seed 003 "Get Chat Widget
Configuration"): every documented key with a default, the entry's stored
``widget_configuration`` deep-merged over them.

Web widgets (the vendor's chat-client-v4) read this document without checking it: the
first key of ``styles`` becomes a CSS class on the page and its fonts and colours are
read from it; ``definition.chatInitiations``, ``proactiveOffers``, ``onPageForms`` and
``forms`` are iterated; a chat initiation's contact tab shows only on pages whose URL
matches one of its ``urls``. So whatever an entry stores, the answer keeps the
documented shape: a stored value of the wrong type is ignored (the default stays), list
items that are not objects are dropped, keys we do not know are passed through.

An entry may store:

* a short form: ``{"title", "color", "greeting", "pre_chat_form", ...}``; any key that
  names a ``chatWidgetStyling`` field (``inactivityWarningMessage``...) sets it, the
  others are kept under ``definition.switchboard``;
* a definition: ``{"chatWidgetStyling": {...}, "chatInitiations": [...], ...}``;
* a whole answer: ``{"definition": {...}, "styles": {...}}``.

Each stored chat initiation is merged over the entry's default initiation, each stored
style over the default style.
"""

from __future__ import annotations

import copy
from typing import Any

from switchboard.chats.actions import DEFAULT_TIMEOUT, DEFAULT_WARNING
from switchboard.scenarios.models import ScenarioEntry

# ---- the defaults ----------------------------------------------------------------------

# Features this server does not offer are off by default; an entry may switch them on.
STYLING_DEFAULTS: dict[str, Any] = {
    "title": "Chat",
    "showAgentPic": "show",
    "width": 400,
    "height": 640,
    "color": "1f6feb",
    "textColor": "FFFFFF",
    "style": "style1",
    "tabStyle": "square",
    "channelHoppingEnabled": False,
    "cobrowsing": False,
    "widgetMinimizationEnabled": True,
    "remoteEditing": False,
    "emojiSelector": True,
    "enableClientSideChatHistory": False,
    "fileUploadEnabled": True,
    "webNotificationsEnabled": True,
    "videoCallEnabled": False,
    "visitorVideoEnabled": False,
    "inactivityWarningMessage": DEFAULT_WARNING,
    "inactivityTimeoutMessage": DEFAULT_TIMEOUT,
    "agentJoinedMessage": "",
    "agentLeftMessage": "$(name) has left the session.",
    "sessionEndedMessage": "Session has ended.",
    "socialInviteMessage": "To continue via $(channel), please follow the link $(link_here)",
    "endSessionDialogText": "Do you want to end the chat session?",
    "requiredField": "Please fill",
    "refersToRequiredFields": "* Refers to Required Fields",
    "invalidInputField": "Invalid input",
    "notificationsPrompt": (
        "When prompted, please allow notifications from this window, so you could see "
        "responses when this window is hidden."
    ),
    "allowMicroPrompt": "When prompted, please allow access to your microphone.",
    "allowMicroVideoPrompt": "When prompted, please allow access to your camera and microphone.",
    "cobrowsingDialogText": (
        "By clicking Accept, an agent will join you on the page you are currently viewing. "
        "The agent can view and help you as you browse the web in this tab. The agent will "
        "not see login details, passwords, other browser tabs or programs you have opened. "
        "You can stop co-browsing at any time, by clicking X in the menu or by closing this "
        "tab in your browser."
    ),
    "cobrowsingDialogHeader": "Start co-browsing",
    "cobrowsingDialogAcceptLabel": "Accept",
    "cobrowsingDialogCancelLabel": "Cancel",
    "sessionCompletedWidgetTitle": "Session completed",
    "agentTypingIndicator": "$(name) is typing",
    "replyFromMessageText": "Reply from",
    "justNowMessageArrivalTimeIndicator": "just now",
    "minutesAgoMessageArrivalTimeIndicator": "m ago",
    "hoursAgoMessageArrivalTimeIndicator": "h ago",
    "daysAgoMessageArrivalTimeIndicator": "d ago",
    "someTimeAgoMessageArrivalTimeIndicator": "Some time ago",
    "hintMessageTextBox": "Text...",
    "showChatTooltip": "Show chat",
    "endChatTooltip": "End chat",
    "minimizeChatTooltip": "Minimize chat",
    "shareScreenTooltip": "Share screen",
    "webRtcCallTooltip": "Call me",
    "webRtcSwitchVideoTooltip": "Switch video",
    "webRtcEndCallTooltip": "End call",
    "emojiTooltip": "Emoji",
    "sendFileTooltip": "Send file",
    "minimizedDismissMessagesTooltip": "Dismiss",
    "screenSharingRequestedMessageText": "Screen sharing request sent",
    "screenSharingEndedMessageText": "Screen sharing session ended",
    "clickToStartCobrowsingPrompt": "Click to start co-browsing session",
    "cobrowsingRequestedMessageText": "Co-browsing session requested.",
    "cobrowsingRejectedMessageText": "Co-browsing session rejected.",
    "cobrowsingStartedMessageText": "Co-browsing session started.",
    "cobrowsingEndedMessageText": "Co-browsing session ended.",
    "cameraNotDetectedText": "Web camera not detected",
    "microNotDetectedText": "Microphone not detected",
    "surveyFormTitle": "Please leave us feedback",
    "surveyFormWasIssueResolvedQuestion": "Did we provide the service you were looking for?",
    "surveyFormWasIssueResolvedPositiveAnswer": "yes",
    "surveyFormWasIssueResolvedNegativeAnswer": "no",
    "surveyFormContactSatisfactionQuestion": "How helpful was our representative?",
    "surveyFormNetPromoterScoreQuestion": (
        "How likely are you to recommend our products and services in the future?"
    ),
    "surveyFormSendChatTranscriptQuestion": "Send me transcript of the chat by email?",
    "surveyFormEmailFieldLabel": "Your email*",
    "surveyFormEmailValidationErrorText": "Wrong value",
    "fileUploadBlockedErrorText": (
        "File was blocked because its content presents a potential security issue"
    ),
}

CONTACT_TAB_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "location": "bottom_right",
    "agentsAvailableMsg": "Chat with us. We are online!",
    "agentsNotAvailableMsg": "Sorry, there are no agents available",
    "outOfHoursMsg": "Sorry, we are closed right now",
    "doNotShowAfterHours": False,
    "doNotShowAfterEWTThreshold": False,
}


def field(kind: str, *, name: str = "", label: str = "", required: bool = False) -> dict[str, Any]:
    """A form field of the documented shape (labels have no name, inputs no label)."""
    out: dict[str, Any] = {"formFieldType": kind}
    if label:
        out["label"] = label
    if name:
        out["name"] = name
    out.update({"required": required, "validate": False, "options": []})
    return out


PHONE_FIELDS = [
    field("label", label="Phone"),
    field("callback_phone", name="phone_number", required=True),
]
CHAT_FIELDS = [
    field("label", label="Message"),
    field("multiline_text", name="message", required=True),
]

LEAVE_MESSAGE_DEFAULTS: dict[str, Any] = {
    "title": "Please leave us a message",
    "okButtonText": "OK",
    "cancelButtonText": "Cancel",
    "fields": [
        field("label", label="Subject"),
        field("name", name="subject", required=True),
        field("label", label="Description"),
        field("multiline_text", name="description", required=True),
    ],
}

# the lists of a definition, present (and arrays) in every answer
DEFINITION_LISTS = ("chatInitiations", "proactiveOffers", "onPageForms", "forms")

_FONT: dict[str, str] = {
    "font-family": ' "Helvetica Neue", Helvetica, Arial, sans-serif',
    "font-size-adjust": "none",
    "font-style": "normal",
    "font-size": "14px",
    "font-weight": "400",
    "letter-spacing": "normal",
    "font-stretch": "normal",
    "font-variant": "normal",
    "text-align": "left",
    "text-align-last": "auto",
    "text-decoration": "none",
    "text-indent": "0",
    "text-shadow": "none",
    "text-transform": "none",
    "-webkit-font-smoothing": "antialiased",
    "-moz-osx-font-smoothing": "grayscale",
}
_HEADING = {**_FONT, "font-size": "16px !important", "font-weight": "450 !important"}
_MESSAGE = {
    "line-height": "1.4",
    "margin-bottom": "0",
    "overflow-wrap": "break-word",
    "word-wrap": "break-word",
    "word-break": "break-word",
    "border-radius": "5px",
}

DEFAULT_STYLE_NAME = "style1"
STYLE_DEFAULTS: dict[str, Any] = {
    "contentMargin": {"margin": "40px"},
    "titleFont": _HEADING,
    "contactTabFont": _HEADING,
    "systemMessage": {"background-color": "#ffffff"},
    "agentMessage": {"background-color": "#f4f4f4", **_MESSAGE},
    "clientMessage": dict(_MESSAGE),
    "widgetBorder": {"border": "none"},
    "widgetBorderRadius": {"border-radius": "7px"},
    "contactTabBorder": {"border": "none", "border-radius": "7px"},
    "widgetBackground": {"background": "#ffffff"},
    "baseFont": _FONT,
    "dialogShadow": {"box-shadow": "0 0 20px rgba(0, 0, 0, 0.2)"},
}

# ---- merging -----------------------------------------------------------------------------


def merge(default: Any, stored: Any) -> Any:
    """``stored`` over ``default``, keeping the default's type: objects merge key by key
    (unknown keys pass through), a list replaces a list, a scalar replaces a scalar of
    its kind (numbers given as numeric text are read as numbers); anything else keeps the
    default."""
    if stored is None:
        return copy.deepcopy(default)
    if isinstance(default, dict):
        if not isinstance(stored, dict):
            return copy.deepcopy(default)
        out = copy.deepcopy(default)
        for key, value in stored.items():
            out[key] = merge(default[key], value) if key in default else copy.deepcopy(value)
        return out
    if isinstance(default, list):
        return copy.deepcopy(stored) if isinstance(stored, list) else copy.deepcopy(default)
    if isinstance(default, bool):
        return stored if isinstance(stored, bool) else default
    if isinstance(default, int):
        if isinstance(stored, int) and not isinstance(stored, bool):
            return stored
        if isinstance(stored, float) and stored.is_integer():
            return int(stored)
        if isinstance(stored, str) and stored.strip().isdigit():
            return int(stored.strip())
        return default
    if isinstance(default, str):
        if isinstance(stored, str):
            return stored
        if isinstance(stored, int | float) and not isinstance(stored, bool):
            return str(stored)
        return default
    return copy.deepcopy(stored)


def _objects(value: Any) -> list[dict[str, Any]]:
    return (
        [dict(item) for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    )


def _colour(value: Any, default: str) -> str:
    text = str(value).strip().lstrip("#") if isinstance(value, str) else ""
    return text or default


# ---- the entry's defaults ------------------------------------------------------------------


def _pre_chat_fields(entry: ScenarioEntry) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for spec in entry.expected_parameters or []:
        if not isinstance(spec, dict) or not spec.get("name"):
            continue
        name = str(spec["name"])
        fields.append(field("label", label=str(spec.get("description") or name)))
        kind = "phone" if spec.get("type") == "phone" else "text"
        fields.append(field(kind, name=name, required=bool(spec.get("required", False))))
    return fields


def _initiation(entry: ScenarioEntry, title: str) -> dict[str, Any]:
    common = _pre_chat_fields(entry)
    return {
        "id": entry.id,
        "name": entry.name,
        "contactTab": dict(CONTACT_TAB_DEFAULTS),
        "preChat": {
            "enabled": bool(common),
            "title": title,
            "chatButtonEnabled": True,
            "chatButtonText": "Chat",
            "callButtonEnabled": False,
            "callButtonText": "Call",
            "cancelButtonEnabled": True,
            "cancelButtonText": "Cancel",
            "commonFields": common,
            "phoneFields": copy.deepcopy(PHONE_FIELDS),
            "chatFields": copy.deepcopy(CHAT_FIELDS),
        },
        "leaveMessage": copy.deepcopy(LEAVE_MESSAGE_DEFAULTS),
        "urls": ["/"],
    }


def _parts(cfg: dict[str, Any]) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """(stored definition, stored styles, short-form keys) of any stored shape."""
    if isinstance(cfg.get("definition"), dict):
        return dict(cfg["definition"]), cfg.get("styles"), {}
    if any(key in cfg for key in ("chatWidgetStyling", *DEFINITION_LISTS)):
        rest = {k: v for k, v in cfg.items() if k != "styles"}
        return rest, cfg.get("styles"), {}
    return {}, cfg.get("styles"), {k: v for k, v in cfg.items() if k != "styles"}


def _styles(stored: Any) -> dict[str, Any]:
    styles = {
        str(name): merge(STYLE_DEFAULTS, value)
        for name, value in (stored.items() if isinstance(stored, dict) else ())
        if isinstance(value, dict)
    }
    return styles or {DEFAULT_STYLE_NAME: copy.deepcopy(STYLE_DEFAULTS)}


def get(*, entry: ScenarioEntry) -> dict[str, Any]:
    """The entry's widget configuration: ``{"definition": {...}, "styles": {...}}``."""
    cfg = entry.widget_configuration if isinstance(entry.widget_configuration, dict) else {}
    stored, stored_styles, short = _parts(cfg)

    # chatWidgetStyling: the defaults, the short form's keys, the stored styling
    styling_default = dict(STYLING_DEFAULTS)
    styling_default["title"] = entry.name or STYLING_DEFAULTS["title"]
    styling = merge(styling_default, {k: v for k, v in short.items() if k in STYLING_DEFAULTS})
    styling = merge(styling, stored.get("chatWidgetStyling"))
    for key in ("color", "textColor"):
        styling[key] = _colour(styling[key], STYLING_DEFAULTS[key])

    styles = _styles(stored_styles)
    if styling["style"] not in styles:
        styling["style"] = next(iter(styles))

    base = _initiation(entry, styling["title"])
    initiations = [merge(base, item) for item in _objects(stored.get("chatInitiations"))]
    for item in initiations:
        item["urls"] = [u for u in item["urls"] if isinstance(u, str) and u] or ["/"]

    definition: dict[str, Any] = {
        k: copy.deepcopy(v)
        for k, v in stored.items()
        if k not in ("chatWidgetStyling", *DEFINITION_LISTS)
    }
    definition["chatWidgetStyling"] = styling
    definition["chatInitiations"] = initiations or [base]
    for key in DEFINITION_LISTS[1:]:
        definition[key] = _objects(stored.get(key))
    extras = {k: v for k, v in short.items() if k not in STYLING_DEFAULTS}
    if extras:
        definition["switchboard"] = copy.deepcopy(extras)
    return {"definition": definition, "styles": styles}
