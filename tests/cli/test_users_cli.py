"""flask users create / list / deactivate / reset-2fa: clear messages, non-zero on failure."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent, User


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "en")


def count() -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


def test_create_asks_the_password_twice(runner):
    password = "Barranca-de-Huentitan-1"
    result = runner.invoke(args=["users", "create", "Ana@Example.org", "--role", "staff",
                                 "--role", "supervisor"], input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1
    assert "Repeat for confirmation" in result.output
    assert "Account ana@example.org created with role(s) staff, supervisor." in result.output
    assert password not in result.output
    user = db.session.scalar(db.select(User))
    assert user.check_password(password)


def test_create_refuses_two_different_passwords(runner):
    result = runner.invoke(args=["users", "create", "ana@example.org", "--role", "staff"],
                           input="Barranca-de-Huentitan-1\nBarranca-de-Huentitan-2\n")
    assert result.exit_code != 0
    assert "The two entered values do not match" in result.output
    assert count() == 0


def test_a_generated_password_is_printed_once(runner):
    result = runner.invoke(args=["users", "create", "admin@example.org", "--role", "admin",
                                 "--generate-password"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown only once\): (\S+)", result.output).group(1)
    assert result.output.count(password) == 1
    assert db.session.scalar(db.select(User)).check_password(password)
    listed = runner.invoke(args=["users", "list"])
    assert password not in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "root"], "Unknown role root; roles are: admin, supervisor, staff, analyst, "
                             "facilitator"),
        (["--role", "staff", "--role", "boss"], "Unknown role boss"),
        ([], "Missing option '--role'"),
    ],
)
def test_unknown_or_missing_role_exits_non_zero(runner, args, message):
    result = runner.invoke(args=["users", "create", "ana@example.org", *args,
                                 "--generate-password"])
    assert result.exit_code != 0
    assert message in result.output
    assert count() == 0


def test_a_weak_password_is_refused(runner):
    result = runner.invoke(args=["users", "create", "ana@example.org", "--role", "staff"],
                           input="password1234\npassword1234\n")
    assert result.exit_code != 0
    assert "The account was not created." in result.output
    assert "too common" in result.output
    assert count() == 0


def test_a_duplicate_email_is_refused(runner, make_user):
    make_user("staff", email="ana@example.org")
    result = runner.invoke(args=["users", "create", "ANA@example.org", "--role", "analyst",
                                 "--generate-password"])
    assert result.exit_code != 0
    assert "An account with email ana@example.org already exists." in result.output
    assert count() == 1


def test_list_deactivate_and_reset_two_factor(runner, make_user):
    assert "No accounts yet." in runner.invoke(args=["users", "list"]).output
    make_user("admin", email="admin@example.org")
    staff = make_user("staff", email="ana@example.org", municipalities=["14097"])
    staff.totp_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    listed = runner.invoke(args=["users", "list"]).output
    assert "admin@example.org\tadmin\t*\t-\tactive" in listed
    assert "ana@example.org\tstaff\t14097\ttotp\tactive" in listed
    result = runner.invoke(args=["users", "reset-2fa", "ana@example.org"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "deactivate", "ana@example.org"])
    assert result.exit_code == 0, result.output
    assert "Account ana@example.org deactivated" in result.output
    db.session.expire_all()
    user = db.session.get(User, staff.id)
    assert not user.active
    assert user.totp_secret is None
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"account.deactivate", "account.totp_disable"} <= actions


def test_deactivate_refuses_the_last_administrator_and_unknown_emails(runner, make_user):
    make_user("admin", email="admin@example.org")
    result = runner.invoke(args=["users", "deactivate", "admin@example.org"])
    assert result.exit_code != 0
    assert "admin@example.org is the last active administrator" in result.output
    assert db.session.scalar(db.select(User.active))
    result = runner.invoke(args=["users", "deactivate", "nobody@example.org"])
    assert result.exit_code != 0
    assert "No account with email nobody@example.org." in result.output
