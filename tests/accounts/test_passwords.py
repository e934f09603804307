"""The password policy, the hashing algorithm, and passwords never logged or audited."""

from __future__ import annotations

import logging

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import AuditEvent, User
from app.services.accounts import create_user, password_problems
from app.services.errors import DomainError


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short1!", "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password1234", "too common"),
        ("Qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaaa", "pattern"),
        ("mariagonzalez-2016", "your email address or your name"),
        ("Example.org.2026!", "your email address or your name"),  # the domain's name
        # From the 20,000-password list, with digits and symbols around, or look-alikes.
        ("sunshine2026!!", "too common"),
        ("P@ssw0rd-2026!", "too common"),
        ("consulta2026!!", "too common"),
        ("Jalisco-123456", "too common"),
        ("CONSULTA.ABIERTA.1", "too common"),
        # Patterns.
        ("abcdefghijklmn", "pattern"),
        ("234567890123", "pattern"),
        ("987654321098", "pattern"),
        ("zyxwvutsrqpo", "pattern"),
        ("qwertyuiop[]1", "too common"),
        ("lkjhgfdsazxcv", "pattern"),
        ("abcabcabcabc", "pattern"),
        ("12121212ab12", "pattern"),
    ],
)
def test_weak_passwords_are_refused(app, password, expected):
    with force_locale("en"):
        problems = password_problems(password, "mariagonzalez@example.org")
    assert any(expected in problem for problem in problems), problems


def test_a_part_of_the_name_is_refused(app):
    with force_locale("en"):
        problems = password_problems("Gonzalez de Chapala 77", "maria.gonzalez@example.org")
    assert problems == ["The password must not contain your email address or your name."]


def test_the_list_is_the_20000_common_passwords_and_local_words(app):
    from app.services.accounts import _common_passwords

    common = _common_passwords()
    assert len(common) > 19_000
    assert {"123456", "iloveyou", "contraseña", "jalisco", "chivas"} <= common


@pytest.mark.parametrize("length", [12, 64, 128])
def test_long_passphrases_are_accepted(app, length):
    assert password_problems("Marea roja en Chapala 7", "maria@example.org") == []
    password = ("Tlaquepaque barro " * 10)[:length - 2] + "7!"
    assert len(password) == length
    assert password_problems(password, "ana@example.org") == []


def test_passwords_are_hashed_with_scrypt(app, make_user):
    user = make_user("staff")
    assert user.password_hash.startswith("scrypt:")
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse battery staple")
    assert not user.check_password("correct horse battery stapler")


def test_a_refused_account_stores_nothing(app):
    with pytest.raises(DomainError) as error, force_locale("en"):
        create_user("new@example.org", "123456789012", {"staff"}, actor=None)
    assert "too common" in " ".join(error.value.problems)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_passwords_are_never_logged_nor_audited(app, client, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    secret_password = "Zacatecas-azul-lluvia-42"
    user = make_user("staff", password=secret_password)
    client.post("/auth/login", data={"email": user.email, "password": secret_password})
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": user.email, "password": secret_password + "x"})
    assert secret_password not in caplog.text
    for event in db.session.scalars(db.select(AuditEvent)):
        assert secret_password not in repr(event.details)
        assert "password" not in event.details
