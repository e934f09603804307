"""Shared fixtures: a migrated database (SQLite file or PostgreSQL), app, client, runner, auth."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.util import local_today
from config import TestingConfig

KEEP_TABLES = {"region", "municipality", "alembic_version"}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The pytest-xdist worker ("gw0", "gw1", …), or "" when the suite runs in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
DEMO_FILE = Path(__file__).resolve().parent.parent / "app" / "demo" / "consulta-ampliada-2016.json"


def missing(what: str) -> None:
    """Skip on a developer machine; fail in CI, where everything must run."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: this must run in CI)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Return the URL of a database migrated once for the session, with the geography loaded."""
    url = os.environ.get("TEST_DATABASE_URL")
    tmpdir = None
    if url and WORKER:
        url = _worker_database(url)
    if not url:
        tmpdir = tempfile.mkdtemp(prefix="consulta-test-")
        url = f"sqlite:///{tmpdir}/test.db"
    app = create_app(_config(url))
    with app.app_context():
        from flask_migrate import upgrade

        from app.services.geography import load_geography

        if db.engine.dialect.name == "postgresql":
            _reset_postgres(db.engine)
        upgrade()
        load_geography()
        db.engine.dispose()
    yield url
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _worker_database(url: str) -> str:
    """Return a database of this pytest-xdist worker's own beside TEST_DATABASE_URL's.

    Workers run at the same time, so each gets <name>_<worker> (created empty if missing) on
    the same PostgreSQL server; the session fixture then migrates it from scratch as usual.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return url
    name = f"{parsed.database}_{WORKER}"
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False),
                         autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def _config(url: str, **extra) -> type[TestingConfig]:
    settings = {"SQLALCHEMY_DATABASE_URI": url}
    if url.startswith("postgresql"):
        # A test database need not survive a crash: commits don't wait for the disk.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **TestingConfig.SQLALCHEMY_ENGINE_OPTIONS,
            "connect_args": {"options": "-c synchronous_commit=off"},
        }
    return type("TestConfig", (TestingConfig,), {**settings, **extra})


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings (e.g. turn CSRF or rate limits on)."""
    return {}


