"""The Slack Web API double and the request-signing helpers behave like Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt import App
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_double import SlackApiDouble
from tests.slack_signing import (
    block_actions_body,
    event_body,
    message_event,
    post,
    signed_bolt_request,
    signed_headers,
    slash_command_body,
    view_submission_body,
)

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"


@pytest.fixture
def slack() -> Iterator[SlackApiDouble]:
    with SlackApiDouble() as double:
        yield double


@pytest.fixture
def client(slack: SlackApiDouble) -> WebClient:
    return WebClient(base_url=slack.base_url, token=TOKEN)


def test_base_url_is_local_with_trailing_slash(slack: SlackApiDouble) -> None:
    assert slack.base_url == f"http://127.0.0.1:{slack.port}/api/"


def test_auth_test_identifies_the_bot(slack: SlackApiDouble, client: WebClient) -> None:
    response = client.auth_test()

    assert response["ok"] is True
    assert response["team_id"] == "T0001"
    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "B0001"
    assert response["url"].startswith("https://")
    assert {"team", "user"} <= set(response.data)
    assert slack.calls_to("auth.test")[0].token == TOKEN


def test_missing_token_is_not_authed(slack: SlackApiDouble) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=slack.base_url).auth_test()
    assert caught.value.response["error"] == "not_authed"


def test_private_channel_is_created_once(slack: SlackApiDouble, client: WebClient) -> None:
    created = client.conversations_create(name="peer-set-1", is_private=True)

    channel = created["channel"]
    assert channel["id"].startswith("C")
    assert channel["is_private"] is True
    assert channel["name"] == "peer-set-1"
    assert slack.channel_id("peer-set-1") == channel["id"]

    with pytest.raises(SlackApiError) as caught:
        client.conversations_create(name="peer-set-1", is_private=True)
    assert caught.value.response.data == {"ok": False, "error": "name_taken"}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Peer-Set", "invalid_name_specials"),
        ("peer set", "invalid_name_specials"),
        ("peer.set", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("---", "invalid_name_punctuation"),
    ],
)
def test_channel_names_are_validated(client: WebClient, name: str, error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.conversations_create(name=name)
    assert caught.value.response["error"] == error


def test_invite_and_members(slack: SlackApiDouble, client: WebClient) -> None:
    channel_id = client.conversations_create(name="set-a", is_private=True)["channel"]["id"]

    invited = client.conversations_invite(channel=channel_id, users=["U1", "U2"])

    assert invited["channel"]["id"] == channel_id
    assert slack.calls_to("conversations.invite")[0].args["users"] == "U1,U2"
    members = client.conversations_members(channel=channel_id)["members"]
    assert members == ["UBOT", "U1", "U2"]
    with pytest.raises(SlackApiError) as caught:
        client.conversations_invite(channel="C404", users="U1")
    assert caught.value.response["error"] == "channel_not_found"


def test_thread_with_metadata_reads_back(slack: SlackApiDouble, client: WebClient) -> None:
    channel_id = client.conversations_create(name="set-b", is_private=True)["channel"]["id"]
    parent = client.chat_postMessage(
        channel=channel_id,
        text="Session started",
        metadata={"event_type": "peerset_session", "event_payload": {"session_id": "s1"}},
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Round 1"}}]
    reply = client.chat_postMessage(
        channel=channel_id,
        thread_ts=parent["ts"],
        text="Round 1",
        blocks=blocks,
        metadata={"event_type": "peerset_step", "event_payload": {"step": 1}},
    )

    assert parent["channel"] == channel_id
    assert float(reply["ts"]) > float(parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert slack.calls_to("chat.postMessage")[1].args["blocks"] == blocks

    thread = client.conversations_replies(
        channel=channel_id, ts=parent["ts"], include_all_metadata=True
    )["messages"]
    assert [m["ts"] for m in thread] == [parent["ts"], reply["ts"]]
    assert thread[0]["metadata"] == {
        "event_type": "peerset_session",
        "event_payload": {"session_id": "s1"},
    }
    assert thread[0]["reply_count"] == 1
    assert thread[1]["metadata"]["event_payload"] == {"step": 1}
    assert thread[1]["blocks"] == blocks

    plain = client.conversations_replies(channel=channel_id, ts=parent["ts"])["messages"]
    assert all("metadata" not in m for m in plain)

    history = client.conversations_history(channel=channel_id, include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    assert history["messages"][0]["metadata"]["event_type"] == "peerset_session"


def test_form_encoded_json_fields_are_decoded(slack: SlackApiDouble, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    metadata = {"event_type": "peerset_step", "event_payload": {"step": 2}}

    client.api_call(
        "chat.postMessage",
        params={
            "channel": "C0000002",
            "blocks": json.dumps(blocks),
            "metadata": json.dumps(metadata),
        },
    )

    call = slack.calls_to("chat.postMessage")[0]
    assert (call.args["blocks"], call.args["metadata"]) == (blocks, metadata)
    assert slack.messages("C0000002")[0]["metadata"] == metadata


def test_update_ephemeral_view_user_and_im(slack: SlackApiDouble, client: WebClient) -> None:
    slack.add_user("U7", real_name="Ada Lovelace", tz="America/New_York")
    posted = client.chat_postMessage(channel="C0000777", text="before")

    updated = client.chat_update(channel="C0000777", ts=posted["ts"], text="after")
    ephemeral = client.chat_postEphemeral(channel="C0000777", user="U7", text="only you")
    view = client.views_open(
        trigger_id="1.2.abc",
        view={"type": "modal", "callback_id": "join", "title": {"type": "plain_text", "text": "J"}},
    )
    user = client.users_info(user="U7")["user"]
    other = client.users_info(user="U8")["user"]
    im = client.conversations_open(users="U7")

    assert updated["message"]["text"] == "after"
    assert slack.messages("C0000777")[0]["text"] == "after"
    assert ephemeral["message_ts"] > posted["ts"]
    assert len(slack.messages("C0000777")) == 1
    assert view["view"]["id"].startswith("V")
    assert view["view"]["callback_id"] == "join"
    assert (user["tz"], user["real_name"]) == ("America/New_York", "Ada Lovelace")
    assert other["tz"] == "Europe/London"
    assert im["channel"]["id"].startswith("D")
    assert client.conversations_open(users="U7")["channel"]["id"] == im["channel"]["id"]


def test_unknown_method_and_error_next(slack: SlackApiDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("pins.add", params={"channel": "C1"})
    assert caught.value.response["error"] == "unknown_method"
    assert slack.calls_to("pins.add")[0].args == {"channel": "C1"}

    slack.error_next("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C0000001", text="x")
    assert caught.value.response.data == {"ok": False, "error": "not_in_channel"}
    assert client.chat_postMessage(channel="C0000001", text="x")["ok"] is True


def test_rate_limit_is_retried_by_the_handler(slack: SlackApiDouble) -> None:
    client = WebClient(
        base_url=slack.base_url,
        token=TOKEN,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    slack.fail_next("chat.postMessage", retry_after=0)

    response = client.chat_postMessage(channel="C0000001", text="hello")

    assert response["ok"] is True
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.messages("C0000001")) == 1


def test_rate_limit_without_handler_raises(slack: SlackApiDouble, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", times=1, retry_after=1)

    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C0000001", text="hello")

    response = caught.value.response
    assert response.status_code == 429
    assert response.data == {"ok": False, "error": "ratelimited"}
    retry_after = {k.lower(): v for k, v in response.headers.items()}["retry-after"]
    assert retry_after in ("1", ["1"])
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.messages("C0000001") == []


def test_rate_limit_retries_are_bounded(slack: SlackApiDouble) -> None:
    client = WebClient(
        base_url=slack.base_url,
        token=TOKEN,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("conversations.create", times=2, retry_after=0)

    with pytest.raises(SlackApiError) as caught:
        client.conversations_create(name="set-c")

    assert caught.value.response.status_code == 429
    assert len(slack.calls_to("conversations.create")) == 2


def test_async_client(slack: SlackApiDouble) -> None:
    async def scenario() -> None:
        client = AsyncWebClient(base_url=slack.base_url, token=TOKEN)
        assert (await client.auth_test())["user_id"] == "UBOT"
        created = await client.conversations_create(name="set-d", is_private=True)
        channel_id = created["channel"]["id"]
        parent = await client.chat_postMessage(
            channel=channel_id,
            text="hi",
            metadata={"event_type": "peerset_session", "event_payload": {"n": 1}},
        )
        replies = await client.conversations_replies(
            channel=channel_id, ts=parent["ts"], include_all_metadata=True
        )
        assert replies["messages"][0]["metadata"]["event_payload"] == {"n": 1}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                slack.base_url + "users.info",
                params={"user": "U1"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as raw,
        ):
            assert raw.headers["Content-Type"] == "application/json; charset=utf-8"
            assert (await raw.json())["user"]["tz"] == "Europe/London"

    asyncio.run(scenario())
    assert [c.method for c in slack.calls] == [
        "auth.test",
        "conversations.create",
        "chat.postMessage",
        "conversations.replies",
        "users.info",
    ]


def test_wait_for_polls_until_true_and_is_bounded(slack: SlackApiDouble) -> None:
    WebClient(base_url=slack.base_url, token=TOKEN).auth_test()

    assert slack.wait_for(lambda: slack.calls_to("auth.test"), timeout=1)[0].token == TOKEN
    with pytest.raises(AssertionError, match=r"calls so far: \['auth.test'\]"):
        slack.wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=0.1)


def test_signed_body_verifies_and_tampered_does_not() -> None:
    body = slash_command_body(text="start", user_id="U1")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    timestamp = headers["X-Slack-Request-Timestamp"]
    signature = headers["X-Slack-Signature"]

    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid(body, timestamp, signature)
    assert not verifier.is_valid(body.replace("start", "stop"), timestamp, signature)
    assert not SignatureVerifier("other-secret").is_valid(body, timestamp, signature)
    stale = signed_headers(SECRET, body, timestamp=int(timestamp) - 600)
    assert not verifier.is_valid(
        body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"]
    )


def test_slash_command_body_has_every_field() -> None:
    fields = {k: v[0] for k, v in parse_qs(slash_command_body(text="a b")).items()}
    assert set(fields) >= {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert (fields["command"], fields["text"]) == ("/peer", "a b")


def test_bolt_app_accepts_the_signed_requests(slack: SlackApiDouble) -> None:
    app = App(
        signing_secret=SECRET,
        client=WebClient(base_url=slack.base_url, token=TOKEN),
        process_before_response=True,
    )
    seen: dict[str, Any] = {}

    @app.command("/peer")
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        ack()
        seen["command"] = command

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        seen["event"] = event

    @app.action("join")
    def on_action(ack: Any, body: dict[str, Any]) -> None:
        ack()
        seen["action"] = body

    @app.view("join_view")
    def on_view(ack: Any, view: dict[str, Any]) -> None:
        ack()
        seen["view"] = view

    def send(body: str) -> int:
        return app.dispatch(signed_bolt_request(SECRET, body)).status

    assert send(slash_command_body(text="start", user_id="U1")) == 200
    event = message_event("C0000001", "U1", "hello", "1700000001.000100", thread_ts="1.0")
    assert send(event_body(event)) == 200
    assert send(block_actions_body(action_id="join", value="s1", thread_ts="1.0")) == 200
    state = {"b": {"a": {"type": "plain_text_input", "value": "Ada"}}}
    assert send(view_submission_body(callback_id="join_view", state_values=state)) == 200

    assert seen["command"]["text"] == "start"
    assert seen["event"]["thread_ts"] == "1.0"
    assert seen["action"]["actions"][0]["value"] == "s1"
    assert seen["action"]["container"]["thread_ts"] == "1.0"
    assert seen["view"]["state"]["values"]["b"]["a"]["value"] == "Ada"

    bad = slash_command_body()
    forged = app.dispatch(signed_bolt_request("wrong", bad))
    assert forged.status == 401


def test_post_helper_against_async_bolt_app(slack: SlackApiDouble) -> None:
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(base_url=slack.base_url, token=TOKEN),
    )

    @app.command("/peer")
    async def on_command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_postMessage(channel=command["channel_id"], text="ok")

    async def scenario() -> tuple[int, int]:
        async with TestServer(app.web_app()) as server, aiohttp.ClientSession() as session:
            url = str(server.make_url("/slack/events"))
            status, _ = await post(session, url, slash_command_body(channel_id="C0000009"), SECRET)
            await slack.wait_for_async(lambda: slack.calls_to("chat.postMessage"), timeout=5)
            forged, _ = await post(session, url, slash_command_body(), "wrong-secret")
            return status, forged

    assert asyncio.run(scenario()) == (200, 401)
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "C0000009"
    assert slack.messages("C0000009")[0]["text"] == "ok"
