"""A local stand-in for Discord's HTTP API and gateway, for the Discord adapter's tests.

`DiscordApiDouble` is a small aiohttp server on 127.0.0.1 (a free port), in its own thread with
its own event loop, that a real `discord.Client` logs in and connects to. It serves the REST
routes the adapter uses under `rest_base` (".../api/v10") and a JSON gateway at `gateway_url`,
in the shapes Discord documents, and keeps enough state (one application, one guild with its
roles, text channels and members, threads, messages, DM channels, application commands,
interactions) for the adapter to be tested end to end. Only two addresses need patching, which
`patched()` does::

    with DiscordApiDouble() as discord_api, discord_api.patched():
        client = discord.Client(intents=intents)
        ...  # await client.login("token"); await client.connect()
        hello = discord_api.message_create("1001", "3000", "hi")
        discord_api.send_dispatch("MESSAGE_CREATE", hello)  # the client's on_message sees it
        posts = discord_api.calls_to("POST", "/channels/{id}/messages")

Every REST request is recorded as a `Call`, whether it succeeded or not. Faults can be injected
per route: `rate_limit_next` (HTTP 429 in Discord's documented shape, which discord.py retries by
itself) and `error_next` (any status and body). Unknown routes answer 404
`{"message": "404: Not Found", "code": 0}`.

The gateway sends HELLO, answers IDENTIFY with READY then GUILD_CREATE, heartbeats with
HEARTBEAT_ACK, RESUME with RESUMED, and REQUEST_GUILD_MEMBERS with one GUILD_MEMBERS_CHUNK. Frames
are uncompressed JSON text, which discord.py accepts whatever compression it asked for. Events
follow from REST calls as on Discord (MESSAGE_CREATE for the bot's own messages, THREAD_CREATE
after a thread is started, ...) and tests inject more with `send_dispatch` and the payload
builders (`message_create`, `interaction_command`, `interaction_button`, ...). Dispatches honour
the intents the client identified with: no MESSAGE_CREATE without GUILD_MESSAGES, and no message
content without MESSAGE_CONTENT unless the bot is mentioned or the message is a DM.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import EllipsisType
from typing import Any, TypeVar

import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

from tests.loopback import LoopbackServer

__all__ = ["Call", "DiscordApiDouble", "Intents", "Permissions"]

T = TypeVar("T")
JsonDict = dict[str, Any]

API_VERSION = 10
_DISCORD_EPOCH_MS = 1_420_070_400_000
_MESSAGE_MAX = 2000
_NONCE_MAX = 25
_GUILD_TEXT, _DM, _PUBLIC_THREAD, _PRIVATE_THREAD = 0, 1, 11, 12
_THREAD_TYPES = frozenset({10, _PUBLIC_THREAD, _PRIVATE_THREAD})
_EPHEMERAL, _LOADING = 1 << 6, 1 << 7
_MENTION = re.compile(r"<@!?(\d+)>")


class Permissions:
    """Discord permission bits the double checks or reports."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 51) - 1