class Client(FlaskClient):
    """A test client whose requests each start with an empty `g`, as in production.

    The test body holds an app context (for the database); a request reuses it, so without
    this the signed-in user and the locale cached in `g` would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        context = _cv_app.get(None)
        if context is not None:
            vars(context.g).clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url: str, app_config: dict, tmp_path: Path):
    # Files the app keeps go to this test's own folder (the same place a gunicorn_server of
    # this test keeps them), never to the repository's instance/, which pytest-xdist's
    # workers would share.
    instance = tmp_path / "instance"
    folders = {"JOB_FILES_FOLDER": str(instance / "job-files"),
               "EVIDENCE_FOLDER": str(instance / "evidence"),
               "MAIL_OUTBOX_FOLDER": str(instance / "outbox")}
    app = create_app(_config(database_url, **{**folders, **app_config}))
    app.test_client_class = Client
    with app.app_context():
        yield app
        db.session.remove()
        _check_theme_patterns()
        _empty_tables()
        db.engine.dispose()


def _check_theme_patterns() -> None:
    """Fail the test if a response's stored theme_pattern is not its themes in position order.

    Every writer (online form, paper entry, import, demo) stores both; the analysis counts from
    the pattern alone, so a writer that forgot it would silently skew results.
    """
    from app.models.response import theme_pattern

    with db.engine.connect() as connection:
        themes: dict[int, list[int]] = {}
        for response_id, theme_id in connection.execute(text(
                "SELECT response_id, theme_id FROM response_theme "
                "ORDER BY response_id, position")):
            themes.setdefault(response_id, []).append(theme_id)
        wrong = [(response_id, pattern) for response_id, pattern in connection.execute(
                     text("SELECT id, theme_pattern FROM response"))
                 if pattern != theme_pattern(themes.get(response_id, []))]
    if wrong:
        pytest.fail(f"responses whose theme_pattern is not their themes: {wrong[:5]}")


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def demo_definition(**overrides) -> dict:
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data.update(overrides)
    return data


@pytest.fixture
def make_consultation(app):
    """Create a consultation from the demo definition; status open/upcoming/closed sets dates."""
    from app.services.consultations import load_definition

    counter = iter(range(1, 1000))

    def make(status: str = "open", **overrides):
        today = local_today()
        opens, closes = {
            "open": (today - timedelta(days=2), today + timedelta(days=10)),
            "upcoming": (today + timedelta(days=5), today + timedelta(days=15)),
            "closed": (today - timedelta(days=20), today - timedelta(days=5)),
        }[status]
        overrides.setdefault("slug", f"test-{status}-{next(counter)}")
        overrides.setdefault("opens_on", opens.isoformat())
        overrides.setdefault("closes_on", closes.isoformat())
        consultation, _ = load_definition(demo_definition(**overrides))
        return consultation

    return make


PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app):
    """Create an account with roles and optional municipality codes.

    An implementer needs a lead agency: one not in any test plan ("Agencia de prueba") unless
    `agencies` names them.
    """
    from app.models import UserMunicipality
    from app.services.accounts import create_user

    counter = iter(range(1, 1000))

    def make(*roles: str, email: str | None = None, municipalities=(), password=PASSWORD,
             all_municipalities: bool | None = None, agencies=None):
        roles = set(roles or ("analyst",))
        if agencies is None and "implementer" in roles:
            agencies = ("Agencia de prueba",)
        user = create_user(email or f"user{next(counter)}@example.org", password, roles,
                           actor=None, agencies=set(agencies or ()))
        for code in municipalities:
            user.municipality_rows.append(UserMunicipality(municipality_code=code))
        if all_municipalities is not None:
            user.all_municipalities = all_municipalities
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, follow: bool = False):
        return self.client.post("/auth/login", data={"email": email, "password": password},
                                follow_redirects=follow)

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def live_server(app):
    """Serve the app on a free local port in a thread; yield its base URL."""
    from werkzeug.serving import make_server

    def buffered(environ, start_response):
        # Read each response whole and close it before sending: when the browser drops a
        # connection (a navigation cancels a stylesheet's download), werkzeug's test server
        # can fail while draining the socket and never close the response, and the open
        # static file then fails the test with a ResourceWarning. Streaming is tested through
        # gunicorn_server.
        chunks = app(environ, start_response)
        try:
            return [b"".join(chunks)]
        finally:
            if hasattr(chunks, "close"):
                chunks.close()

    server = make_server("127.0.0.1", 0, buffered, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium through Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM}: install it with 'apt-get install chromium'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="es-MX")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def postgres_admin_url() -> str:
    return os.environ.get("POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_available() -> str:
    """Return the admin URL of a reachable PostgreSQL server, or skip (fail in CI)."""
    url = postgres_admin_url()
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means no server to test against
        missing(f"PostgreSQL not reachable at {url}: {error.__class__.__name__}")
    return url


GUNICORN_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "testing-secret-key",
    "SESSION_COOKIE_SECURE": "false",
    "ADMIN_TOTP_REQUIRED": "false",
    "RATELIMIT_ENABLED": "false",
}


class ServerProcesses:
    """Start the app in processes of their own on free ports; stop them all at the end."""

    def __init__(self, database_url: str, folder: Path):
        self.database_url = database_url
        self.folder = folder
        self.processes: list = []

    def start(self, command: list[str], name: str, overrides: dict[str, str]) -> str:
        """Run command (with {port} filled in) and return its base URL once it answers."""
        import socket
        import subprocess
        import time
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, **GUNICORN_ENV, "DATABASE_URL": self.database_url,
               "INSTANCE_PATH": str(self.folder / "instance"), **overrides}
        env.pop("TEST_DATABASE_URL", None)
        log_path = self.folder / f"{name}-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([part.format(port=port) for part in command],
                                       cwd=Path(__file__).resolve().parent.parent, env=env,
                                       stdout=log, stderr=log)
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        # Generous: a loaded CI machine starting two workers importing pandas takes a while.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} exited at start:\n" + log_path.read_text(errors="replace"))
            try:
                # The home page: no chart, so matplotlib stays unimported.
                urllib.request.urlopen(base + "/", timeout=2).close()
                return base
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        pytest.fail(f"{name} did not answer within 60 s")

    def stop(self) -> None:
        import signal
        import subprocess

        for process in self.processes:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()  # reaped: else its Popen warns "still running" in a later test


@pytest.fixture
def gunicorn_server(app, database_url: str, tmp_path: Path):
    """Start the app as production serves it: gunicorn in a process of its own.

    Call it (optionally with environment overrides, e.g. ``RATELIMIT_ENABLED="true"``) to get
    the base URL. Unlike ``live_server`` the server shares no app context, session or memory
    with the test: a fault that only a real request cycle shows (a lazy load after the session
    ended, a cookie that outlives its request) shows here. The process ends with the test.
    """
    import sys

    servers = ServerProcesses(database_url, tmp_path)

    def start(workers: int = 2, **overrides: str) -> str:
        return servers.start([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
                              "127.0.0.1:{port}", "--timeout", "60", "wsgi:app"], "gunicorn",
                             overrides)

    yield start
    servers.stop()
