"""The Slack app on slack-bolt: listeners that acknowledge at once and hand the work on.

Bolt runs with `process_before_response=True`, so Slack's HTTP request is answered as soon as a
listener returns; each listener calls `ack()` first and leaves the engine, the database and the
Web API to a task that runs after the answer has gone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import (
    CHOICE_PREFIX,
    SCHEDULE_FORM,
    action_modal,
    schedule_modal,
    slack_times,
)
from adapters.slack.clients import ClientBook
from adapters.slack.deliver import SlackDeliverer
from adapters.slack.inbound import (
    Origin,
    chosen,
    pressed,
    schedule_request,
    thread_message,
    who,
)
from bot import commands
from bot.app import Peerset
from bot.commands import whole_number
from bot.engine.events import MessagePosted, RecordAction
from bot.service.desk import Answer, Caller, SpaceError
from bot.service.runtime import ChatRuntime
from bot.settings import SlackSettings

log = logging.getLogger(__name__)

PLATFORM = "slack"
SORRY = "Something went wrong on Peerset's side; nothing you wrote is lost. Please try again."
# What a call to Slack can fail with: an error answer (a 429 too), no connection, no answer in time.
SLACK_FAILURES = (SlackApiError, aiohttp.ClientError, TimeoutError)
# The schedule form's first guess at a set's time zone when Slack does not say the member's.
DEFAULT_ZONE = "Europe/London"


class SlackSpaces:
    """A set's private space on Slack: a private channel."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def create(self, name: str, members: Sequence[str]) -> str:
        for attempt in range(1, 6):
            candidate = name if attempt == 1 else f"{name[:76]}-{attempt}"
            try:
                made = self.client.conversations_create(name=candidate, is_private=True)
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken":
                    continue
                raise SpaceError(_refusal("create the private channel", exc)) from None
            channel = str(made["channel"]["id"])
            try:
                self.client.conversations_invite(channel=channel, users=",".join(members))
            except SlackApiError as exc:
                raise SpaceError(_refusal("invite the members", exc)) from None
            return channel
        raise SpaceError(f"Slack has channels called {name} to {name}-5 already; pick a new name.")

    def invite(self, space_id: str, member: str) -> None:
        try:
            self.client.conversations_invite(channel=space_id, users=member)
        except SlackApiError as exc:
            if exc.response.get("error") == "already_in_channel":
                return  # already there: what was asked for
            raise SpaceError(_refusal("invite them to the channel", exc)) from None

    def remove(self, space_id: str, member: str) -> None:
        try:
            self.client.conversations_kick(channel=space_id, user=member)
        except SlackApiError as exc:
            if exc.response.get("error") == "not_in_channel":
                return  # gone already: what was asked for
            raise SpaceError(_refusal("remove them from the channel", exc)) from None


def _refusal(what: str, exc: SlackApiError) -> str:
    error = exc.response.get("error", "an error")
    hint = (
        " (reinstall the app with the scopes in its manifest)" if error == "missing_scope" else ""
    )
    return f"Slack would not let Peerset {what}: {error}{hint}."


class SlackRuntime(ChatRuntime):
    """The shared runtime, with Slack's settings and its workspaces' Web API clients."""

    def __init__(self, root: Peerset, slack: SlackSettings, clients: ClientBook) -> None:
        super().__init__(
            PLATFORM,
            desk=root.desk,
            dispatcher=root.dispatcher(PLATFORM, SlackDeliverer(clients)),
            scheduler=root.worker,
        )
        self.slack = slack
        self.clients = clients