class Intents:
    """Gateway intent bits (as in IDENTIFY's `intents`)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


_P = Permissions
_EVERYONE_PERMISSIONS = (
    _P.CREATE_INSTANT_INVITE
    | _P.ADD_REACTIONS
    | _P.VIEW_CHANNEL
    | _P.SEND_MESSAGES
    | _P.EMBED_LINKS
    | _P.ATTACH_FILES
    | _P.READ_MESSAGE_HISTORY
    | _P.CHANGE_NICKNAME
    | _P.USE_APPLICATION_COMMANDS
    | _P.CREATE_PUBLIC_THREADS
    | _P.CREATE_PRIVATE_THREADS
    | _P.SEND_MESSAGES_IN_THREADS
)
_BOT_ROLE_PERMISSIONS = (
    _P.VIEW_CHANNEL
    | _P.SEND_MESSAGES
    | _P.SEND_MESSAGES_IN_THREADS
    | _P.CREATE_PUBLIC_THREADS
    | _P.CREATE_PRIVATE_THREADS
    | _P.MANAGE_THREADS
    | _P.MANAGE_MESSAGES
    | _P.READ_MESSAGE_HISTORY
    | _P.EMBED_LINKS
    | _P.ATTACH_FILES
    | _P.ADD_REACTIONS
    | _P.USE_APPLICATION_COMMANDS
)
# GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
_APPLICATION_FLAGS = (1 << 15) | (1 << 19) | (1 << 23)
_DEFAULT_MEMBERS = (("1001", "ana"), ("1002", "ben"), ("1003", "cleo"), ("1004", "dev"))


@dataclass(frozen=True)
class Call:
    """One REST request the double received.

    `path` is relative to the versioned base (e.g. "/channels/3000/messages"); `json` is the
    decoded JSON body (a dict, a list for bulk command overwrites, or None; for multipart requests
    the `payload_json` part); `query` and `headers` hold the last value of each name.
    """

    method: str
    path: str
    json: Any
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Canned:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    remaining: int


@dataclass
class _Req:
    method: str
    path: str
    params: dict[str, str]
    json: Any
    query: dict[str, str]
    headers: dict[str, str]
    has_files: bool


@dataclass
class _Reply:
    status: int
    body: Any = None
    events: list[tuple[str, JsonDict]] = field(default_factory=list)


@dataclass
class _Interaction:
    id: str
    token: str
    type: int
    channel_id: str | None
    guild_id: str | None
    user: JsonDict
    name: str | None
    message_id: str | None
    acknowledged: bool = False
    callbacks: list[JsonDict] = field(default_factory=list)
    original_id: str | None = None
    ephemeral: dict[str, JsonDict] = field(default_factory=dict)
    followup_ids: list[str] = field(default_factory=list)
    deleted_original: bool = False


@dataclass
class _Session:
    ws: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str | None = None
    intents: int = 0
    identified: bool = False
    seq: int = 0


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _error(status: int, message: str, code: int, errors: JsonDict | None = None) -> _Reply:
    body: JsonDict = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return _Reply(status, body)


def _form_error(field_name: str, code: str, message: str) -> _Reply:
    errors = {field_name: {"_errors": [{"code": code, "message": message}]}}
    return _error(400, "Invalid Form Body", 50035, errors)


def _compile(template: str, *, named: bool = False) -> re.Pattern[str]:
    """Compile a path template: `{name}` matches one path segment, everything else literally."""
    regex = []
    for part in re.split(r"(\{[^{}/]*\})", template):
        if part.startswith("{") and part.endswith("}"):
            regex.append(f"(?P<{part[1:-1]}>[^/]+)" if named else "[^/]+")
        else:
            regex.append(re.escape(part))
    return re.compile("".join(regex))


# Application commands' limits, as Discord documents them for chat-input commands.
_COMMAND_NAME = re.compile(r"[-_'\w]{1,32}")
_COMMAND_MAX_OPTIONS = _COMMAND_MAX_CHOICES = 25
_COMMAND_MAX_DESCRIPTION = 100
_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2
_VALUED_OPTION_TYPES = frozenset({3, 4, 10})  # string, integer, number: may have choices


def _command_problem(node: JsonDict, *, depth: int = 0) -> tuple[list[str], str, str] | None:
    """What Discord refuses in a chat-input command or one of its options: the path to the
    field, the error code and message; None if it would be accepted."""
    name, description = str(node.get("name", "")), str(node.get("description", ""))
    if not _COMMAND_NAME.fullmatch(name) or name != name.lower():
        return ["name"], "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name}"
    if not 1 <= len(description) <= _COMMAND_MAX_DESCRIPTION:
        return ["description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
    choices = node.get("choices") or []
    if len(choices) > _COMMAND_MAX_CHOICES:
        return ["choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
    for i, choice in enumerate(choices):
        if not 1 <= len(str(choice.get("name", ""))) <= _COMMAND_MAX_DESCRIPTION:
            return (
                ["choices", str(i), "name"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
    if choices and node.get("autocomplete"):
        return ["autocomplete"], "AUTOCOMPLETE_AND_CHOICES", "Autocomplete cannot have choices"
    if (choices or node.get("autocomplete")) and node.get("type") not in _VALUED_OPTION_TYPES:
        return ["type"], "BASE_TYPE_CHOICES", "Only text and numbers can have choices."
    options = node.get("options") or []
    if len(options) > _COMMAND_MAX_OPTIONS:
        return ["options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
    kinds = {o.get("type") for o in options}
    nested = kinds & {_SUB_COMMAND, _SUB_COMMAND_GROUP}
    # At the top the type is the command's (1, chat input); below, each option's.
    is_sub = depth > 0 and node.get("type") == _SUB_COMMAND
    is_group = depth > 0 and node.get("type") == _SUB_COMMAND_GROUP
    if (is_group and kinds - {_SUB_COMMAND}) or (nested and (kinds - nested or is_sub)):
        return (
            ["options"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Groups hold only sub-commands; sub-commands hold no sub-commands or groups, and "
            "neither is mixed with other options.",
        )
    names = [str(o.get("name")) for o in options]
    if len(set(names)) != len(names):
        return (
            ["options"],
            "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
            "Option names must be unique.",
        )
    required = [bool(o.get("required")) for o in options]
    if required != sorted(required, reverse=True):
        return (
            ["options"],
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            "Required options must be placed before non-required options",
        )
    for i, option in enumerate(options):
        problem = _command_problem(option, depth=depth + 1)
        if problem is not None:
            path, code, message = problem
            return ["options", str(i), *path], code, message
    return None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class DiscordApiDouble(LoopbackServer):
    name = "discord-api-double"

    """A stateful stand-in for Discord's REST API and gateway on 127.0.0.1.

    Use as a context manager (or `start()` / `stop()`), and `patched()` to point discord.py at
    it. All public methods are thread-safe and may be called from the test's thread or from the
    client's event loop; `send_dispatch` blocks briefly until the frames are written.
    """

    def __init__(
        self,
        *,
        application_id: str = "1000",
        bot_user_id: str = "1000",
        bot_name: str = "Peerset",
        guild_id: str = "2000",
        guild_name: str = "Peerset Test",
        guild_owner_id: str = "1001",
        bot_role_id: str = "2001",
        channels: Sequence[tuple[str, str]] = (("3000", "peer-circle"),),
        members: Sequence[tuple[str, str]] = _DEFAULT_MEMBERS,
        allow_private_threads: bool = True,
        allow_public_threads: bool = True,
        allow_send_messages: bool = True,
        guild_premium_tier: int = 0,
        guild_features: Sequence[str] = (),
        token: str | None = None,
        enabled_privileged_intents: int = Intents.GUILD_MEMBERS | Intents.MESSAGE_CONTENT,
        enforce_intents: bool = True,
        heartbeat_interval_ms: int = 45_000,
        nonce_window: float = 300.0,
        start_timeout: float = 10.0,
    ) -> None:
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.guild_id = guild_id
        self.guild_name = guild_name
        self.guild_owner_id = guild_owner_id
        self.bot_role_id = bot_role_id
        self.guild_premium_tier = guild_premium_tier
        self.guild_features = list(guild_features)
        self.token = token
        self.enabled_privileged_intents = enabled_privileged_intents
        self.enforce_intents = enforce_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.nonce_window = nonce_window
        super().__init__(start_timeout)

        self._lock = threading.RLock()
        self._allow = {
            "private_threads": allow_private_threads,
            "public_threads": allow_public_threads,
            "send_messages": allow_send_messages,
        }
        self._calls: list[Call] = []
        self._canned: list[_Canned] = []
        self._users: dict[str, JsonDict] = {}
        self._members: dict[str, JsonDict] = {}
        self._channels: dict[str, JsonDict] = {}
        self._thread_members: dict[str, dict[str, JsonDict]] = {}
        self._messages: dict[str, list[JsonDict]] = {}
        self._dm_by_user: dict[str, str] = {}
        self._dms_closed: set[str] = set()
        self._nonces: dict[tuple[str, str], tuple[float, str, str]] = {}
        self._commands: dict[str | None, list[JsonDict]] = {}
        self._interactions: dict[str, _Interaction] = {}
        self._identifies: list[JsonDict] = []
        self._resumes: list[JsonDict] = []
        self._gateway_connections: list[dict[str, str]] = []
        self._sessions: list[_Session] = []
        self._known_sessions: dict[str, int] = {}
        self._presence_updates: list[JsonDict] = []
        self._internal_errors: list[str] = []
        self._last_snowflake = 0
        self._joined_at = _now_iso()

        self._users[bot_user_id] = self._user_object(bot_user_id, bot_name, bot=True)
        self._members[bot_user_id] = {"roles": [bot_role_id], "joined_at": self._joined_at}
        for user_id, username in members:
            self.add_member(user_id, username)
        for position, (channel_id, name) in enumerate(channels):
            self.add_text_channel(channel_id, name, position=position)

        self._routes: list[tuple[str, re.Pattern[str], Callable[[_Req], _Reply], bool]] = []
        for method, template, handler, auth in (
            ("GET", "/users/@me", self._get_me, True),
            ("POST", "/users/@me/channels", self._open_dm, True),
            ("GET", "/users/{user}", self._get_user, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/applications/{app}/commands", self._get_commands, True),
            ("PUT", "/applications/{app}/commands", self._put_commands, True),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands, True),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands, True),
            ("GET", "/guilds/{guild}/members/{user}", self._get_member, True),
            ("GET", "/channels/{channel}", self._get_channel, True),
            ("PATCH", "/channels/{channel}", self._edit_channel, True),
            ("POST", "/channels/{channel}/threads", self._start_thread, True),
            ("POST", "/channels/{channel}/messages/{message}/threads", self._start_thread, True),
            ("PUT", "/channels/{channel}/thread-members/{user}", self._add_thread_member, True),
            (
                "DELETE",
                "/channels/{channel}/thread-members/{user}",
                self._remove_thread_member,
                True,
            ),
            ("POST", "/channels/{channel}/typing", self._typing, True),
            ("POST", "/channels/{channel}/messages", self._create_message, True),
            ("GET", "/channels/{channel}/messages", self._list_messages, True),
            ("GET", "/channels/{channel}/messages/{message}", self._get_message, True),
            ("PATCH", "/channels/{channel}/messages/{message}", self._edit_message, True),
            ("DELETE", "/channels/{channel}/messages/{message}", self._delete_message, True),
            ("POST", "/interactions/{interaction}/{token}/callback", self._callback, False),
            ("GET", "/webhooks/{app}/{token}", self._get_webhook, False),
            ("PATCH", "/webhooks/{app}/{token}", self._get_webhook, False),
            ("POST", "/webhooks/{app}/{token}", self._followup, False),
            ("GET", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message, False),
            ("PATCH", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message, False),
            ("DELETE", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message, False),
        ):
            self._routes.append((method, _compile(template, named=True), handler, auth))

    # ------------------------------------------------------------------ lifecycle

    @property
    def rest_base(self) -> str:
        """The REST base including the version, as `discord.http.Route.BASE` takes it."""
        return f"http://127.0.0.1:{self.port}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """The gateway address, without query (discord.py adds `?v=10&encoding=json&...`)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.contextmanager
    def patched(self) -> Iterator[DiscordApiDouble]:
        """Point discord.py at the double (`Route.BASE`, `DEFAULT_GATEWAY`), restoring on exit."""
        route_cls = discord.http.Route
        ws_cls = discord.gateway.DiscordWebSocket
        old_base, old_gateway = route_cls.BASE, ws_cls.DEFAULT_GATEWAY
        route_cls.BASE = self.rest_base
        ws_cls.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            route_cls.BASE = old_base
            ws_cls.DEFAULT_GATEWAY = old_gateway

    async def _before_stop(self) -> None:
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.ws.close(code=1001, message=b"double stopping")

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/{tail:.*}", self._handle)
        return app

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every REST call received so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, path_pattern: str) -> list[Call]:
        """REST calls matching a method ("*" for any) and a path template.

        In `path_pattern`, `{anything}` matches one path segment, e.g.
        `calls_to("POST", "/channels/{id}/messages")`.
        """
        pattern = _compile(path_pattern)
        with self._lock:
            return [
                c
                for c in self._calls
                if (method == "*" or c.method == method.upper()) and pattern.fullmatch(c.path)
            ]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def identifies(self) -> list[JsonDict]:
        """The IDENTIFY payloads (`d`) received, oldest first."""
        with self._lock:
            return copy.deepcopy(self._identifies)

    @property
    def identified_intents(self) -> int | None:
        """The intents of the latest IDENTIFY, or None before any."""
        with self._lock:
            return self._identifies[-1].get("intents") if self._identifies else None

    @property
    def resumes(self) -> list[JsonDict]:
        """The RESUME payloads (`d`) received, oldest first."""
        with self._lock:
            return copy.deepcopy(self._resumes)

    @property
    def gateway_connections(self) -> list[dict[str, str]]:
        """The query string of every gateway connection (`v`, `encoding`, `compress`)."""
        with self._lock:
            return copy.deepcopy(self._gateway_connections)

    @property
    def presence_updates(self) -> list[JsonDict]:
        with self._lock:
            return copy.deepcopy(self._presence_updates)

    @property
    def internal_errors(self) -> list[str]:
        """Exceptions raised inside the double's handlers (answered as HTTP 400), if any."""
        with self._lock:
            return list(self._internal_errors)

    @property
    def connected(self) -> bool:
        """Whether a gateway session has identified (or resumed) and is still open."""
        with self._lock:
            return any(s.identified and not s.ws.closed for s in self._sessions)

    def _timeout_message(self, timeout: float) -> str:
        calls = [f"{c.method} {c.path}" for c in self.calls]
        return f"condition not met within {timeout}s; REST calls so far: {calls}"

    # ------------------------------------------------------------------ fault injection

    def rate_limit_next(
        self,
        method: str,
        path_pattern: str,
        times: int = 1,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
    ) -> None:
        """Answer the next `times` matching calls with HTTP 429, as Discord does.

        Body `{"message": "You are being rate limited.", "retry_after": ..., "global": ...}`,
        headers `Retry-After`, `X-RateLimit-*` and `Via` (discord.py only retries a 429 that
        carries `Via`; without it, it assumes a Cloudflare ban and raises).
        """
        reset_after = f"{retry_after:.3f}"
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": reset_after,
            "X-RateLimit-Bucket": f"double-{abs(hash((method.upper(), path_pattern))):x}",
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = is_global
        self.error_next(method, path_pattern, 429, body, times=times, headers=headers)

    def error_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: Any = None,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching calls with `status` and `body` (state untouched).

        `body` defaults to `{"message": ..., "code": 0}`; None with status 204 sends no body.
        Note that discord.py itself retries 500, 502, 504 and 524 (sleeping 1 s, 3 s, ...).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if body is None and status != 204:
            body = {"message": f"{status}: error", "code": 0}
        canned = _Canned(
            method.upper(), _compile(path_pattern), status, body, dict(headers or {}), times
        )
        with self._lock:
            self._canned.append(canned)

    def clear_faults(self) -> None:
        with self._lock:
            self._canned.clear()

    # ------------------------------------------------------------------ seeding and inspecting

    def add_member(
        self, user_id: str, username: str, *, roles: Sequence[str] = (), bot: bool = False
    ) -> None:
        """Add a guild member (before the client connects, so GUILD_CREATE carries it)."""
        with self._lock:
            self._users[user_id] = self._user_object(user_id, username, bot=bot)
            self._members[user_id] = {"roles": list(roles), "joined_at": _now_iso()}

    def add_text_channel(self, channel_id: str, name: str, *, position: int | None = None) -> None:
        """Add a guild text channel (before the client connects)."""
        with self._lock:
            texts = [c for c in self._channels.values() if c["type"] == _GUILD_TEXT]
            self._channels[channel_id] = {
                "id": channel_id,
                "type": _GUILD_TEXT,
                "guild_id": self.guild_id,
                "name": name,
                "position": len(texts) if position is None else position,
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "default_auto_archive_duration": 1440,
                "flags": 0,
            }
            self._messages[channel_id] = []

    def set_bot_permissions(
        self,
        *,
        allow_private_threads: bool | None = None,
        allow_public_threads: bool | None = None,
        allow_send_messages: bool | None = None,
    ) -> None:
        """Change what the bot may do in the text channels (a deny overwrite on its role).

        When a client is connected, CHANNEL_UPDATE is sent so discord.py's cache agrees.
        """
        with self._lock:
            for key, value in (
                ("private_threads", allow_private_threads),
                ("public_threads", allow_public_threads),
                ("send_messages", allow_send_messages),
            ):
                if value is not None:
                    self._allow[key] = value
            texts = [c["id"] for c in self._channels.values() if c["type"] == _GUILD_TEXT]
            updates = [self._channel_object(cid) for cid in texts]
        if self.connected:
            for data in updates:
                self.send_dispatch("CHANNEL_UPDATE", data)

    def set_dms_closed(self, user_id: str, closed: bool = True) -> None:
        """Make messages to this user's DM channel fail with 403 code 50007, as Discord does."""
        with self._lock:
            if closed:
                self._dms_closed.add(user_id)
            else:
                self._dms_closed.discard(user_id)

    def permissions_for(self, user_id: str, channel_id: str) -> int:
        """The user's computed permissions in a guild channel or thread (Discord's algorithm)."""
        with self._lock:
            return self._permissions(user_id, channel_id)

    def user(self, user_id: str) -> JsonDict:
        with self._lock:
            return copy.deepcopy(self._users[user_id])

    def channel(self, channel_id: str) -> JsonDict | None:
        """The channel, thread or DM channel object, or None."""
        with self._lock:
            if channel_id not in self._channels:
                return None
            return self._channel_object(channel_id)

    def threads(self, parent_id: str | None = None) -> list[JsonDict]:
        """Thread channel objects (optionally of one parent), oldest first."""
        with self._lock:
            return [
                self._channel_object(c["id"])
                for c in self._channels.values()
                if c["type"] in _THREAD_TYPES and parent_id in (None, c["parent_id"])
            ]

    def thread_members(self, thread_id: str) -> list[str]:
        with self._lock:
            return list(self._thread_members.get(thread_id, {}))

    def messages(self, channel_id: str) -> list[JsonDict]:
        """The visible messages in a channel, oldest first (ephemeral ones are not here)."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel_id, []))

    def commands(self, guild_id: str | None = None) -> list[JsonDict]:
        """The registered global (or guild) application commands."""
        with self._lock:
            return copy.deepcopy(self._commands.get(guild_id, []))

    def interaction(self, interaction_id: str) -> JsonDict:
        """What happened to an interaction: callbacks, original response, follow-ups."""
        with self._lock:
            inter = self._interactions[interaction_id]
            original = None
            if inter.original_id is not None and not inter.deleted_original:
                original = self._find_message(inter.original_id, inter)
            return copy.deepcopy(
                {
                    "id": inter.id,
                    "token": inter.token,
                    "type": inter.type,
                    "acknowledged": inter.acknowledged,
                    "callbacks": inter.callbacks,
                    "original": original,
                    "followups": [self._find_message(m, inter) for m in inter.followup_ids],
                }
            )

    # ------------------------------------------------------------------ gateway injection

    def send_dispatch(self, event: str, data: Mapping[str, Any], timeout: float = 5.0) -> JsonDict:
        """Send a DISPATCH (op 0) to every identified gateway session; returns the data sent.

        Applies the event to the double's state first (a MESSAGE_CREATE is kept in the channel's
        history, an INTERACTION_CREATE can then be answered, a THREAD_CREATE adds the thread).
        Blocks until the frames are written; raises RuntimeError if no session is identified.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("DiscordApiDouble is not running")
        if threading.current_thread() is self._thread:
            raise RuntimeError("send_dispatch cannot be called from the double's own thread")
        if not self.connected:
            raise RuntimeError("no identified gateway session to dispatch to")
        payload = copy.deepcopy(dict(data))
        with self._lock:
            self._apply_injected(event, payload)
        future = asyncio.run_coroutine_threadsafe(self._broadcast([(event, payload)]), loop)
        future.result(timeout)
        return payload

    def request_reconnect(self, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT: discord.py reconnects to `resume_gateway_url` and RESUMEs."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("DiscordApiDouble is not running")

        async def send_all() -> None:
            with self._lock:
                sessions = [s for s in self._sessions if s.identified]
            for session in sessions:
                await self._send(session, {"op": 7, "d": None, "s": None, "t": None})

        asyncio.run_coroutine_threadsafe(send_all(), loop).result(timeout)

    # ------------------------------------------------------------------ payload builders

    def message_create(
        self,
        user_id: str,
        channel_id: str,
        content: str,
        guild_id: str | EllipsisType | None = ...,
        message_id: str | None = None,
        *,
        components: Sequence[JsonDict] = (),
    ) -> JsonDict:
        """A MESSAGE_CREATE payload from a member (guild_id defaults to the channel's guild)."""
        with self._lock:
            channel = self._channels.get(channel_id, {})
            if isinstance(guild_id, EllipsisType):
                guild_id = channel.get("guild_id")
            data = self._message_object(
                channel_id,
                self._users[user_id],
                {"content": content, "components": list(components)},
                message_id=message_id,
            )
            if guild_id is not None:
                data["guild_id"] = guild_id
                data["member"] = self._member_object(user_id, with_user=False)
            return data

    def thread_create(
        self,
        parent_id: str,
        name: str,
        owner_id: str,
        *,
        type: int = _PUBLIC_THREAD,
        thread_id: str | None = None,
    ) -> JsonDict:
        """A THREAD_CREATE payload for a thread a member started (added to state when sent)."""
        with self._lock:
            thread = self._new_thread(parent_id, name, owner_id, type, thread_id=thread_id)
            data = self._thread_object(thread, include_member=False)
        data["newly_created"] = True
        return data

    def interaction_command(
        self,
        user_id: str,
        channel_id: str,
        name: str = "peer",
        options: Sequence[JsonDict] | None = None,
        *,
        command_guild_id: str | None = None,
        locale: str = "en-US",
    ) -> JsonDict:
        """An INTERACTION_CREATE payload for a slash command (type 2, data type 1).

        A subcommand is an option of type 1: `options=[{"type": 1, "name": "status"}]`.
        The command id is the registered one when the command was synced.
        """
        data: JsonDict = {
            "id": self._command_id(name, command_guild_id),
            "name": name,
            "type": 1,
            "options": [dict(o) for o in options or ()],
        }
        if command_guild_id is not None:
            data["guild_id"] = command_guild_id
        mentioned = self._user_option_values(data["options"])
        if mentioned:
            # Discord resolves USER options into user and member objects beside the options.
            with self._lock:
                data["resolved"] = {
                    "users": {u: self._users[u] for u in mentioned},
                    "members": {u: self._member_object(u, with_user=False) for u in mentioned},
                }
        return self._interaction_payload(2, user_id, channel_id, data, locale=locale)

    @classmethod
    def _user_option_values(cls, options: Sequence[JsonDict]) -> list[str]:
        found: list[str] = []
        for option in options:
            if option.get("type") == 6:
                found.append(str(option["value"]))
            found.extend(cls._user_option_values(option.get("options") or []))
        return found

    def interaction_autocomplete(
        self,
        user_id: str,
        channel_id: str,
        name: str = "peer",
        options: Sequence[JsonDict] | None = None,
        *,
        command_guild_id: str | None = None,
        locale: str = "en-US",
    ) -> JsonDict:
        """An INTERACTION_CREATE payload for autocomplete (type 4); mark one option `focused`."""
        payload = self.interaction_command(
            user_id, channel_id, name, options, command_guild_id=command_guild_id, locale=locale
        )
        payload["type"] = 4
        return payload

    def interaction_button(
        self,
        user_id: str,
        channel_id: str,
        message_id: str,
        custom_id: str,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> JsonDict:
        """An INTERACTION_CREATE payload for a message component (type 3).

        `message` is the stored message with that id (e.g. one the bot sent with buttons).
        Use `component_type=3` and `values` for a string select.
        """
        with self._lock:
            message = self._find_message(message_id)
            if message is None:
                message = self._message_object(
                    channel_id,
                    self._users[self.bot_user_id],
                    {"content": ""},
                    message_id=message_id,
                )
        data: JsonDict = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        payload = self._interaction_payload(3, user_id, channel_id, data, locale=locale)
        payload["message"] = copy.deepcopy(message)
        return payload

    def interaction_modal_submit(
        self,
        user_id: str,
        channel_id: str,
        custom_id: str,
        values: Mapping[str, str],
        *,
        locale: str = "en-US",
    ) -> JsonDict:
        """An INTERACTION_CREATE payload for a modal submit (type 5) with text input values."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
            for key, value in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return self._interaction_payload(5, user_id, channel_id, data, locale=locale)

    def _interaction_payload(
        self, itype: int, user_id: str, channel_id: str, data: JsonDict, *, locale: str
    ) -> JsonDict:
        with self._lock:
            interaction_id = self._snowflake()
            channel = self._channel_object(channel_id) if channel_id in self._channels else None
            payload: JsonDict = {
                "id": interaction_id,
                "application_id": self.application_id,
                "type": itype,
                "data": data,
                "token": f"interaction-token-{interaction_id}",
                "version": 1,
                "channel_id": channel_id,
                "locale": locale,
                "entitlements": [],
                "attachment_size_limit": 10 * 1024 * 1024,
            }
            if channel is not None and channel["type"] == _DM:
                payload["channel"] = channel
                payload["user"] = copy.deepcopy(self._users[user_id])
                payload["context"] = 1
                # A guild install used in the bot's DMs: "0", not a guild id, as documented.
                payload["authorizing_integration_owners"] = {"0": "0"}
                payload["app_permissions"] = str(
                    _P.VIEW_CHANNEL | _P.SEND_MESSAGES | _P.READ_MESSAGE_HISTORY
                )
                return payload
            perms = self._permissions(user_id, channel_id)
            if channel is not None:
                channel["permissions"] = str(perms)
                payload["channel"] = channel
            member = self._member_object(user_id)
            member["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": self.guild_id,
                    "guild": {
                        "id": self.guild_id,
                        "locale": "en-US",
                        "features": list(self.guild_features),
                    },
                    "guild_locale": "en-US",
                    "member": member,
                    "app_permissions": str(self._permissions(self.bot_user_id, channel_id)),
                    "context": 0,
                    "authorizing_integration_owners": {"0": self.guild_id},
                }
            )
            return payload

    def _command_id(self, name: str, guild_id: str | None) -> str:
        with self._lock:
            for scope in (guild_id, None):
                for command in self._commands.get(scope, []):
                    if command["name"] == name:
                        return str(command["id"])
            return self._snowflake()

    # ------------------------------------------------------------------ objects

    def _snowflake(self) -> str:
        with self._lock:
            candidate = (int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22
            if candidate <= self._last_snowflake:
                candidate = self._last_snowflake + 1
            self._last_snowflake = candidate
            return str(candidate)

    @staticmethod
    def _user_object(user_id: str, username: str, *, bot: bool = False) -> JsonDict:
        user: JsonDict = {
            "id": user_id,
            "username": username,
            "discriminator": "4821" if bot else "0",
            "global_name": None if bot else username.capitalize(),
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if bot:
            user["bot"] = True
        return user

    def _bot_user_full(self) -> JsonDict:
        user = copy.deepcopy(self._users[self.bot_user_id])
        user.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
        return user

    def _member_object(self, user_id: str, *, with_user: bool = True) -> JsonDict:
        info = self._members[user_id]
        member: JsonDict = {
            "roles": list(info["roles"]),
            "joined_at": info["joined_at"],
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = copy.deepcopy(self._users[user_id])
        return member

    def _roles(self) -> list[JsonDict]:
        def role(role_id: str, name: str, position: int, perms: int, **extra: Any) -> JsonDict:
            data: JsonDict = {
                "id": role_id,
                "name": name,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "icon": None,
                "unicode_emoji": None,
                "position": position,
                "permissions": str(perms),
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
            data.update(extra)
            return data

        return [
            role(self.guild_id, "@everyone", 0, _EVERYONE_PERMISSIONS),
            role(
                self.bot_role_id,
                self.bot_name,
                1,
                _BOT_ROLE_PERMISSIONS,
                managed=True,
                tags={"bot_id": self.bot_user_id},
            ),
        ]

    def _bot_denied(self) -> int:
        denied = 0
        if not self._allow["private_threads"]:
            denied |= _P.CREATE_PRIVATE_THREADS
        if not self._allow["public_threads"]:
            denied |= _P.CREATE_PUBLIC_THREADS
        if not self._allow["send_messages"]:
            denied |= _P.SEND_MESSAGES | _P.SEND_MESSAGES_IN_THREADS
        return denied

    def _overwrites(self) -> list[JsonDict]:
        denied = self._bot_denied()
        if not denied:
            return []
        return [{"id": self.bot_role_id, "type": 0, "allow": "0", "deny": str(denied)}]

    def _permissions(self, user_id: str, channel_id: str) -> int:
        if user_id == self.guild_owner_id:
            return _P.ALL
        info = self._members.get(user_id)
        if info is None:
            return 0
        roles = {r["id"]: int(r["permissions"]) for r in self._roles()}
        base = roles[self.guild_id]
        for role_id in info["roles"]:
            base |= roles.get(role_id, 0)
        if base & _P.ADMINISTRATOR:
            return _P.ALL
        channel = self._channels.get(channel_id)
        if channel is not None and channel["type"] in _THREAD_TYPES:
            channel = self._channels.get(channel["parent_id"])
        if channel is None or channel["type"] == _DM:
            return base
        allow = deny = 0
        for overwrite in self._overwrites():
            if overwrite["type"] == 0 and overwrite["id"] in info["roles"]:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        return (base & ~deny) | allow

    def _channel_object(self, channel_id: str) -> JsonDict:
        channel = self._channels[channel_id]
        if channel["type"] in _THREAD_TYPES:
            return self._thread_object(channel)
        data = copy.deepcopy(channel)
        if data["type"] == _GUILD_TEXT:
            data["permission_overwrites"] = self._overwrites()
        return data

    def _thread_object(self, thread: JsonDict, *, include_member: bool = True) -> JsonDict:
        data = copy.deepcopy(thread)
        members = self._thread_members.get(thread["id"], {})
        data["member_count"] = min(len(members), 50)
        if include_member and self.bot_user_id in members:
            data["member"] = copy.deepcopy(members[self.bot_user_id])
        return data

    def _guild_object(self, intents: int) -> JsonDict:
        visible = list(self._members) if intents & Intents.GUILD_MEMBERS else [self.bot_user_id]
        return {
            "id": self.guild_id,
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.guild_owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": self._roles(),
            "emojis": [],
            "stickers": [],
            "features": list(self.guild_features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 250_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": self.guild_premium_tier,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "nsfw": False,
            "hub_type": None,
            "incidents_data": None,
            "joined_at": self._members[self.bot_user_id]["joined_at"],
            "large": False,
            "lazy": True,
            "unavailable": False,
            "member_count": len(self._members),
            "members": [self._member_object(uid) for uid in visible],
            "channels": [
                {k: v for k, v in self._channel_object(c["id"]).items() if k != "guild_id"}
                for c in self._channels.values()
                if c["type"] == _GUILD_TEXT
            ],
            "threads": [
                self._thread_object(c)
                for c in self._channels.values()
                if c["type"] in _THREAD_TYPES and not c["thread_metadata"]["archived"]
            ],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "application_command_counts": {},
        }

    def _application_object(self) -> JsonDict:
        return {
            "id": self.application_id,
            "name": self.bot_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "is_monetized": False,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": _APPLICATION_FLAGS,
            "owner": copy.deepcopy(
                self._users.get(self.guild_owner_id, self._users[self.bot_user_id])
            ),
            "team": None,
            "bot": copy.deepcopy(self._users[self.bot_user_id]),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": 1,
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}},
        }

    def _mentions(self, content: str, allowed: JsonDict | None) -> list[JsonDict]:
        found: list[JsonDict] = []
        for user_id in dict.fromkeys(_MENTION.findall(content)):
            if user_id not in self._users:
                continue
            if (
                allowed is not None
                and "users" not in allowed.get("parse", [])
                and user_id not in [str(u) for u in allowed.get("users", [])]
            ):
                continue
            user = copy.deepcopy(self._users[user_id])
            if user_id in self._members:
                user["member"] = self._member_object(user_id, with_user=False)
            found.append(user)
        return found

    def _message_object(
        self,
        channel_id: str,
        author: JsonDict,
        body: JsonDict,
        *,
        message_id: str | None = None,
        mtype: int = 0,
    ) -> JsonDict:
        content = str(body.get("content") or "")
        embeds = [{"type": "rich", **e} for e in body.get("embeds") or []]
        message: JsonDict = {
            "id": message_id or self._snowflake(),
            "channel_id": channel_id,
            "type": mtype,
            "author": copy.deepcopy(author),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": self._mentions(content, body.get("allowed_mentions")),
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds,
            "components": copy.deepcopy(list(body.get("components") or [])),
            "pinned": False,
            "flags": int(body.get("flags") or 0),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19
            message["message_reference"] = {"type": 0, "channel_id": channel_id, **reference}
            referenced = self._find_message(str(reference.get("message_id")))
            message["referenced_message"] = copy.deepcopy(referenced)
        return message

    def _gateway_message(self, message: JsonDict) -> JsonDict:
        """A stored message as MESSAGE_CREATE/UPDATE carries it (with guild_id and member)."""
        data = copy.deepcopy(message)
        channel = self._channels.get(message["channel_id"])
        if channel is not None and channel.get("guild_id"):
            data["guild_id"] = channel["guild_id"]
            author_id = message["author"]["id"]
            if author_id in self._members and "webhook_id" not in message:
                data["member"] = self._member_object(author_id, with_user=False)
        return data

    def _find_message(self, message_id: str, inter: _Interaction | None = None) -> JsonDict | None:
        if inter is not None and message_id in inter.ephemeral:
            return inter.ephemeral[message_id]
        for messages in self._messages.values():
            for message in messages:
                if message["id"] == message_id:
                    return message
        for other in self._interactions.values():
            if message_id in other.ephemeral:
                return other.ephemeral[message_id]
        return None

    def _store_message(self, message: JsonDict) -> None:
        channel_id = message["channel_id"]
        self._messages.setdefault(channel_id, []).append(message)
        channel = self._channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = message["id"]
            if channel["type"] in _THREAD_TYPES:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1

    def _new_thread(
        self,
        parent_id: str,
        name: str,
        owner_id: str,
        ttype: int,
        *,
        thread_id: str | None = None,
        auto_archive_duration: int = 1440,
        invitable: bool = True,
        rate_limit_per_user: int = 0,
    ) -> JsonDict:
        now = _now_iso()
        metadata: JsonDict = {
            "archived": False,
            "archive_timestamp": now,
            "auto_archive_duration": auto_archive_duration,
            "locked": False,
            "create_timestamp": now,
        }
        if ttype == _PRIVATE_THREAD:
            metadata["invitable"] = invitable
        return {
            "id": thread_id or self._snowflake(),
            "guild_id": self.guild_id,
            "parent_id": parent_id,
            "owner_id": owner_id,
            "type": ttype,
            "name": name,
            "last_message_id": None,
            "thread_metadata": metadata,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": rate_limit_per_user,
            "flags": 0,
        }

    def _thread_member(self, thread_id: str, user_id: str) -> JsonDict:
        return {
            "id": thread_id,
            "user_id": user_id,
            "join_timestamp": _now_iso(),
            "flags": 0,
            "mute_config": None,
            "muted": False,
        }

    def _apply_injected(self, event: str, data: JsonDict) -> None:
        if event == "MESSAGE_CREATE":
            channel_id = str(data.get("channel_id"))
            if self._find_message(str(data.get("id"))) is None:
                stored = {k: v for k, v in data.items() if k not in ("guild_id", "member")}
                stored["channel_id"] = channel_id
                self._store_message(copy.deepcopy(stored))
        elif event == "INTERACTION_CREATE":
            user = data.get("user") or (data.get("member") or {}).get("user") or {}
            message = data.get("message") or {}
            self._interactions[str(data["id"])] = _Interaction(
                id=str(data["id"]),
                token=str(data["token"]),
                type=int(data["type"]),
                channel_id=data.get("channel_id"),
                guild_id=data.get("guild_id"),
                user=copy.deepcopy(user),
                name=(data.get("data") or {}).get("name"),
                message_id=message.get("id"),
            )
        elif event == "THREAD_CREATE" and str(data["id"]) not in self._channels:
            stored = {
                k: v for k, v in data.items() if k not in ("member", "newly_created", "members")
            }
            stored.setdefault("total_message_sent", 0)
            self._channels[str(data["id"])] = copy.deepcopy(stored)
            self._messages.setdefault(str(data["id"]), [])
            owner = str(data.get("owner_id"))
            self._thread_members[str(data["id"])] = {
                owner: self._thread_member(str(data["id"]), owner)
            }

    # ------------------------------------------------------------------ REST plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        prefix = f"/api/v{API_VERSION}"
        path = request.path
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        body, has_files = await self._read_body(request)
        query = {k: request.query[k] for k in request.query}
        headers = {k: request.headers[k] for k in request.headers}
        call = Call(request.method, path, copy.deepcopy(body), query, headers)
        with self._lock:
            self._calls.append(call)
            canned = self._take_canned(request.method, path)
        if canned is not None:
            return self._respond(canned.status, canned.body, canned.headers)
        if not request.path.startswith(prefix + "/"):
            return self._respond(404, {"message": "404: Not Found", "code": 0})
        for method, pattern, handler, auth in self._routes:
            match = pattern.fullmatch(path)
            if match is None or method != request.method:
                continue
            if auth and not self._authorised(headers.get("Authorization")):
                return self._respond(401, {"message": "401: Unauthorized", "code": 0})
            req = _Req(request.method, path, match.groupdict(), body, query, headers, has_files)
            try:
                with self._lock:
                    reply = handler(req)
            except Exception as exc:
                # A bug in the double: fail the request at once (discord.py would retry a 500
                # for ~25 s) and keep the error for `internal_errors`.
                with self._lock:
                    self._internal_errors.append(f"{request.method} {path}: {exc!r}")
                message = f"DiscordApiDouble internal error: {exc!r}"
                return self._respond(400, {"message": message, "code": 0})
            if reply.events:
                await self._broadcast(reply.events)
            return self._respond(reply.status, reply.body)
        return self._respond(404, {"message": "404: Not Found", "code": 0})

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bot "):
            return False
        return self.token is None or header == f"Bot {self.token}"

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, bool]:
        if not request.can_read_body:
            return None, False
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            has_files = False
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if getattr(part, "name", None) == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    has_files = True
                    await part.read()  # type: ignore[union-attr]
            return payload, has_files
        raw = await request.read()
        if not raw:
            return None, False
        try:
            return json.loads(raw), False
        except ValueError:
            return raw.decode("utf-8", "replace"), False

    def _take_canned(self, method: str, path: str) -> _Canned | None:
        for canned in self._canned:
            if canned.method in ("*", method) and canned.pattern.fullmatch(path):
                canned.remaining -= 1
                if canned.remaining <= 0:
                    self._canned.remove(canned)
                return canned
        return None

    @staticmethod
    def _respond(
        status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        if body is None:
            return web.Response(status=status, headers=dict(headers or {}))
        # `body=` bytes keeps the content type bare: discord.py compares it to
        # "application/json" exactly (no charset) before decoding.
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=dict(headers or {}),
        )

    # ------------------------------------------------------------------ REST handlers

    def _get_me(self, req: _Req) -> _Reply:
        return _Reply(200, self._bot_user_full())

    def _get_user(self, req: _Req) -> _Reply:
        user = self._users.get(req.params["user"])
        if user is None:
            return _error(404, "Unknown User", 10013)
        return _Reply(200, copy.deepcopy(user))

    def _get_application(self, req: _Req) -> _Reply:
        return _Reply(200, self._application_object())

    def _get_gateway(self, req: _Req) -> _Reply:
        return _Reply(200, {"url": self.gateway_url})

    def _get_gateway_bot(self, req: _Req) -> _Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return _Reply(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _check_app(self, req: _Req) -> _Reply | None:
        if req.params["app"] != self.application_id:
            return _error(403, "Missing Access", 50001)
        guild = req.params.get("guild")
        if guild is not None and guild != self.guild_id:
            return _error(403, "Missing Access", 50001)
        return None

    def _get_commands(self, req: _Req) -> _Reply:
        problem = self._check_app(req)
        if problem is not None:
            return problem
        return _Reply(200, copy.deepcopy(self._commands.get(req.params.get("guild"), [])))

    def _put_commands(self, req: _Req) -> _Reply:
        problem = self._check_app(req)
        if problem is not None:
            return problem
        if not isinstance(req.json, list):
            return _error(400, "Invalid Form Body", 50035)
        guild = req.params.get("guild")
        existing = {c["name"]: c for c in self._commands.get(guild, [])}
        result = []
        for index, command in enumerate(req.json):
            if not isinstance(command, dict) or not command.get("name"):
                return _form_error("name", "BASE_TYPE_REQUIRED", "This field is required")
            refused = _command_problem(command)
            if refused is not None:
                path, code, message = refused
                errors: JsonDict = {"_errors": [{"code": code, "message": message}]}
                for key in reversed([str(index), *path]):
                    errors = {key: errors}
                return _error(400, "Invalid Form Body", 50035, errors)
            old = existing.get(command["name"])
            stored: JsonDict = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                "name_localizations": None,
                "description_localizations": None,
            }
            stored.update(copy.deepcopy(command))
            stored["id"] = old["id"] if old else self._snowflake()
            stored["application_id"] = self.application_id
            stored["version"] = self._snowflake()
            if guild is not None:
                stored["guild_id"] = guild
            result.append(stored)
        self._commands[guild] = result
        return _Reply(200, copy.deepcopy(result))

    def _get_member(self, req: _Req) -> _Reply:
        user_id = req.params["user"]
        if req.params["guild"] != self.guild_id:
            return _error(404, "Unknown Guild", 10004)
        if user_id not in self._members:
            return _error(404, "Unknown Member", 10007)
        return _Reply(200, self._member_object(user_id))

    def _get_channel(self, req: _Req) -> _Reply:
        channel_id = req.params["channel"]
        if channel_id not in self._channels:
            return _error(404, "Unknown Channel", 10003)
        return _Reply(200, self._channel_object(channel_id))

    def _edit_channel(self, req: _Req) -> _Reply:
        channel_id = req.params["channel"]
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error(404, "Unknown Channel", 10003)
        body = req.json if isinstance(req.json, dict) else {}
        if channel["type"] in _THREAD_TYPES:
            perms = self._permissions(self.bot_user_id, channel_id)
            metadata = channel["thread_metadata"]
            wants_lock = "locked" in body and body["locked"] != metadata["locked"]
            if wants_lock and not perms & _P.MANAGE_THREADS:
                return _error(403, "Missing Permissions", 50013)
            for key in ("name", "rate_limit_per_user", "flags"):
                if key in body:
                    channel[key] = body[key]
            for key in ("archived", "auto_archive_duration", "locked", "invitable"):
                if key in body and body[key] is not None:
                    if key == "archived" and body[key] != metadata["archived"]:
                        metadata["archive_timestamp"] = _now_iso()
                    if key == "invitable" and channel["type"] != _PRIVATE_THREAD:
                        continue
                    metadata[key] = body[key]
            data = self._thread_object(channel)
            return _Reply(200, data, [("THREAD_UPDATE", copy.deepcopy(data))])
        for key in ("name", "topic", "nsfw", "rate_limit_per_user", "position"):
            if key in body:
                channel[key] = body[key]
        data = self._channel_object(channel_id)
        return _Reply(200, data, [("CHANNEL_UPDATE", copy.deepcopy(data))])

    def _start_thread(self, req: _Req) -> _Reply:
        parent_id = req.params["channel"]
        parent = self._channels.get(parent_id)
        if parent is None:
            return _error(404, "Unknown Channel", 10003)
        if parent["type"] != _GUILD_TEXT:
            return _error(400, "Cannot execute action on this channel type", 50024)
        body = req.json if isinstance(req.json, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return _form_error(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        from_message = req.params.get("message")
        if from_message is not None:
            if self._find_message(from_message) is None:
                return _error(404, "Unknown Message", 10008)
            ttype = _PUBLIC_THREAD
        else:
            ttype = int(body.get("type") or _PRIVATE_THREAD)
        if ttype not in (_PUBLIC_THREAD, _PRIVATE_THREAD):
            return _form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
        perms = self._permissions(self.bot_user_id, parent_id)
        needed = _P.CREATE_PRIVATE_THREADS if ttype == _PRIVATE_THREAD else _P.CREATE_PUBLIC_THREADS
        if not perms & _P.VIEW_CHANNEL or not perms & needed:
            return _error(403, "Missing Permissions", 50013)
        thread = self._new_thread(
            parent_id,
            name,
            self.bot_user_id,
            ttype,
            thread_id=from_message,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            invitable=bool(body.get("invitable", True)),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        )
        thread_id = thread["id"]
        self._channels[thread_id] = thread
        self._messages[thread_id] = []
        self._thread_members[thread_id] = {
            self.bot_user_id: self._thread_member(thread_id, self.bot_user_id)
        }
        data = self._thread_object(thread)
        event = copy.deepcopy(data)
        event["newly_created"] = True
        return _Reply(201, data, [("THREAD_CREATE", event)])

    def _thread_for_members(self, req: _Req) -> tuple[JsonDict | None, str, _Reply | None]:
        thread = self._channels.get(req.params["channel"])
        user_id = req.params["user"]
        if user_id == "@me":
            user_id = self.bot_user_id
        if thread is None or thread["type"] not in _THREAD_TYPES:
            return None, user_id, _error(404, "Unknown Channel", 10003)
        if user_id not in self._members:
            return None, user_id, _error(404, "Unknown Member", 10007)
        if thread["thread_metadata"]["archived"]:
            return None, user_id, _error(400, "Thread is archived", 50083)
        return thread, user_id, None

    def _add_thread_member(self, req: _Req) -> _Reply:
        thread, user_id, problem = self._thread_for_members(req)
        if problem is not None or thread is None:
            return problem or _error(404, "Unknown Channel", 10003)
        members = self._thread_members.setdefault(thread["id"], {})
        if user_id in members:
            return _Reply(204)
        member = self._thread_member(thread["id"], user_id)
        members[user_id] = member
        added = copy.deepcopy(member)
        added["member"] = self._member_object(user_id)
        added["presence"] = None
        update = {
            "id": thread["id"],
            "guild_id": self.guild_id,
            "member_count": min(len(members), 50),
            "added_members": [added],
        }
        return _Reply(204, None, [("THREAD_MEMBERS_UPDATE", update)])

    def _remove_thread_member(self, req: _Req) -> _Reply:
        thread, user_id, problem = self._thread_for_members(req)
        if problem is not None or thread is None:
            return problem or _error(404, "Unknown Channel", 10003)
        members = self._thread_members.setdefault(thread["id"], {})
        if members.pop(user_id, None) is None:
            return _Reply(204)
        update = {
            "id": thread["id"],
            "guild_id": self.guild_id,
            "member_count": min(len(members), 50),
            "removed_member_ids": [user_id],
        }
        return _Reply(204, None, [("THREAD_MEMBERS_UPDATE", update)])

    def _typing(self, req: _Req) -> _Reply:
        if req.params["channel"] not in self._channels:
            return _error(404, "Unknown Channel", 10003)
        return _Reply(204)

    def _validate_message_body(self, body: JsonDict, has_files: bool) -> _Reply | None:
        content = body.get("content")
        if content is not None and len(str(content)) > _MESSAGE_MAX:
            return _form_error(
                "content", "BASE_TYPE_MAX_LENGTH", f"Must be {_MESSAGE_MAX} or fewer in length."
            )
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > _NONCE_MAX:
            return _form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if not (
            content
            or body.get("embeds")
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
            or has_files
        ):
            return _error(400, "Cannot send an empty message", 50006)
        return None

    def _create_message(self, req: _Req) -> _Reply:
        channel_id = req.params["channel"]
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error(404, "Unknown Channel", 10003)
        body = req.json if isinstance(req.json, dict) else {}
        problem = self._validate_message_body(body, req.has_files)
        if problem is not None:
            return problem
        events: list[tuple[str, JsonDict]] = []
        if channel["type"] == _DM:
            recipient = channel["recipients"][0]["id"]
            if recipient in self._dms_closed:
                return _error(403, "Cannot send messages to this user", 50007)
        else:
            perms = self._permissions(self.bot_user_id, channel_id)
            in_thread = channel["type"] in _THREAD_TYPES
            needed = _P.SEND_MESSAGES_IN_THREADS if in_thread else _P.SEND_MESSAGES
            if not perms & _P.VIEW_CHANNEL or not perms & needed:
                return _error(403, "Missing Permissions", 50013)
            if in_thread and channel["thread_metadata"]["archived"]:
                if channel["thread_metadata"]["locked"] and not perms & _P.MANAGE_THREADS:
                    return _error(400, "Thread is locked", 50083)
                channel["thread_metadata"]["archived"] = False
                channel["thread_metadata"]["archive_timestamp"] = _now_iso()
                events.append(("THREAD_UPDATE", self._thread_object(channel)))
        nonce = body.get("nonce")
        key = (self.bot_user_id, str(nonce))
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and now - seen[0] <= self.nonce_window:
                existing = self._find_message(seen[2])
                if existing is not None and existing["channel_id"] == seen[1]:
                    return _Reply(200, copy.deepcopy(existing))
        message = self._message_object(channel_id, self._users[self.bot_user_id], body)
        if nonce is not None:
            self._nonces[key] = (now, channel_id, message["id"])
        self._store_message(message)
        events.append(("MESSAGE_CREATE", self._gateway_message(message)))
        return _Reply(200, copy.deepcopy(message), events)

    def _list_messages(self, req: _Req) -> _Reply:
        channel_id = req.params["channel"]
        if channel_id not in self._channels:
            return _error(404, "Unknown Channel", 10003)
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 50
        if not 1 <= limit <= 100:
            return _form_error("limit", "NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")
        for key in ("before", "after", "around"):
            if not req.query.get(key, "0").isdigit():
                return _form_error(key, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        messages = sorted(self._messages.get(channel_id, []), key=lambda m: int(m["id"]))
        if "around" in req.query:
            pivot = int(req.query["around"])
            older = [m for m in messages if int(m["id"]) < pivot]
            newer = [m for m in messages if int(m["id"]) >= pivot]
            messages = (
                older[-(limit // 2) :] + newer[: limit - limit // 2] if limit > 1 else newer[:1]
            )
        if "before" in req.query:
            messages = [m for m in messages if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            messages = [m for m in messages if int(m["id"]) > int(req.query["after"])]
            messages = messages[:limit]
        newest_first = sorted(messages, key=lambda m: int(m["id"]), reverse=True)[:limit]
        return _Reply(200, copy.deepcopy(newest_first))

    def _channel_message(self, req: _Req) -> tuple[JsonDict | None, _Reply | None]:
        channel_id = req.params["channel"]
        if channel_id not in self._channels:
            return None, _error(404, "Unknown Channel", 10003)
        for message in self._messages.get(channel_id, []):
            if message["id"] == req.params["message"]:
                return message, None
        return None, _error(404, "Unknown Message", 10008)

    def _get_message(self, req: _Req) -> _Reply:
        message, problem = self._channel_message(req)
        if message is None:
            return problem or _error(404, "Unknown Message", 10008)
        return _Reply(200, copy.deepcopy(message))

    def _apply_edit(self, message: JsonDict, body: JsonDict) -> None:
        if "content" in body:
            message["content"] = str(body["content"] or "")
            message["mentions"] = self._mentions(message["content"], body.get("allowed_mentions"))
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = copy.deepcopy(list(body["components"] or []))
        if "flags" in body and body["flags"] is not None:
            message["flags"] = int(body["flags"]) | (message["flags"] & _EPHEMERAL)
        message["flags"] &= ~_LOADING
        message["edited_timestamp"] = _now_iso()

    def _edit_message(self, req: _Req) -> _Reply:
        message, problem = self._channel_message(req)
        if message is None:
            return problem or _error(404, "Unknown Message", 10008)
        if message["author"]["id"] != self.bot_user_id:
            return _error(403, "Cannot edit a message authored by another user", 50005)
        body = req.json if isinstance(req.json, dict) else {}
        self._apply_edit(message, body)
        return _Reply(
            200, copy.deepcopy(message), [("MESSAGE_UPDATE", self._gateway_message(message))]
        )

    def _delete_message(self, req: _Req) -> _Reply:
        message, problem = self._channel_message(req)
        if message is None:
            return problem or _error(404, "Unknown Message", 10008)
        return _Reply(204, None, [self._remove_message(message)])

    def _remove_message(self, message: JsonDict) -> tuple[str, JsonDict]:
        channel_id = message["channel_id"]
        self._messages[channel_id] = [m for m in self._messages[channel_id] if m is not message]
        event: JsonDict = {"id": message["id"], "channel_id": channel_id}
        guild_id = self._channels.get(channel_id, {}).get("guild_id")
        if guild_id:
            event["guild_id"] = guild_id
        return "MESSAGE_DELETE", event

    def _open_dm(self, req: _Req) -> _Reply:
        body = req.json if isinstance(req.json, dict) else {}
        recipient = str(body.get("recipient_id"))
        if recipient not in self._users or recipient == self.bot_user_id:
            return _error(400, "Invalid Recipient(s)", 50033)
        channel_id = self._dm_by_user.get(recipient)
        if channel_id is None:
            channel_id = self._snowflake()
            self._dm_by_user[recipient] = channel_id
            self._channels[channel_id] = {
                "id": channel_id,
                "type": _DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [copy.deepcopy(self._users[recipient])],
            }
            self._messages[channel_id] = []
        return _Reply(200, self._channel_object(channel_id))

    # ------------------------------------------------------------------ interactions

    def _interaction_message(
        self, inter: _Interaction, body: JsonDict, *, loading: bool
    ) -> JsonDict:
        mtype = 20 if inter.type == 2 and inter.original_id is None else 0
        message = self._message_object(
            inter.channel_id or "0", self._users[self.bot_user_id], body, mtype=mtype
        )
        if loading:
            message["flags"] |= _LOADING
        message["webhook_id"] = self.application_id
        message["application_id"] = self.application_id
        metadata: JsonDict = {
            "id": inter.id,
            "type": inter.type,
            "user": copy.deepcopy(inter.user),
            "authorizing_integration_owners": {"0": inter.guild_id or "0"},
        }
        if inter.type == 2 and inter.name:
            metadata["name"] = inter.name
        if inter.type == 3 and inter.message_id:
            metadata["interacted_message_id"] = inter.message_id
        if inter.original_id is not None:
            metadata["original_response_message_id"] = inter.original_id
        message["interaction_metadata"] = metadata
        return message

    def _publish(self, inter: _Interaction, message: JsonDict) -> list[tuple[str, JsonDict]]:
        if message["flags"] & _EPHEMERAL:
            inter.ephemeral[message["id"]] = message
            return []
        self._store_message(message)
        return [("MESSAGE_CREATE", self._gateway_message(message))]

    def _callback(self, req: _Req) -> _Reply:
        inter = self._interactions.get(req.params["interaction"])
        if inter is None or inter.token != req.params["token"]:
            return _error(404, "Unknown interaction", 10062)
        if inter.acknowledged:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        body = req.json if isinstance(req.json, dict) else {}
        ctype = body.get("type")
        raw_data = body.get("data")
        data: JsonDict = raw_data if isinstance(raw_data, dict) else {}
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}
        if ctype not in allowed.get(inter.type, (4, 5)):
            return _form_error(
                "type",
                "BASE_TYPE_CHOICES",
                "Invalid interaction callback type for this interaction.",
            )
        if ctype == 4:
            problem = self._validate_message_body(data, req.has_files)
            if problem is not None:
                return problem
        inter.acknowledged = True
        inter.callbacks.append(copy.deepcopy(body))
        events: list[tuple[str, JsonDict]] = []
        resource: JsonDict | None = None
        flags = int(data.get("flags") or 0)
        if ctype in (4, 5):
            message = self._interaction_message(inter, data, loading=ctype == 5)
            inter.original_id = message["id"]
            events += self._publish(inter, message)
            resource = {"type": ctype, "message": copy.deepcopy(message)}
        elif ctype in (6, 7) and inter.message_id is not None:
            inter.original_id = inter.message_id
            target = self._find_message(inter.message_id)
            if ctype == 7 and target is not None:
                self._apply_edit(target, data)
                if not target["flags"] & _EPHEMERAL:
                    events.append(("MESSAGE_UPDATE", self._gateway_message(target)))
                resource = {"type": ctype, "message": copy.deepcopy(target)}
        if not _truthy(req.query.get("with_response")):
            return _Reply(204, None, events)
        answer: JsonDict = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(flags & _EPHEMERAL),
            }
        }
        if inter.original_id is not None:
            answer["interaction"]["response_message_id"] = inter.original_id
        if resource is not None:
            answer["resource"] = resource
        return _Reply(200, answer, events)

    def _webhook_interaction(self, req: _Req) -> tuple[_Interaction | None, _Reply | None]:
        if req.params["app"] == self.application_id:
            for inter in self._interactions.values():
                if inter.token == req.params["token"] and inter.acknowledged:
                    return inter, None
        return None, _error(404, "Unknown Webhook", 10015)

    def _get_webhook(self, req: _Req) -> _Reply:
        inter, problem = self._webhook_interaction(req)
        if inter is None:
            return problem or _error(404, "Unknown Webhook", 10015)
        webhook = {
            "id": self.application_id,
            "type": 3,
            "name": self.bot_name,
            "avatar": None,
            "channel_id": inter.channel_id,
            "guild_id": inter.guild_id,
            "application_id": self.application_id,
            "token": inter.token,
        }
        return _Reply(200, webhook)

    def _followup(self, req: _Req) -> _Reply:
        inter, problem = self._webhook_interaction(req)
        if inter is None:
            return problem or _error(404, "Unknown Webhook", 10015)
        body = req.json if isinstance(req.json, dict) else {}
        problem = self._validate_message_body(body, req.has_files)
        if problem is not None:
            return problem
        message = self._interaction_message(inter, body, loading=False)
        inter.followup_ids.append(message["id"])
        events = self._publish(inter, message)
        if not _truthy(req.query.get("wait")):
            return _Reply(204, None, events)
        return _Reply(200, copy.deepcopy(message), events)

    def _webhook_message(self, req: _Req) -> _Reply:
        inter, problem = self._webhook_interaction(req)
        if inter is None:
            return problem or _error(404, "Unknown Webhook", 10015)
        message_id = req.params["message"]
        if message_id == "@original":
            if inter.original_id is None or inter.deleted_original:
                return _error(404, "Unknown Message", 10008)
            message_id = inter.original_id
        elif message_id not in inter.followup_ids and message_id != inter.original_id:
            return _error(404, "Unknown Message", 10008)
        message = self._find_message(message_id, inter)
        if message is None:
            return _error(404, "Unknown Message", 10008)
        ephemeral = bool(message["flags"] & _EPHEMERAL)
        if req.method == "GET":
            return _Reply(200, copy.deepcopy(message))
        if req.method == "DELETE":
            if message_id == inter.original_id:
                inter.deleted_original = True
            if ephemeral:
                for other in self._interactions.values():
                    other.ephemeral.pop(message_id, None)
                return _Reply(204)
            return _Reply(204, None, [self._remove_message(message)])
        body = req.json if isinstance(req.json, dict) else {}
        self._apply_edit(message, body)
        events = [] if ephemeral else [("MESSAGE_UPDATE", self._gateway_message(message))]
        return _Reply(200, copy.deepcopy(message), events)

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws=ws, query={k: request.query[k] for k in request.query})
        with self._lock:
            self._gateway_connections.append(dict(session.query))
            self._sessions.append(session)
        try:
            if session.query.get("v", str(API_VERSION)) != str(API_VERSION):
                await ws.close(code=4012, message=b"Invalid API version")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["double"]}
            await self._send(session, {"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    if msg.type is WSMsgType.ERROR:
                        break
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(session, frame)
        finally:
            with self._lock:
                if session in self._sessions:
                    self._sessions.remove(session)
                if session.session_id is not None:
                    self._known_sessions[session.session_id] = session.seq
        return ws

    async def _on_frame(self, session: _Session, frame: JsonDict) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._send(session, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(session, data or {})
        elif op == 6:
            await self._resume(session, data or {})
        elif op == 3:
            with self._lock:
                self._presence_updates.append(copy.deepcopy(data or {}))
        elif op == 8:
            await self._request_members(session, data or {})
        elif op not in (4,):
            await session.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, session: _Session, data: JsonDict) -> None:
        with self._lock:
            self._identifies.append(copy.deepcopy(data))
        if session.identified:
            await session.ws.close(code=4005, message=b"Already authenticated.")
            return
        if self.token is not None and data.get("token") != self.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await session.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & Intents.PRIVILEGED & ~self.enabled_privileged_intents:
            await session.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        with self._lock:
            session.intents = intents
            session.session_id = f"double-session-{self._snowflake()}"
            session.identified = True
            ready = {
                "v": API_VERSION,
                "user": self._bot_user_full(),
                "user_settings": {},
                "guilds": [{"id": self.guild_id, "unavailable": True}],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "shard": data.get("shard") or [0, 1],
                "application": {"id": self.application_id, "flags": _APPLICATION_FLAGS},
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": ["rotterdam"],
                "auth": {},
                "_trace": ["double"],
            }
            guild = self._guild_object(intents)
        await self._send_dispatch(session, "READY", ready)
        if intents & Intents.GUILDS:
            await self._send_dispatch(session, "GUILD_CREATE", guild)

    async def _resume(self, session: _Session, data: JsonDict) -> None:
        with self._lock:
            self._resumes.append(copy.deepcopy(data))
            session_id = str(data.get("session_id"))
            known = session_id in self._known_sessions or any(
                s.session_id == session_id for s in self._sessions if s is not session
            )
            previous = [
                s for s in self._sessions if s.session_id == session_id and s is not session
            ]
            intents = previous[0].intents if previous else None
            if intents is None:
                identified = [i for i in self._identifies if isinstance(i.get("intents"), int)]
                intents = identified[-1]["intents"] if identified else 0
        if not known or (self.token is not None and data.get("token") != self.token):
            await self._send(session, {"op": 9, "d": False, "s": None, "t": None})
            return
        with self._lock:
            for old in previous:
                old.identified = False
            session.session_id = session_id
            session.intents = intents
            session.identified = True
            session.seq = max(int(data.get("seq") or 0), self._known_sessions.get(session_id, 0))
        await self._send_dispatch(session, "RESUMED", {"_trace": ["double"]})

    async def _request_members(self, session: _Session, data: JsonDict) -> None:
        with self._lock:
            user_ids = data.get("user_ids")
            query = str(data.get("query") or "")
            wanted = [str(u) for u in user_ids] if user_ids else list(self._members)
            members = [
                self._member_object(uid)
                for uid in wanted
                if uid in self._members and self._users[uid]["username"].startswith(query)
            ]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: JsonDict = {
                "guild_id": self.guild_id,
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [u for u in (user_ids or []) if str(u) not in self._members],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, session: _Session, payload: JsonDict) -> None:
        async with session.lock:
            await self._write(session, payload)

    @staticmethod
    async def _write(session: _Session, payload: JsonDict) -> None:
        if session.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await session.ws.send_str(json.dumps(payload))

    async def _send_dispatch(self, session: _Session, event: str, data: JsonDict) -> None:
        async with session.lock:
            session.seq += 1
            await self._write(session, {"op": 0, "t": event, "s": session.seq, "d": data})

    async def _broadcast(self, events: Sequence[tuple[str, JsonDict]]) -> None:
        with self._lock:
            sessions = [s for s in self._sessions if s.identified and not s.ws.closed]
        for event, data in events:
            for session in sessions:
                with self._lock:
                    filtered = self._for_intents(session.intents, event, data)
                if filtered is not None:
                    await self._send_dispatch(session, event, filtered)

    def _for_intents(self, intents: int, event: str, data: JsonDict) -> JsonDict | None:
        """What a session with these intents receives of an event (None: nothing)."""
        data = copy.deepcopy(data)
        if not self.enforce_intents:
            return data
        if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
            return data if intents & Intents.GUILDS else None
        if not event.startswith("MESSAGE_"):
            return data
        in_guild = bool(data.get("guild_id"))
        needed = Intents.GUILD_MESSAGES if in_guild else Intents.DIRECT_MESSAGES
        if not intents & needed:
            return None
        author_id = (data.get("author") or {}).get("id")
        mentioned = any(m.get("id") == self.bot_user_id for m in data.get("mentions") or [])
        if (
            in_guild
            and event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and not intents & Intents.MESSAGE_CONTENT
            and author_id != self.bot_user_id
            and not mentioned
        ):
            data.update({"content": "", "embeds": [], "attachments": [], "components": []})
        return data
