"""``loyaltykit woocommerce sync | push``: settings from the environment or a config file,
errors as one line without secrets, dry runs that change nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fake_woo import FIXTURES, KEY, SECRET, FakeWoo
from typer.testing import CliRunner

from loyaltykit import open_ledger
from loyaltykit.adapters.woocommerce.cli import app
from loyaltykit.adapters.woocommerce.config import load_settings
from loyaltykit.errors import ConfigurationError
from loyaltykit.rules.loader import load_program

runner = CliRunner()


def env(woo: FakeWoo) -> dict[str, str]:
    return {"LOYALTYKIT_WOO_URL": woo.url, "LOYALTYKIT_WOO_KEY": KEY,
            "LOYALTYKIT_WOO_SECRET": SECRET}


def test_sync_then_push_from_the_command_line(woo: FakeWoo, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    result = runner.invoke(app, ["sync", "--db", str(db)], env=env(woo))
    assert result.exit_code == 0, result.output
    assert "customers: 2 read in 1 pages, 2 new events" in result.output
    assert "orders: 2 read in 1 pages, 3 new events" in result.output
    with open_ledger(db, load_program(FIXTURES / "program-usd.yaml")) as ledger:
        ledger.run(datetime(2017, 4, 1, tzinfo=timezone.utc))  # after the example orders
        pending = len(ledger.pending_commands())
    assert pending > 0

    dry = runner.invoke(app, ["push", "--db", str(db), "--dry-run"], env=env(woo))
    assert dry.exit_code == 0, dry.output
    planned = [json.loads(line) for line in dry.output.splitlines() if line.startswith("{")]
    assert [p["endpoint"] for p in planned] == ["customers/batch"]
    assert [r for r in woo.requests if r.method != "GET"] == []

    pushed = runner.invoke(app, ["push", "--db", str(db)], env=env(woo))
    assert pushed.exit_code == 0, pushed.output
    assert f"sent {pending}, failed 0" in pushed.output
    assert woo.meta(woo.customers[26])["_loyaltykit_points"] == "200"
    for output in (result.output, dry.output, pushed.output):
        assert KEY not in output and SECRET not in output


def test_settings_can_come_from_a_config_file(woo: FakeWoo, tmp_path: Path) -> None:
    config = tmp_path / "loyaltykit.yaml"
    config.write_text(f"woocommerce:\n  url: {woo.url}\n  key: {KEY}\n  secret: {SECRET}\n")
    result = runner.invoke(app, ["sync", "--db", str(tmp_path / "a.db"), "--config",
                                 str(config), "--only", "orders"], env={})
    assert result.exit_code == 0, result.output
    assert "orders: 2 read" in result.output and "customers" not in result.output


def test_missing_settings_name_the_variables_to_set(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sync", "--db", str(tmp_path / "a.db")],
                           env={"LOYALTYKIT_WOO_URL": "https://shop.example.com"})
    assert result.exit_code == 2
    assert "LOYALTYKIT_WOO_KEY" in result.output and "LOYALTYKIT_WOO_SECRET" in result.output


def test_a_wrong_secret_is_one_line_without_the_secret(woo: FakeWoo, tmp_path: Path) -> None:
    wrong = env(woo) | {"LOYALTYKIT_WOO_SECRET": "cs_not_the_right_one_at_all"}
    result = runner.invoke(app, ["sync", "--db", str(tmp_path / "a.db")], env=wrong)
    assert result.exit_code == 1
    assert "HTTP 401" in result.output and "Traceback" not in result.output
    assert "cs_not_the_right_one_at_all" not in result.output


@pytest.mark.parametrize(("values", "message"), [
    ({"url": "shop.example.com"}, "not a site address"),
    ({"url": "https://shop.example.com/wp-json/wc/v3"}, "includes the REST path"),
    ({"key": SECRET, "secret": KEY}, "swapped"),
    ({"customer_role": "shopper"}, "customer_role 'shopper'"),
])
def test_bad_settings_are_explained(values: dict[str, str], message: str) -> None:
    settings = {"url": "https://shop.example.com", "key": KEY, "secret": SECRET} | values
    environ = {f"LOYALTYKIT_WOO_{k.upper()}": v for k, v in settings.items()}
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_settings(environ=environ)
    assert SECRET not in str(caught.value) and KEY not in str(caught.value)


def test_unknown_config_keys_are_named(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("woocommerce:\n  url: https://s.example.com\n  consumer_key: x\n")
    with pytest.raises(ConfigurationError, match=r"woocommerce\.consumer_key"):
        load_settings(config, environ={})