def build_app(runtime: SlackRuntime, oauth_settings: AsyncOAuthSettings | None = None) -> AsyncApp:
    slack = runtime.slack
    token = None if oauth_settings else slack.bot_token
    app = AsyncApp(
        signing_secret=slack.signing_secret or "",
        client=AsyncWebClient(token=token, base_url=slack.api_url),
        oauth_settings=oauth_settings,
        process_before_response=True,
    )

    @app.command("/peer")
    async def peer(
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        respond: Callable[..., Awaitable[Any]],
        client: AsyncWebClient,
    ) -> None:
        text = str(body.get("text") or "")
        team, user = str(body.get("team_id")), str(body.get("user_id"))
        if text.strip().lower() == "schedule":
            # Alone, it opens a form; with words after it, it is a command like any other.
            await ack()
            origin = Origin(str(body.get("channel_id")), str(body.get("response_url")))
            runtime.spawn(
                _open_schedule(runtime, client, respond, str(body.get("trigger_id")), user, origin)
            )
            return
        request = commands.parse(text)
        # What needs no database is answered in the ack itself.
        if isinstance(request, commands.Problem):
            await ack(response_type="ephemeral", text=request.message)
            return
        if isinstance(request, commands.Help):
            await ack(response_type="ephemeral", text=commands.USAGE)
            return
        if isinstance(request, commands.Protocols):
            names = ", ".join(runtime.desk.protocol_names())
            await ack(response_type="ephemeral", text=f"Protocols: {names}")
            return
        await ack()
        caller = Caller(
            platform=PLATFORM,
            tenant=team,
            space_id=str(body.get("channel_id")),
            member=user,
            event_key=f"slack:{team}:command:{body.get('trigger_id')}",
        )
        runtime.spawn(
            _answer(
                runtime, respond, lambda: _desk_answer(runtime, request, caller), f"/peer {text}"
            )
        )

    @app.event("message")
    async def message(body: dict[str, Any]) -> None:
        said = thread_message(body)
        if said is None:
            return
        runtime.spawn(
            runtime.in_thread(
                said.team_id,
                said.channel,
                said.thread_ts,
                MessagePosted(said.user, said.text),
                said.event_key,
            )
        )

    # Bolt runs the first listener that matches: answers to notices before session buttons.
    @app.action(re.compile(f"^{CHOICE_PREFIX}"))
    async def choose(
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        press = chosen(body)
        if press is None:
            return
        caller = Caller(
            platform=PLATFORM,
            tenant=press.team_id,
            space_id=press.channel,
            member=press.user,
            event_key=press.event_key,
        )
        runtime.spawn(
            _answer(
                runtime,
                # A new message for the member alone, the notice left as everyone sees it.
                lambda **reply: respond(replace_original=False, **reply),
                lambda: runtime.desk.choose(caller, press.choice, press.subject),
                f"pressing {press.choice.value}",
            )
        )

    @app.action(re.compile(r"^peerset_"))
    async def button(
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        press = pressed(body)
        if press is None:
            return
        if press.name == "action":
            # Bolt answers Slack only once this returns: the Web API call goes on after that.
            runtime.spawn(
                _open_view(
                    client,
                    lambda **reply: respond(replace_original=False, **reply),
                    press.trigger_id,
                    action_modal(press.session_id),
                    "the action form",
                )
            )
            return
        event = commands.pressed(press.name, press.user)
        if event is not None:
            runtime.spawn(runtime.step(press.team_id, press.session_id, event, press.event_key))

    @app.view("peerset_record_action")
    async def record(
        ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        value = ((view.get("state") or {}).get("values") or {}).get("action", {}).get("text", {})
        text = str(value.get("value") or "").strip()
        if not text:
            await ack(
                response_action="errors", errors={"action": "Write the action you will take."}
            )
            return
        session_id = whole_number(str(view.get("private_metadata") or ""))
        await ack()
        if session_id is None:
            log.warning("an action form came back without its session")
            return
        team, user = who(body)
        key = f"slack:{team}:view:{view.get('id')}:{view.get('hash')}"
        runtime.spawn(runtime.step(team, session_id, RecordAction(user, text), key))

    @app.view(SCHEDULE_FORM)
    async def schedule(
        ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        origin = Origin.load(str(view.get("private_metadata") or ""))
        request = schedule_request(view)
        if isinstance(request, dict):
            await ack(response_action="errors", errors=request)
            return
        await ack()
        if origin is None:
            log.warning("a schedule form came back without where it was opened")
            return
        team, user = who(body)
        caller = Caller(
            platform=PLATFORM,
            tenant=team,
            space_id=origin.channel,
            member=user,
            event_key=f"slack:{team}:view:{view.get('id')}:{view.get('hash')}",
        )
        # The form has no response_url of its own: the answer goes to the command's (Slack keeps
        # it for 30 minutes; the set's channel shows a schedule that was set in any case).
        webhook = AsyncWebhookClient(origin.response_url)
        runtime.spawn(
            _answer(
                runtime,
                lambda **reply: webhook.send_dict(reply),
                lambda: _desk_answer(runtime, request, caller),
                "the schedule form",
            )
        )

    return app


def _desk_answer(runtime: SlackRuntime, request: commands.Request, caller: Caller) -> Answer:
    spaces = SlackSpaces(runtime.clients.for_team(caller.tenant))
    return runtime.desk.answer(request, caller, spaces)


async def _answer(
    runtime: SlackRuntime,
    respond: Callable[..., Awaitable[WebhookResponse]],
    work: Callable[[], Answer],
    what: str,
) -> None:
    """Run the desk off the event loop, then answer the member alone, its times in Slack's
    date formatting."""
    try:
        reply = await asyncio.to_thread(work)
    except Exception:
        log.exception("%s failed", what)
        await _tell(respond, SORRY, what)
        return
    runtime.wake()
    await _tell(respond, slack_times(reply.text), what)


async def _tell(respond: Callable[..., Awaitable[WebhookResponse]], text: str, what: str) -> None:
    """Answer the member alone at the response URL. Slack refusing it, or not being reached, is
    Slack's trouble and not ours: one line in the log, no traceback."""
    try:
        sent = await respond(response_type="ephemeral", text=text)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not answer %s: %s", what, exc or type(exc).__name__)
        return
    if sent.status_code != 200:
        log.warning("could not answer %s: Slack said %s %s", what, sent.status_code, sent.body)


async def _open_schedule(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    respond: Callable[..., Awaitable[Any]],
    trigger_id: str,
    user: str,
    origin: Origin,
) -> None:
    """Open the schedule form, its time zone the member's own if Slack knows it."""
    try:
        zone = str((await client.users_info(user=user))["user"].get("tz") or DEFAULT_ZONE)
    except SLACK_FAILURES:
        zone = DEFAULT_ZONE
    view = schedule_modal(origin.dump(), zone, runtime.desk.settings)
    await _open_view(client, respond, trigger_id, view, "the schedule form")


async def _open_view(
    client: AsyncWebClient,
    respond: Callable[..., Awaitable[WebhookResponse]],
    trigger_id: str,
    view: dict[str, Any],
    what: str,
) -> None:
    """Open a form; if Slack will not, tell the member alone."""
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log.warning("could not open %s: %s", what, exc or type(exc).__name__)
        await _tell(respond, SORRY, f"{what} (it did not open)")
