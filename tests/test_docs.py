"""The README's settings tables and the Slack manifests say what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapters.slack.oauth import SCOPES
from bot.commands.table import markdown_table
from bot.settings import DiscordSettings, Settings, SlackSettings, env_var

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        if line.startswith("| `"):
            name = line.split("`")[1]
            rows[name] = line
    return rows


def test_every_setting_is_in_the_readme_with_its_description() -> None:
    rows = _table_rows()
    for name, field in Settings.model_fields.items():
        row = rows.get(env_var(name))
        assert row is not None, f"{env_var(name)} is missing from the README's settings table"
        assert (field.description or "") in row
    for field in [*SlackSettings.model_fields.values(), *DiscordSettings.model_fields.values()]:
        alias = str(field.validation_alias)
        assert alias in rows, f"{alias} is missing from the README's platform settings tables"
        assert (field.description or "") in rows[alias]


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest-http.yaml"])
def test_the_slack_manifests_ask_for_what_the_app_uses(name: str) -> None:
    manifest = yaml.safe_load((ROOT / "adapters" / "slack" / name).read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(SCOPES)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/peer" and command["should_escape"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["message.groups"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    http = name == "manifest-http.yaml"
    assert manifest["settings"]["socket_mode_enabled"] is not http
    if http:
        assert command["url"].endswith("/slack/events")
        assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")


def test_the_readmes_command_table_is_the_one_the_code_makes() -> None:
    start = README.index("<!-- commands: made by bot.commands.table.markdown_table")
    end = README.index("<!-- end of commands -->")
    shown = README[start:end].split("\n", 1)[1].strip()
    # To mend: paste print(bot.commands.table.markdown_table()) between the two markers.
    assert shown == markdown_table()
