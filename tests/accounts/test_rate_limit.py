"""Failed sign-ins are rate limited per account and per address, without revealing accounts."""

from __future__ import annotations

import uuid

import pyotp
import pytest
import redis

from tests.accounts.conftest import SECRET
from tests.conftest import PASSWORD, missing

# Database 6 of the local Redis is these tests' own.
REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_ACCOUNT": "3 per 15 minutes",
            "LOGIN_RATE_LIMIT_ADDRESS": "5 per 15 minutes",
            "LOGIN_RATE_LIMIT_ACCOUNT_ALL": "6 per 15 minutes"}


def attempt(client, email, password="wrong password!!", address="10.0.0.1"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address},
                       headers={"Accept-Language": "en"})


@pytest.mark.parametrize("email", ["ana@example.org", "nobody@example.org"])
def test_failures_are_limited_per_account_and_address(app, client, make_user, email):
    make_user("staff", email="ana@example.org")
    make_user("staff", email="luis@example.org")
    for _ in range(3):
        assert attempt(client, email, address="10.0.1.1").status_code == 401
    # Even the right password is refused now from that address, and the answer is the same
    # whether or not the account exists.
    refused = attempt(client, email, PASSWORD, address="10.0.1.1")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert attempt(client, "luis@example.org", PASSWORD, address="10.0.1.1").status_code == 302


def test_a_stranger_cannot_lock_the_account_out(app, make_user):
    """Guesses from one address lock that address out of the account, not the person."""
    make_user("staff", email="ana@example.org")
    stranger = app.test_client()
    for _ in range(3):
        assert attempt(stranger, "ana@example.org", address="10.0.9.9").status_code == 401
    assert attempt(stranger, "ana@example.org", address="10.0.9.9").status_code == 429
    ana = app.test_client()
    assert attempt(ana, "ana@example.org", PASSWORD, address="10.0.1.2").status_code == 302


def test_many_addresses_slow_the_account_down_except_where_it_signed_in(app, make_user):
    """Past the all-addresses threshold the account is refused to new browsers for the
    window, but the browser where the person signed in before still gets through."""
    make_user("staff", email="ana@example.org")
    usual = app.test_client()
    assert attempt(usual, "ana@example.org", PASSWORD, address="10.0.1.2").status_code == 302
    usual.post("/auth/logout")
    for number in range(6):
        guesser = app.test_client()
        assert attempt(guesser, "ana@example.org", address=f"10.0.7.{number}").status_code == 401
    newcomer = app.test_client()
    assert attempt(newcomer, "ana@example.org", PASSWORD,
                   address="10.0.8.1").status_code == 429
    assert attempt(usual, "ana@example.org", PASSWORD, address="10.0.8.2").status_code == 302


def test_attempts_that_fail_on_an_error_still_count(app, client, make_user, monkeypatch):
    """An error (say, a locked database) while refusing a password must not give free tries."""
    from sqlalchemy.exc import OperationalError

    from app.services import accounts

    make_user("staff", email="ana@example.org")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def locked(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(accounts, "record_failed_sign_in", locked)
    for _ in range(3):
        assert attempt(client, "ana@example.org", address="10.0.1.3").status_code == 500
    assert attempt(client, "ana@example.org", PASSWORD, address="10.0.1.3").status_code == 429


def test_failures_are_limited_per_address(app, client, make_user):
    make_user("staff", email="ana@example.org")
    for number in range(5):
        assert attempt(client, f"guess{number}@example.org", address="10.0.3.3").status_code == 401
    assert attempt(client, "ana@example.org", PASSWORD, address="10.0.3.3").status_code == 429
    assert attempt(client, "ana@example.org", PASSWORD, address="10.0.3.4").status_code == 302


def test_successful_sign_ins_do_not_count(app, client, make_user):
    make_user("staff", email="ana@example.org")
    for _ in range(8):
        assert attempt(client, "ana@example.org", PASSWORD).status_code == 302
        client.post("/auth/logout")


def test_wrong_two_factor_codes_are_limited(app, client, make_user):
    from app.extensions import db

    user = make_user("staff", email="ana@example.org")
    user.totp_secret = SECRET
    db.session.commit()
    assert attempt(client, "ana@example.org", PASSWORD).status_code == 302
    for _ in range(3):
        assert client.post("/auth/two-factor", data={"code": "000000"}).status_code == 401
    code = pyotp.TOTP(SECRET).now()
    assert client.post("/auth/two-factor", data={"code": code}).status_code == 429


def test_several_processes_share_the_count_in_redis(database_url):
    """Two app processes with RATELIMIT_STORAGE_URI=redis://… count failures together."""
    url = REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        missing(f"Redis not reachable at {url}: {error.__class__.__name__}")
    from app import create_app
    from app.extensions import db
    from tests.conftest import _config

    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url,
                # A prefix of its own: other test runs share this Redis server.
                "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                "LOGIN_RATE_LIMIT_ACCOUNT": "3 per 15 minutes",
                "LOGIN_RATE_LIMIT_ADDRESS": "50 per 15 minutes"}
    first = create_app(_config(database_url, **settings))
    second = create_app(_config(database_url, **settings))
    try:
        assert attempt(first.test_client(), "ana@example.org").status_code == 401
        assert attempt(second.test_client(), "ana@example.org").status_code == 401
        assert attempt(first.test_client(), "ana@example.org").status_code == 401
        assert attempt(second.test_client(), "ana@example.org").status_code == 429
        # The count lives in Redis (not in a process's memory), under the account's key.
        keys = [key.decode() for key in redis.Redis.from_url(url).scan_iter(
            f"*{settings['RATELIMIT_KEY_PREFIX']}*")]
        assert any("account:ana@example.org" in key for key in keys), keys
    finally:
        for app in (first, second):
            with app.app_context():
                from tests.conftest import _empty_tables

                _empty_tables()
                db.engine.dispose()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"*{settings['RATELIMIT_KEY_PREFIX']}*"):
            client.delete(key)
