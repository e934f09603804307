"""Security headers on every response, and out-of-scope attempts answered 403 and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth.decorators import role_required
from app.database import write_transaction
from app.extensions import db
from app.models import AuditEvent, Region
from app.services import audit
from app.services.errors import OutOfScope
from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"


@pytest.mark.parametrize("url", ["/", "/auth/login", "/no-such-page", "/static/css/app.css",
                                 "/api/v1/nothing", "/admin/accounts/"])
def test_every_response_has_the_security_headers(client, url):
    response = client.get(url)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_of_signed_in_staff_are_not_cached(client, auth, make_user):
    user = make_user("analyst")
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    auth.login(user.email)
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_style_or_handlers():
    """What the Content-Security-Policy would block must not be in a template."""
    import re

    problems = []
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for number, line in enumerate(source.splitlines(), 1):
            if re.search(r"<script(?![^>]*\bsrc=)", line) or re.search(r"\sstyle=", line) \
                    or re.search(r"\son[a-z]+=", line) or "<style" in line \
                    or "javascript:" in line:
                problems.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def scoped_app(app):
    """Add a view that writes, then meets an out-of-scope municipality, as services do."""

    @role_required("staff")
    def guarded():
        with write_transaction():
            db.session.add(Region(number=99, name="Should not be stored"))
            db.session.flush()
            audit.record("test.work", actor=None)
            raise OutOfScope("Municipality 14039 is not one of yours.")

    app.add_url_rule("/test/out-of-scope", "test_out_of_scope", guarded, methods=["GET", "POST"])
    app.add_url_rule("/api/test/out-of-scope", "test_out_of_scope_api", guarded)
    return app


@pytest.mark.parametrize("url", ["/test/out-of-scope", "/api/test/out-of-scope"])
def test_out_of_scope_is_403_recorded_and_stores_nothing(scoped_app, make_user, url):
    client = scoped_app.test_client()
    user = make_user("staff", municipalities=["14097"])
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = client.get(url)
    assert response.status_code == 403
    if url.startswith("/api/"):
        assert response.json == {"error": "Forbidden",
                                 "message": "Municipality 14039 is not one of yours."}
    else:
        assert "Municipality 14039 is not one of yours." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Region, 99) is None
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "test.work")) \
        is None
    event = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "access.out_of_scope")).one()
    assert event.actor_id == user.id
    assert event.details["path"] == url
    assert event.details["detail"] == "Municipality 14039 is not one of yours."


def test_production_tells_browsers_to_keep_to_https(app, database_url, make_consultation):
    """Strict-Transport-Security in production (HSTS_MAX_AGE), on Flask's pages and on the
    answer form's fast page alike; not in development or tests, which run over HTTP."""
    from app import create_app
    from config import ProductionConfig
    from tests.conftest import _config

    assert ProductionConfig.HSTS_MAX_AGE == 365 * 24 * 3600
    assert "Strict-Transport-Security" not in app.test_client().get("/").headers
    make_consultation("open", slug="abierta")
    served = create_app(_config(database_url, HSTS_MAX_AGE=31536000))
    try:
        for url in ["/", "/auth/login", "/c/abierta/answer", "/no-such-page"]:
            response = served.test_client().get(url)
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000", url
    finally:
        with served.app_context():
            db.session.remove()
            db.engine.dispose()


def test_production_refuses_rate_limits_counted_in_each_process(monkeypatch):
    """memory:// counts each gunicorn worker apart (7 to 10 wrong passwords passed, not 5)."""
    from config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 32)
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_ENABLED", True)
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        ProductionConfig.check()
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/6")
    ProductionConfig.check()
