"""Failed sign-ins are rate limited per account and per address, without revealing accounts."""

from __future__ import annotations

import uuid

import pyotp
import pytest
import redis

from tests.accounts.conftest import SECRET
from tests.conftest import PASSWORD, missing


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_ACCOUNT": "3 per 15 minutes",
            "LOGIN_RATE_LIMIT_ADDRESS": "5 per 15 minutes"}


def attempt(client, email, password="wrong password!!", address="10.0.0.1"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address},
                       headers={"Accept-Language": "en"})


@pytest.mark.parametrize("email", ["ana@example.org", "nobody@example.org"])
def test_failures_are_limited_per_account(app, client, make_user, email):
    make_user("staff", email="ana@example.org")
    make_user("staff", email="luis@example.org")
    for number in range(3):
        assert attempt(client, email, address=f"10.0.1.{number}").status_code == 401
    # Even the right password is refused now, from any address, and the answer is the same
    # whether or not the account exists.
    refused = attempt(client, email, PASSWORD, address="10.0.2.1")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert attempt(client, "luis@example.org", PASSWORD, address="10.0.2.1").status_code == 302


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
    url = "redis://127.0.0.1:6379"
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
