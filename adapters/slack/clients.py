"""Which Web API client speaks for which workspace: one bot token, or the OAuth installations."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import InstallationStore
from sqlalchemy import Engine

from bot.service.directory import tenant_of_set
from bot.settings import SlackSettings

# Slack answers 429 with Retry-After; slack_sdk waits that long and tries again. A post that still
# fails stays in Peerset's outbox and is retried with backoff.
RETRIES = 3


class ClientBook:
    def __init__(
        self, engine: Engine, slack: SlackSettings, installations: InstallationStore | None = None
    ) -> None:
        self.slack = slack
        self.installations = installations
        self.engine = engine
        self._clients: dict[str, WebClient] = {}

    def client(self, token: str) -> WebClient:
        if token not in self._clients:
            self._clients[token] = WebClient(
                token=token,
                base_url=self.slack.api_url,
                # A rate-limited call was not carried out, so sending it again is safe. A dropped
                # connection is not retried here: the post may have been stored, and only the
                # outbox, which asks Slack first, may send it again.
                retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RETRIES)],
            )
        return self._clients[token]

    def for_team(self, team_id: str) -> WebClient:
        if self.installations is None:
            assert self.slack.bot_token is not None
            return self.client(self.slack.bot_token)
        bot = self.installations.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            raise LookupError(f"Peerset is not installed in workspace {team_id}")
        return self.client(bot.bot_token)

    def for_set(self, set_id: int) -> WebClient:
        """The client of the workspace a set belongs to: every delivery, a session's or a
        meeting notice's, belongs to a set."""
        return self.for_team(tenant_of_set(self.engine, set_id))
