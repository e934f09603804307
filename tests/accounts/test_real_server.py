"""Sign-in faults that only a real server shows: gunicorn processes sharing one database."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db
from app.models import AuditEvent
from tests.accounts.conftest import SECRET
from tests.accounts.http import Browser
from tests.conftest import PASSWORD


def _all_at_once(calls):
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_simultaneous_sign_ins_queue_instead_of_failing(app, gunicorn_server, make_user):
    """80 sign-ins at once (right and wrong passwords, then wrong codes) on one database: on
    SQLite the sign-in's writes used to start as reads and fail "database is locked" (500)."""
    emails = [make_user("staff", email=f"staff{n}@example.org").email for n in range(20)]
    enrolled = make_user("staff", email="coded@example.org")
    enrolled.totp_secret = SECRET
    db.session.commit()
    base = gunicorn_server(workers=4)

    browsers, calls = [], []
    for number in range(80):
        browser = Browser(base)
        token = browser.token("/auth/login")
        password = PASSWORD if number % 2 else "wrong password!!"
        data = {"email": emails[number % 20], "password": password, "csrf_token": token}
        browsers.append(browser)
        calls.append(lambda browser=browser, data=data: browser.request("/auth/login", data))
    answers = _all_at_once(calls)
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {302: 40, 401: 40}, statuses

    coded = []
    for _ in range(20):
        browser = Browser(base)
        assert browser.sign_in("coded@example.org", PASSWORD).status == 302
        token = browser.token("/auth/two-factor")
        coded.append(lambda browser=browser, token=token: browser.request(
            "/auth/two-factor", {"code": "000000", "csrf_token": token}))
    statuses = Counter(answer.status for answer in _all_at_once(coded))
    assert statuses == {401: 20}, statuses

    db.session.expire_all()
    actions = [event.action for event in db.session.scalars(db.select(AuditEvent))]
    assert actions.count("auth.login") == 40
    assert actions.count("auth.login_failed") == 40
    assert actions.count("auth.totp_failed") == 20


def test_a_cookie_copied_before_sign_out_is_refused_after(app, gunicorn_server, make_user):
    """Signing out ends the session on the server: a copy of its cookie, replayed on any
    worker, is sent to sign in."""
    make_user("analyst", email="ana@example.org")
    base = gunicorn_server(workers=2)
    browser = Browser(base)
    assert browser.sign_in("ana@example.org", PASSWORD).status == 302
    copied = browser.session_cookie()
    assert browser.request("/auth/account").status == 200
    assert browser.post_form("/auth/logout", {}, token_from="/auth/account").status == 302

    for _ in range(6):  # whichever worker answers
        thief = Browser(base)
        thief.set_session_cookie(copied)
        answer = thief.request("/auth/account")
        assert answer.status == 302, answer.body[:300]
        assert "/auth/login" in answer.location


def test_wrong_passwords_are_counted_across_workers(app, gunicorn_server, make_user):
    """Two gunicorn workers counting in Redis let exactly 5 wrong passwords through; each
    counting in its own memory let 7 to 10 through."""
    import uuid

    import redis

    from tests.accounts.test_rate_limit import REDIS_URL
    from tests.conftest import missing

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        missing(f"Redis not reachable at {REDIS_URL}: {error.__class__.__name__}")
    prefix = f"test-{uuid.uuid4().hex}"
    make_user("staff", email="ana@example.org")
    base = gunicorn_server(workers=2, RATELIMIT_ENABLED="true", RATELIMIT_STORAGE_URI=REDIS_URL,
                           RATELIMIT_KEY_PREFIX=prefix)
    try:
        statuses = [Browser(base).sign_in("ana@example.org", "wrong password!!").status
                    for _ in range(10)]
        assert statuses == [401] * 5 + [429] * 5, statuses
        # Even the right password waits now, from this address.
        assert Browser(base).sign_in("ana@example.org", PASSWORD).status == 429
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def test_production_refuses_per_process_rate_limit_counts(tmp_path):
    """memory:// counts each worker apart: production does not start with it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import GUNICORN_ENV

    env = {**os.environ, **GUNICORN_ENV, "RATELIMIT_ENABLED": "true",
           "RATELIMIT_STORAGE_URI": "memory://", "INSTANCE_PATH": str(tmp_path)}
    env.pop("TEST_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], env=env,
                            capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI must name a store shared by every process" in result.stderr
