"""`tableside hub restaurant create|list`, `tableside hub report`, `tableside hub reconcile`."""

import json
from datetime import UTC, datetime

import pytest

from tableside.cli import main
from tests.hub.factories import TOKEN


@pytest.fixture
def hub_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TABLESIDE_HUB_DATA_DIR", str(tmp_path / "hub"))
    monkeypatch.setenv("TABLESIDE_HUB_OPERATOR_TOKEN", TOKEN)
    monkeypatch.delenv("TABLESIDE_STRIPE_SECRET_KEY", raising=False)


def test_restaurant_create_list_report_reconcile(hub_env, capfd):
    assert main(["hub", "restaurant", "create", "--name", "Café Ré", "--country", "FR", "--currency", "EUR",
                 "--basis-points", "150", "--fixed-minor", "10", "--fee-on-external", "--agent", "a-1"]) == 0
    created = json.loads(capfd.readouterr().out)
    assert created["name"] == "Café Ré" and created["agent_ids"] == ["a-1"] and created["fee_on_external"] is True
    assert created["fee_plan"]["basis_points"] == 150 and created["onboarding_url"] is None  # demo provider
    assert main(["hub", "restaurant", "list"]) == 0
    assert [r["id"] for r in json.loads(capfd.readouterr().out)] == [created["id"]]
    assert main(["hub", "report", "--format", "csv"]) == 0
    assert capfd.readouterr().out.startswith("date,restaurant_id,")
    assert main(["hub", "report"]) == 0
    assert json.loads(capfd.readouterr().out)["date"] == datetime.now(UTC).date().isoformat()
    assert main(["hub", "reconcile"]) == 0
    assert json.loads(capfd.readouterr().out) == {}


def test_bad_input_exits_2_with_the_reason(hub_env, capfd):
    base = ["hub", "restaurant", "create", "--name", "X", "--country", "FR", "--basis-points", "150"]
    assert main([*base, "--currency", "EURO"]) == 2
    assert "currency" in capfd.readouterr().err
    assert main([*base, "--currency", "EUR", "--agent", "a-1"]) == 0
    capfd.readouterr()
    assert main([*base, "--currency", "EUR", "--agent", "a-1"]) == 2
    assert "already belongs" in capfd.readouterr().err
    assert main(["hub", "report", "--date", "31.12.2026"]) == 2
    assert "--date" in capfd.readouterr().err


def test_missing_config_is_a_clear_error(monkeypatch, capfd):
    monkeypatch.delenv("TABLESIDE_HUB_DATA_DIR", raising=False)
    monkeypatch.delenv("TABLESIDE_HUB_OPERATOR_TOKEN", raising=False)
    assert main(["hub", "restaurant", "list"]) == 2
    assert "data_dir" in capfd.readouterr().err
