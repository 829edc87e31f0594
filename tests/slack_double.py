"""A local stand-in for Slack's Web API, for the Slack adapter's tests.

`SlackApiDouble` is a small aiohttp server on 127.0.0.1 (a free port) that answers the Web API
methods the adapter uses, in the shapes Slack documents, and keeps enough state (channels,
members, messages with their metadata, threads) for the adapter to be tested end to end. It runs
in its own thread with its own event loop, so it serves `slack_sdk.WebClient` calls made from any
thread as well as `AsyncWebClient` calls made from the app's event loop.

Every call is recorded as a `Call` (method, arguments, token), whether it succeeded or not, and
faults can be injected per method (`fail_next` for HTTP 429 rate limiting, `error_next` for an
`ok: false` answer, `add_response` for any canned answer, `delay_next` for a slow one; a
`response_url` takes `add_response("response_url", ...)` too)::

    with SlackApiDouble() as slack:
        client = WebClient(base_url=slack.base_url, token="xoxb-test")
        client.chat_postMessage(channel="C0001", text="hi")
        assert slack.calls_to("chat.postMessage")[0].args["text"] == "hi"

Methods not modelled here answer `{"ok": false, "error": "unknown_method"}` (still recorded);
`add_response` can supply an answer for them.

It also serves Socket Mode: `apps.connections.open` (with an app-level `xapp-` token) answers a
`ws://` URL on the same port; a client connecting there is greeted with `{"type": "hello"}`, its
pings are answered with pongs, and the test pushes envelopes to it with `send_envelope` and reads
the client's acknowledgements back with `socket_acks` / `wait_for_ack`::

    envelope_id = slack.send_envelope("slash_commands", slash_command_body(text="help"))
    ack = slack.wait_for_ack(envelope_id)  # {"envelope_id": ..., "payload": ...?}
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode, WSMsgType, web

from tests.loopback import LoopbackServer

__all__ = ["Call", "SlackApiDouble", "socket_payload"]

T = TypeVar("T")
JsonDict = dict[str, Any]

# Form fields that slack_sdk JSON-encodes when it sends a form body.
_JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "view"})
_TS_BASE_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100
_CHANNEL_NAME_MAX = 80
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_DEFAULT_SCOPES = (
    "channels:manage,groups:write,im:write,mpim:write,chat:write,commands,"
    "channels:history,groups:history,im:history,users:read"
)
_SOCKET_PATH = "/socket"
_SOCKET_MAX_MESSAGE = 1024 * 1024
_SOCKET_CLOSE_TIMEOUT = 2.0
_SOCKET_ENDS = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR})
# Interactive payloads whose envelope lets the ack carry a response (the others: Slack says no).
_RESPONSE_PAYLOAD_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})


@dataclass(frozen=True)
class Call:
    """One request the double received.

    `args` merges the query string with the form or JSON body; form fields that carry JSON
    (`blocks`, `attachments`, `metadata`, `view`) are decoded. Other values are kept as sent: a
    form body carries strings (booleans as "1"/"0" or "true"/"false"), a JSON body Python values.
    """

    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class _Canned:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool
    created: int
    creator: str
    members: list[str]
    is_im: bool = False
    is_mpim: bool = False
    messages: list[JsonDict] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": next((m for m in self.members if m != self.creator), self.creator),
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_mpim,
            "is_group": self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "is_ext_shared": False,
            "context_team_id": None,
            "updated": self.created * 1000,
            "parent_conversation": None,
            "creator": self.creator,
            "is_member": True,
            "last_read": "0000000000.000000",
            "latest": None,
            "unread_count": 0,
            "unread_count_display": 0,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "priority": 0,
        }


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool = False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _error(error: str, **extra: Any) -> JsonDict:
    return {"ok": False, "error": error, **extra}


def _channel_name_error(name: str) -> str | None:
    """Slack's checks on a new channel's name, with its error codes."""
    if not name:
        return "invalid_name_required"
    if len(name) > _CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    for ch in name:
        allowed = ch in "-_" or ch.isdigit() or (ch.isalpha() and not ch.isupper())
        if not allowed:
            return "invalid_name_specials"
    if all(ch in "-_" for ch in name):
        return "invalid_name_punctuation"
    return None


def _split_users(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    if not value:
        return []
    return [u.strip() for u in str(value).split(",") if u.strip()]


def _int_arg(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def socket_payload(body: Mapping[str, Any] | str) -> JsonDict:
    """A Socket Mode envelope's `payload` from a dict, or from a request body as Slack would
    POST it in HTTP mode: a JSON object (Events API), a form with one `payload` field
    (interactivity), or a form of fields (a slash command, whose fields come as JSON strings)."""
    if not isinstance(body, str):
        return copy.deepcopy(dict(body))
    text = body.strip()
    if text.startswith("{"):
        decoded = json.loads(text)
        if not isinstance(decoded, dict):
            raise ValueError("a Socket Mode payload is a JSON object")
        return decoded
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if set(fields) == {"payload"}:
        decoded = json.loads(fields["payload"])
        if not isinstance(decoded, dict):
            raise ValueError("a Socket Mode payload is a JSON object")
        return decoded
    return fields


class SlackApiDouble(LoopbackServer):
    name = "slack-api-double"

    """A stateful stand-in for Slack's Web API on 127.0.0.1, running in a background thread.

    Use as a context manager (or call `start()` / `stop()`), then point a client at `base_url`.
    Inspect `calls`, `calls_to(method)`, `messages(channel)`; seed state with `add_user`,
    `add_channel`, `add_message`; inject faults with `fail_next`, `error_next`, `add_response`.
    All public methods are thread-safe.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team_name: str = "Peerset Test",
        team_domain: str = "peerset-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        bot_name: str = "peerset",
        app_id: str = "A0001",
        default_tz: str = "Europe/London",
        scopes: str = _DEFAULT_SCOPES,
        start_timeout: float = 10.0,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.default_tz = default_tz
        self.scopes = scopes
        super().__init__(start_timeout)

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._canned: dict[str, deque[_Canned]] = {}
        self._delays: dict[str, deque[float]] = {}
        # Calls whose connection drops after Slack has done the work: (method, how many).
        self._drops: dict[str, int] = {}
        self.dropped: list[str] = []
        self._channels: dict[str, _Channel] = {}
        self._users: dict[str, _User] = {}
        self._views: dict[str, JsonDict] = {}
        self._ts_counter = 0
        self._id_counter = 0
        # Socket Mode: tickets issued by apps.connections.open, the open connections (used only
        # on the server's loop), and what the clients sent back.
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connections = 0
        self._socket_pings = 0
        self._socket_acks: list[JsonDict] = []
        self._socket_other: list[str] = []
        self._envelopes: list[JsonDict] = []

        self._handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.open": self._views_open,
            "users.info": self._users_info,
        }
        self.add_user(bot_user_id, name=bot_name, real_name=bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """The Web API base URL, as `WebClient(base_url=...)` takes it (with a trailing slash)."""
        if self._port is None:
            raise RuntimeError("SlackApiDouble is not running; call start() or use `with`")
        return f"http://127.0.0.1:{self._port}/api/"

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call received so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one Web API method (e.g. "chat.postMessage"), in arrival order."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def _timeout_message(self, timeout: float) -> str:
        methods = [c.method for c in self.calls]
        return f"condition not met within {timeout}s; calls so far: {methods}"

    # ------------------------------------------------------------------ fault injection

    def add_response(
        self,
        method: str,
        body: Mapping[str, Any],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this canned body (state untouched)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            queue = self._canned.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Canned(status, copy.deepcopy(dict(body)), dict(headers or {})))

    def fail_next(
        self, method: str, times: int = 1, status: int = 429, retry_after: int = 1
    ) -> None:
        """Rate-limit the next `times` calls of `method`: HTTP 429 with `Retry-After`."""
        self.add_response(
            method,
            _error("ratelimited"),
            status=status,
            headers={"Retry-After": str(retry_after)},
            times=times,
        )

    def error_next(self, method: str, error: str = "channel_not_found") -> None:
        """Answer the next call of `method` with `{"ok": false, "error": error}` (HTTP 200)."""
        self.add_response(method, _error(error))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds` (as usual otherwise)."""
        with self._lock:
            self._delays.setdefault(method, deque()).extend([seconds] * times)

    def drop_after_store(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` are carried out (a post is stored) but the
        connection drops before the answer: the caller cannot tell whether it worked."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + times

    async def _delay(self, method: str) -> None:
        with self._lock:
            queue = self._delays.get(method)
            seconds = queue.popleft() if queue else 0.0
        if seconds:
            await asyncio.sleep(seconds)

    def clear_faults(self) -> None:
        with self._lock:
            self._canned.clear()
            self._delays.clear()
            self._drops.clear()

    # ------------------------------------------------------------------ seeding and inspecting

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str | None = None,
        is_bot: bool = False,
    ) -> None:
        """Register (or update) a user for `users.info`. Unregistered user IDs still resolve,
        with a generated name and the default time zone."""
        with self._lock:
            current = self._users.get(user_id)
            base_name = name or (current.name if current else user_id.lower())
            self._users[user_id] = _User(
                id=user_id,
                name=base_name,
                real_name=real_name or (current.real_name if current else f"User {user_id}"),
                tz=tz or (current.tz if current else self.default_tz),
                is_bot=is_bot or (current.is_bot if current else False),
            )

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        is_private: bool = False,
        members: list[str] | tuple[str, ...] = (),
    ) -> str:
        """Create a channel directly (as if it already existed in the workspace); returns its ID.
        The bot user is always a member."""
        with self._lock:
            cid = channel_id or self._new_id("C")
            all_members = [self.bot_user_id, *(m for m in members if m != self.bot_user_id)]
            self._channels[cid] = _Channel(
                id=cid,
                name=name,
                is_private=is_private,
                created=int(time.time()),
                creator=self.bot_user_id,
                members=all_members,
            )
            return cid

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
    ) -> str:
        """Store a message as if a person had posted it (e.g. the one an event refers to);
        returns its ts."""
        with self._lock:
            chan = self._ensure_channel(channel)
            assert chan is not None
            ts = self._next_ts()
            message: JsonDict = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                "team": self.team_id,
            }
            if blocks is not None:
                message["blocks"] = copy.deepcopy(blocks)
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            self._store_message(chan, message, thread_ts)
            return ts

    def messages(self, channel: str, *, thread_ts: str | None = None) -> list[JsonDict]:
        """Copies of the stored messages of a channel (all of them, oldest first), or of one
        thread (parent first) when `thread_ts` is given. Metadata is always included."""
        with self._lock:
            chan = self._channels.get(channel)
            if chan is None:
                return []
            found = chan.messages
            if thread_ts is not None:
                found = [
                    m for m in found if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
                ]
            return copy.deepcopy(found)

    def members_of(self, channel: str) -> list[str]:
        with self._lock:
            chan = self._channels.get(channel)
            return list(chan.members) if chan else []

    def channel_id(self, name: str) -> str | None:
        """The ID of the channel with this name, if any."""
        with self._lock:
            return next((c.id for c in self._channels.values() if c.name == name), None)

    def channel_info(self, channel: str) -> JsonDict | None:
        with self._lock:
            chan = self._channels.get(channel)
            return chan.to_json() if chan else None

    # ------------------------------------------------------------------ Socket Mode

    @property
    def socket_url(self) -> str:
        """The websocket endpoint `apps.connections.open` hands out (without its ticket)."""
        return f"ws://127.0.0.1:{self.port}{_SOCKET_PATH}"

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections were accepted so far."""
        with self._lock:
            return self._socket_connections

    @property
    def open_sockets(self) -> int:
        """How many Socket Mode connections are open now."""
        with self._lock:
            return sum(1 for ws in self._sockets if not ws.closed)

    @property
    def socket_pings(self) -> int:
        """How many websocket pings the clients sent (each answered with a pong)."""
        with self._lock:
            return self._socket_pings

    @property
    def socket_acks(self) -> list[JsonDict]:
        """Copies of the acknowledgements the clients sent (`{"envelope_id", "payload"?}`), in
        arrival order."""
        with self._lock:
            return copy.deepcopy(self._socket_acks)

    @property
    def socket_envelopes(self) -> list[JsonDict]:
        """Copies of the envelopes sent so far with `send_envelope`, in order."""
        with self._lock:
            return copy.deepcopy(self._envelopes)

    def acks_for(self, envelope_id: str) -> list[JsonDict]:
        """The acknowledgements received for one envelope (normally one)."""
        with self._lock:
            return [
                copy.deepcopy(a) for a in self._socket_acks if a.get("envelope_id") == envelope_id
            ]

    def send_envelope(
        self,
        type: str,
        payload: Mapping[str, Any] | str,
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Push a Socket Mode envelope to the newest open connection; returns its envelope_id.

        `type` is "slash_commands", "events_api" or "interactive"; `payload` is a dict, or a body
        from `tests.slack_signing` (decoded with `socket_payload`). `accepts_response_payload`
        defaults to what Slack sends for that kind of payload; `retry_attempt` / `retry_reason`
        are left out unless given. Waits up to `timeout` seconds for a connection to be open.
        Thread-safe; must not be called from the double's own thread.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError("SlackApiDouble is not running")
        if threading.current_thread() is thread:
            raise RuntimeError("send_envelope would block the double's own event loop")
        body = socket_payload(payload)
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive" and body.get("type") in _RESPONSE_PAYLOAD_INTERACTIONS
            )
        with self._lock:
            if envelope_id is None:
                self._id_counter += 1
                envelope_id = f"00000000-0000-4000-a000-{self._id_counter:012d}"
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "payload": body,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
        if retry_reason is not None:
            envelope["retry_reason"] = retry_reason
        future = asyncio.run_coroutine_threadsafe(self._send_envelope(envelope, timeout), loop)
        try:
            future.result(timeout + 1.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise AssertionError(f"could not send envelope {envelope_id} in {timeout}s") from None
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> JsonDict:
        """Block until the client acknowledged `envelope_id`, and return the (first) ack.

        From a coroutine on the loop that runs the Socket Mode client, use `wait_for_ack_async`.
        Raises AssertionError after `timeout` seconds."""
        acks = self.wait_for(lambda: self.acks_for(envelope_id), timeout)
        return acks[0]

    async def wait_for_ack_async(self, envelope_id: str, timeout: float = 10.0) -> JsonDict:
        """Like `wait_for_ack`, but sleeps with asyncio so the caller's event loop keeps running."""
        acks = await self.wait_for_async(lambda: self.acks_for(envelope_id), timeout)
        return acks[0]

    # ------------------------------------------------------------------ HTTP plumbing

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/api/{method}", self._handle)
        app.router.add_route("POST", "/api/{method}", self._handle)
        app.router.add_route("POST", "/response/{rest:.*}", self._response_url)
        app.router.add_get(_SOCKET_PATH, self._socket)
        return app

    @property
    def response_url_base(self) -> str:
        """Where `response_url`s in test payloads point; a reply there is recorded as a call of
        the pseudo-method `response_url` (as Slack's hooks endpoint would take it)."""
        return f"http://127.0.0.1:{self.port}/response/"

    async def _response_url(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body = json.loads(raw) if raw.strip() else {}
        with self._lock:
            self._calls.append(
                Call(method="response_url", args={"path": request.path, **body}, token=None)
            )
            queue = self._canned.get("response_url")
            canned = queue.popleft() if queue else None
        if canned is not None:
            return self._respond(canned.status, canned.body, canned.headers)
        return web.Response(text="ok", content_type="text/html")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await self._delay(method)
        args: JsonDict = dict(request.query)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None

        content_type = request.content_type
        if request.method == "POST" and request.can_read_body:
            if content_type == "application/json":
                raw = await request.text()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError:
                    return self._respond(200, _error("invalid_json"))
                if isinstance(body, dict):
                    args.update(body)
            else:
                form = await request.post()
                for key, field_value in form.items():
                    if isinstance(field_value, str):
                        args[key] = field_value
        if "token" in args:
            form_token = args.pop("token")
            token = token or (str(form_token) or None)
        for key in _JSON_FIELDS:
            value = args.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("{", "["):
                with contextlib.suppress(json.JSONDecodeError):
                    args[key] = json.loads(value)

        with self._lock:
            self._calls.append(Call(method=method, args=copy.deepcopy(args), token=token))
            queue = self._canned.get(method)
            canned = queue.popleft() if queue else None
            if canned is not None:
                return self._respond(canned.status, canned.body, canned.headers)
            if method == "apps.connections.open":
                return self._respond(200, self._apps_connections_open(token))
            if token is None:
                return self._respond(200, _error("not_authed"))
            if not token.startswith("xox"):
                return self._respond(200, _error("invalid_auth"))
            handler = self._handlers.get(method)
            if handler is None:
                return self._respond(200, _error("unknown_method", req_method=method))
            answer = handler(args)
            if self._drops.get(method):
                self._drops[method] -= 1
                self.dropped.append(method)
                if request.transport is not None:
                    request.transport.close()
            return self._respond(200, answer)

    def _respond(
        self, status: int, body: JsonDict, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        all_headers = {"X-OAuth-Scopes": self.scopes, **(headers or {})}
        return web.Response(
            status=status,
            text=json.dumps(body),
            content_type="application/json",
            charset="utf-8",
            headers=all_headers,
        )

    # ------------------------------------------------------------------ Socket Mode plumbing

    def _apps_connections_open(self, token: str | None) -> JsonDict:
        """`apps.connections.open`: only an app-level token may open a connection."""
        if token is None:
            return _error("not_authed")
        if not token.startswith("xapp-"):
            return _error("not_allowed_token_type" if token.startswith("xox") else "invalid_auth")
        ticket = self._new_id("ticket-")
        self._tickets.add(ticket)
        return {"ok": True, "url": f"{self.socket_url}?ticket={ticket}&app_id={self.app_id}"}

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known = request.query.get("ticket") in self._tickets
        if not known:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(
            autoping=False, max_msg_size=_SOCKET_MAX_MESSAGE, timeout=_SOCKET_CLOSE_TIMEOUT
        )
        await ws.prepare(request)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-double",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        with self._lock:
            self._sockets.append(ws)
            self._socket_connections += 1
        try:
            while not ws.closed:
                message = await ws.receive()
                if message.type == WSMsgType.PING:
                    with self._lock:
                        self._socket_pings += 1
                    await ws.pong(message.data)
                elif message.type == WSMsgType.TEXT:
                    self._record_socket_message(str(message.data))
                elif message.type in _SOCKET_ENDS:
                    break
                # PONG and BINARY frames carry nothing for Socket Mode.
        finally:
            with self._lock:
                if ws in self._sockets:
                    self._sockets.remove(ws)
        return ws

    def _record_socket_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            message = None
        with self._lock:
            if isinstance(message, dict) and message.get("envelope_id"):
                self._socket_acks.append(message)
            else:
                self._socket_other.append(raw)

    async def _send_envelope(self, envelope: JsonDict, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                open_sockets = [ws for ws in self._sockets if not ws.closed]
            if open_sockets:
                break
            if time.monotonic() >= deadline:
                raise AssertionError(f"no Socket Mode connection open within {timeout}s")
            await asyncio.sleep(0.01)
        await open_sockets[-1].send_str(json.dumps(envelope))
        with self._lock:
            self._envelopes.append(copy.deepcopy(envelope))

    async def _before_stop(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    ws.close(code=WSCloseCode.GOING_AWAY, message=b"double stopping"),
                    _SOCKET_CLOSE_TIMEOUT + 1.0,
                )

    # ------------------------------------------------------------------ state helpers
    # (called with self._lock held)

    def _next_ts(self) -> str:
        micros = _TS_BASE_MICROS + self._ts_counter * _TS_STEP_MICROS
        self._ts_counter += 1
        seconds, fraction = divmod(micros, 1_000_000)
        return f"{seconds}.{fraction:06d}"

    def _new_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:08d}"

    def _ensure_channel(self, channel: Any) -> _Channel | None:
        """The channel a message call names: by ID (an unknown well-formed ID is taken to be an
        existing conversation the bot is in) or by name ("#name" or "name")."""
        if not isinstance(channel, str) or not channel:
            return None
        chan = self._channels.get(channel)
        if chan is not None:
            return chan
        name = channel.removeprefix("#")
        for candidate in self._channels.values():
            if candidate.name == name and not candidate.is_im:
                return candidate
        if _CHANNEL_ID.match(channel):
            chan = _Channel(
                id=channel,
                name=channel.lower(),
                is_private=channel.startswith("G"),
                created=int(time.time()),
                creator=self.bot_user_id,
                members=[self.bot_user_id],
                is_im=channel.startswith("D"),
            )
            self._channels[channel] = chan
            return chan
        return None

    def _find_message(self, chan: _Channel, ts: str) -> JsonDict | None:
        return next((m for m in chan.messages if m["ts"] == ts), None)

    def _store_message(self, chan: _Channel, message: JsonDict, thread_ts: str | None) -> None:
        if thread_ts and thread_ts != message["ts"]:
            message["thread_ts"] = thread_ts
            parent = self._find_message(chan, thread_ts)
            if parent is not None:
                message["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                reply_users = list(parent.get("reply_users", []))
                if message.get("user") and message["user"] not in reply_users:
                    reply_users.append(message["user"])
                parent["reply_users"] = reply_users
                parent["reply_users_count"] = len(reply_users)
                parent["latest_reply"] = message["ts"]
        chan.messages.append(message)

    def _bot_message(self, text: str, ts: str) -> JsonDict:
        return {
            "type": "message",
            "subtype": "bot_message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": ts,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "deleted": False,
                "updated": 1700000000,
                "team_id": self.team_id,
            },
        }

    @staticmethod
    def _present(message: JsonDict, include_metadata: bool) -> JsonDict:
        shown = copy.deepcopy(message)
        if not include_metadata:
            shown.pop("metadata", None)
        return shown

    @staticmethod
    def _page(items: list[T], args: JsonDict) -> tuple[list[T], bool, str]:
        limit = max(1, min(_int_arg(args.get("limit"), 100), 1000))
        cursor = str(args.get("cursor") or "")
        start = _int_arg(cursor.removeprefix("offset:"), 0) if cursor else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        return page, more, f"offset:{start + limit}" if more else ""

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _conversations_create(self, args: JsonDict) -> JsonDict:
        name = str(args.get("name") or "")
        problem = _channel_name_error(name)
        if problem is not None:
            return _error(problem)
        if self.channel_id(name) is not None:
            return _error("name_taken")
        cid = self.add_channel(name, is_private=_truthy(args.get("is_private", False)))
        return {"ok": True, "channel": self._channels[cid].to_json()}

    def _conversations_invite(self, args: JsonDict) -> JsonDict:
        chan = self._channels.get(str(args.get("channel") or ""))
        if chan is None or chan.is_im:
            return _error("channel_not_found")
        users = _split_users(args.get("users"))
        if not users:
            return _error("no_user")
        problems = []
        for user in users:
            if user == self.bot_user_id:
                problems.append({"user": user, "ok": False, "error": "cant_invite_self"})
            elif user in chan.members:
                problems.append({"user": user, "ok": False, "error": "already_in_channel"})
        if problems and not _truthy(args.get("force", False)):
            return _error(str(problems[0]["error"]), errors=problems)
        for user in users:
            if user not in chan.members and user != self.bot_user_id:
                chan.members.append(user)
        return {"ok": True, "channel": chan.to_json()}

    def _conversations_members(self, args: JsonDict) -> JsonDict:
        chan = self._channels.get(str(args.get("channel") or ""))
        if chan is None:
            return _error("channel_not_found")
        page, _, cursor = self._page(chan.members, args)
        return {"ok": True, "members": list(page), "response_metadata": {"next_cursor": cursor}}

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        channel_arg = args.get("channel")
        if channel_arg:
            chan = self._channels.get(str(channel_arg))
            if chan is None:
                return _error("channel_not_found")
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": chan.id}}
        users = [u for u in _split_users(args.get("users")) if u != self.bot_user_id]
        if not users:
            return _error("users_list_not_supplied")
        wanted = {self.bot_user_id, *users}
        is_mpim = len(users) > 1
        full = _truthy(args.get("return_im"))
        for chan in self._channels.values():
            if (chan.is_im or chan.is_mpim) and set(chan.members) == wanted:
                shown = chan.to_json() if full else {"id": chan.id}
                return {"ok": True, "no_op": True, "already_open": True, "channel": shown}
        cid = self._new_id("G" if is_mpim else "D")
        chan = _Channel(
            id=cid,
            name=f"mpdm-{'--'.join(sorted(wanted))}-1" if is_mpim else cid.lower(),
            is_private=True,
            created=int(time.time()),
            creator=self.bot_user_id,
            members=[self.bot_user_id, *users],
            is_im=not is_mpim,
            is_mpim=is_mpim,
        )
        self._channels[cid] = chan
        return {"ok": True, "channel": chan.to_json() if full else {"id": cid}}

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        chan = self._channels.get(str(args.get("channel") or ""))
        if chan is None:
            return _error("channel_not_found")
        include = _truthy(args.get("include_all_metadata", False))
        top_level = [m for m in chan.messages if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
        newest_first = sorted(top_level, key=lambda m: str(m["ts"]), reverse=True)
        page, more, cursor = self._page(newest_first, args)
        return {
            "ok": True,
            "messages": [self._present(m, include) for m in page],
            "has_more": more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        chan = self._channels.get(str(args.get("channel") or ""))
        if chan is None:
            return _error("channel_not_found")
        ts = str(args.get("ts") or "")
        parent = self._find_message(chan, ts)
        if parent is not None and parent.get("thread_ts") not in (None, ts):
            # Asked for a reply's ts: Slack answers with that thread.
            ts = str(parent["thread_ts"])
            parent = self._find_message(chan, ts)
        replies = [m for m in chan.messages if m.get("thread_ts") == ts and m["ts"] != ts]
        if parent is None and not replies:
            return _error("thread_not_found")
        thread = ([parent] if parent is not None else []) + sorted(
            replies, key=lambda m: str(m["ts"])
        )
        include = _truthy(args.get("include_all_metadata", False))
        page, more, cursor = self._page(thread, args)
        return {
            "ok": True,
            "messages": [self._present(m, include) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        chan = self._ensure_channel(args.get("channel"))
        if chan is None:
            return _error("channel_not_found")
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if not text and not blocks and not attachments:
            return _error("no_text")
        ts = self._next_ts()
        message = self._bot_message(str(text or ""), ts)
        if blocks:
            message["blocks"] = copy.deepcopy(blocks)
        if attachments:
            message["attachments"] = copy.deepcopy(attachments)
        metadata = args.get("metadata")
        if isinstance(metadata, dict) and metadata.get("event_type"):
            message["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": copy.deepcopy(metadata.get("event_payload", {})),
            }
        thread_ts = args.get("thread_ts")
        self._store_message(chan, message, str(thread_ts) if thread_ts else None)
        return {"ok": True, "channel": chan.id, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        chan = self._ensure_channel(args.get("channel"))
        if chan is None:
            return _error("channel_not_found")
        if not args.get("user"):
            return _error("user_not_found")
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return _error("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        chan = self._channels.get(str(args.get("channel") or ""))
        if chan is None:
            return _error("channel_not_found")
        message = self._find_message(chan, str(args.get("ts") or ""))
        if message is None:
            return _error("message_not_found")
        if message.get("user") != self.bot_user_id:
            return _error("cant_update_message")
        if "text" in args:
            message["text"] = str(args["text"] or "")
        if "blocks" in args:
            message["blocks"] = copy.deepcopy(args["blocks"])
        if "attachments" in args:
            message["attachments"] = copy.deepcopy(args["attachments"])
        metadata = args.get("metadata")
        if isinstance(metadata, dict) and metadata.get("event_type"):
            message["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": copy.deepcopy(metadata.get("event_payload", {})),
            }
        edited_ts = f"{int(float(self._next_ts()))}.000000"
        message["edited"] = {"user": self.bot_user_id, "ts": edited_ts}
        return {
            "ok": True,
            "channel": chan.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _views_open(self, args: JsonDict) -> JsonDict:
        if not args.get("trigger_id"):
            return _error("invalid_arguments")
        view = args.get("view")
        if not isinstance(view, dict) or not view.get("type"):
            return _error("invalid_arguments")
        view_id = self._new_id("V")
        opened: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(float(self._next_ts()))}.{view_id.lower()}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = opened
        return {"ok": True, "view": copy.deepcopy(opened)}

    def _users_info(self, args: JsonDict) -> JsonDict:
        user_id = str(args.get("user") or "")
        if not user_id:
            return _error("user_not_found")
        user = self._users.get(user_id) or _User(
            id=user_id,
            name=user_id.lower(),
            real_name=f"User {user_id}",
            tz=self.default_tz,
        )
        zone = ZoneInfo(user.tz)
        now = datetime.now(UTC).astimezone(zone)
        offset = now.utcoffset()
        profile: JsonDict = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.name,
            "display_name_normalized": user.name,
            "team": self.team_id,
        }
        if user.is_bot:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = self.app_id
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "deleted": False,
                "color": "9f69e7",
                "real_name": user.real_name,
                "tz": user.tz,
                "tz_label": now.tzname() or user.tz,
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
                "profile": profile,
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "updated": 1700000000,
            },
        }
