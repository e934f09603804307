"""flask plans load|export|list|board|approve: exit codes and messages."""

from __future__ import annotations

import json

import pytest

from app.services.plans import get_by_slug
from tests.plans.conftest import PLAN_FILE, small_plan


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Speak English in the shell (the messages checked below); one test switches to Spanish."""
    monkeypatch.setenv("CONSULTA_LANG", "en")


def test_load_list_export_board(runner, demo_consultation, tmp_path):
    result = runner.invoke(args=["plans", "load", str(PLAN_FILE)])
    assert result.exit_code == 0, result.output
    assert 'Action plan "plan-accion-2016-2018" created.' in result.output
    assert "commitments[6].milestones[5]" in result.output  # the warning (stderr)

    result = runner.invoke(args=["plans", "list"])
    assert result.output.split("\t")[0] == "plan-accion-2016-2018"
    assert result.output.strip().endswith("\t7")

    exported = runner.invoke(args=["plans", "export", "plan-accion-2016-2018"])
    assert exported.exit_code == 0
    path = tmp_path / "plan.json"
    path.write_text(exported.output, encoding="utf-8")
    again = runner.invoke(args=["plans", "load", str(path)])
    assert 'Action plan "plan-accion-2016-2018" updated.' in again.output
    assert runner.invoke(args=["plans", "export", "plan-accion-2016-2018"]).output == \
        exported.output

    table = runner.invoke(args=["plans", "board", "plan-accion-2016-2018", "--as-of",
                                "2017-06-01"])
    assert table.exit_code == 0
    assert "red" in table.output


def test_invalid_file_exits_non_zero_listing_every_problem(runner, demo_consultation, tmp_path):
    data = small_plan()
    data["commitments"][0]["themes"] = ["ufo"]
    data["commitments"][0]["milestones"][0]["ends_on"] = "2016-01"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["plans", "load", str(path)])
    assert result.exit_code != 0
    assert "2 problem(s); nothing was stored" in result.output
    assert "commitments[1].themes" in result.output
    assert "commitments[1].milestones[1].ends_on" in result.output
    assert get_by_slug("plan-prueba") is None


def test_missing_file_bad_json_unknown_slug_bad_date(runner, app, tmp_path):
    assert runner.invoke(args=["plans", "load", str(tmp_path / "none.json")]).exit_code != 0
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = runner.invoke(args=["plans", "load", str(broken)])
    assert result.exit_code != 0
    assert "not valid JSON" in result.output
    for args in (["plans", "export", "nope"], ["plans", "board", "nope"],
                 ["plans", "approve", "nope"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert 'No action plan with slug "nope"' in result.output


def test_board_bad_date_exits_non_zero(runner, demo_consultation):
    from app.services.plans import load_plan

    load_plan(small_plan())
    result = runner.invoke(args=["plans", "board", "plan-prueba", "--as-of", "2017-02-30"])
    assert result.exit_code != 0
    assert "--as-of" in result.output


def test_messages_follow_the_shell_language(runner, demo_consultation, tmp_path, monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "es")
    result = runner.invoke(args=["plans", "export", "nope"])
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "No action plan" not in result.output


def test_approve_freezes_the_origin(runner, demo_consultation):
    from app.services.plans import load_plan

    load_plan(small_plan())
    result = runner.invoke(args=["plans", "approve", "plan-prueba"])
    assert result.exit_code == 0, result.output
    plan = get_by_slug("plan-prueba")
    assert plan.status == "approved"
    assert plan.approved_at is not None


def test_users_create_with_the_new_roles(runner, app):
    for role in ("coordinator", "implementer", "monitor"):
        result = runner.invoke(args=["users", "create", f"{role}@example.org", "--role", role,
                                     "--agency", "Secretaría de Prueba", "--generate-password"])
        assert result.exit_code == 0, result.output
    from app.services.accounts import find_by_email

    assert find_by_email("monitor@example.org").roles == {"monitor"}
    assert find_by_email("monitor@example.org").has_role("monitor")
