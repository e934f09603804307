"""Configuration classes; every setting can be overridden by an environment variable."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _development_secret_key() -> str:
    """Return a secret key kept in instance/ so sessions survive a restart."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'consulta.db'}"
    )
    # No ping on every checkout: app/database.py pings a PostgreSQL connection that lay idle in
    # the pool (the server may have closed it: a restart, an idle timeout), not one used a
    # moment ago; a SQLite file cannot be closed under us.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": False}
    BABEL_DEFAULT_LOCALE = "es_MX"
    BABEL_DEFAULT_TIMEZONE = "America/Mexico_City"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {"es_MX": "Español", "en": "English"}
    CONSULTATION_TIMEZONE = "America/Mexico_City"
    # A public table cell resting on fewer respondents than this is suppressed.
    MIN_CELL_SIZE = _int("MIN_CELL_SIZE", 5)
    # The site's public address (e.g. https://consulta.jalisco.gob.mx): the open data's absolute
    # URLs are made from it, never from the request's Host header. Empty: relative URLs.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    # Seconds a browser or shared cache may keep the results and open data of a closed
    # consultation (what staff see, and open consultations, are never kept).
    PUBLIC_CACHE_SECONDS = _int("PUBLIC_CACHE_SECONDS", 3600)
    # Bootstrap replicates behind every 95% interval of a ranking (fixed seed: reproducible).
    BOOTSTRAP_REPLICATES = _int("BOOTSTRAP_REPLICATES", 1000)
    # A transcription shift is long: a typed paper form must never die of an expired token.
    WTF_CSRF_TIME_LIMIT = _int("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(seconds=_int("SESSION_ABSOLUTE_TIMEOUT", 12 * 3600))
    # Send the session cookie only when the session changed (see security.LAST_SEEN_STEP), not
    # on every response: a background poll's cookie must not replace a posted form's.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_IDLE_TIMEOUT = _int("SESSION_IDLE_TIMEOUT", 2 * 3600)
    # Outgoing e-mail (plan reminders, `plans remind`). Without MAIL_SERVER the messages are
    # written as .eml files to MAIL_OUTBOX_FOLDER instead (development and testing).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Consulta Abierta <no-reply@localhost>")
    MAIL_OUTBOX_FOLDER = os.environ.get("MAIL_OUTBOX_FOLDER", str(INSTANCE_DIR / "outbox"))
    # Days ahead a milestone's end counts as "due soon" in the reminders.
    REMINDER_DAYS_AHEAD = _int("REMINDER_DAYS_AHEAD", 14)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Prefix of the counters' keys, for several sites (or test runs) sharing one Redis.
    # (Flask-Limiter keeps the first non-empty prefix it sees in a process: empty by default.)
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    # Posts of the public answer form per address. A town hall, a school computer room or a
    # campus shares one address: 30 machines behind one NAT answering within minutes must pass
    # (README, "Answering online"); the addresses in ANSWER_RATE_LIMIT_EXEMPT (CIDR, comma
    # separated) are not limited at all.
    ANSWER_RATE_LIMIT = os.environ.get("ANSWER_RATE_LIMIT", "60 per minute;600 per hour")
    ANSWER_RATE_LIMIT_EXEMPT = os.environ.get("ANSWER_RATE_LIMIT_EXEMPT", "")
    # Public map and chart images drawn on request (each costs a matplotlib drawing).
    IMAGE_RATE_LIMIT = os.environ.get("IMAGE_RATE_LIMIT", "60 per minute;600 per hour")
    # Failed sign-ins (wrong password or code) allowed per address (whatever the email), per
    # typed email from one address, and per typed email from all addresses together (browsers
    # that signed in to that account before are spared this last one).
    LOGIN_RATE_LIMIT_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_ADDRESS", "30 per 15 minutes")
    LOGIN_RATE_LIMIT_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_ACCOUNT", "5 per 15 minutes")
    LOGIN_RATE_LIMIT_ACCOUNT_ALL = os.environ.get("LOGIN_RATE_LIMIT_ACCOUNT_ALL",
                                                  "20 per 15 minutes")
    # Strict-Transport-Security max-age in seconds (0: no header); set in production.
    HSTS_MAX_AGE = _int("HSTS_MAX_AGE", 0)
    # Administrators must enrol a second factor (TOTP) before doing anything else.
    ADMIN_TOTP_REQUIRED = _bool("ADMIN_TOTP_REQUIRED", True)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
    # Action plans' evidence: files are kept here (outside the web root), named by SHA-256;
    # a file over EVIDENCE_MAX_BYTES is refused; EVIDENCE_QUORUM distinct monitors must accept
    # a piece of evidence before its milestone completes.
    EVIDENCE_FOLDER = os.environ.get("EVIDENCE_FOLDER", str(INSTANCE_DIR / "evidence"))
    EVIDENCE_MAX_BYTES = _int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
    EVIDENCE_QUORUM = _int("EVIDENCE_QUORUM", 1)
    # A first-time visitor's answer form and thank-you page are served before Flask's request
    # handling (app/public/fast.py); off, Flask serves them as every other page.
    FAST_PUBLIC_PAGES = _bool("FAST_PUBLIC_PAGES", True)
    # How old (seconds) the database's word that a kept questionnaire is current may be when
    # that fast form page is served; an answer is checked against the stored version anyway.
    PUBLIC_FORM_RECHECK_SECONDS = _float("PUBLIC_FORM_RECHECK_SECONDS", 1.0)
    # Long work (imports, snapshots) runs on a task queue (huey), never inside a request:
    # empty means a SQLite queue file under instance/ (one host); redis://host:port/db in
    # production. The worker reads the same settings (see README, "Paper questionnaires").
    TASK_QUEUE_URL = os.environ.get("TASK_QUEUE_URL", "")
    # The queue's name: two deployments sharing one Redis need different names.
    TASK_QUEUE_NAME = os.environ.get("TASK_QUEUE_NAME", "consulta")
    # Run queued jobs at once inside the request (tests; no worker needed).
    TASK_QUEUE_IMMEDIATE = _bool("TASK_QUEUE_IMMEDIATE", False)
    # Where uploaded files wait for their job (shared by the web and worker hosts).
    JOB_FILES_FOLDER = os.environ.get("JOB_FILES_FOLDER", str(INSTANCE_DIR / "job-files"))
    # A running job whose worker has not written a heartbeat for this long is reported failed.
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 120)
    # How often (seconds) a running job writes its heartbeat and progress to the database.
    JOB_HEARTBEAT_SECONDS = _float("JOB_HEARTBEAT_SECONDS", 2.0)
    # Import limits, checked before the rows are: a statewide import of a million responses
    # passes; a file or a zip bomb past these is refused with a message naming the limit.
    IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 512 * 1024 * 1024)
    IMPORT_MAX_ROWS = _int("IMPORT_MAX_ROWS", 1_500_000)
    # An XLSX is a zip: the bytes its parts expand to, at most (a million rows is ~1 GB).
    IMPORT_MAX_EXPANDED_BYTES = _int("IMPORT_MAX_EXPANDED_BYTES", 2 * 1024 * 1024 * 1024)
    # Problems of a refused file shown on its page; the full report is a CSV download.
    IMPORT_PROBLEMS_SHOWN = _int("IMPORT_PROBLEMS_SHOWN", 100)
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = _bool("FLASK_DEBUG", False)
    SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret_key()


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - fixed key for reproducible tests
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    # Off so other tests can sign an administrator in with a password only; the security
    # tests turn it (and CSRF, and rate limits) back on through the app_config fixture.
    ADMIN_TOTP_REQUIRED = False
    # Every form page asks the database (tests edit and read back at once).
    PUBLIC_FORM_RECHECK_SECONDS = 0.0
    # Jobs run inside the request that queued them (tests that need a worker start one).
    TASK_QUEUE_IMMEDIATE = _bool("TASK_QUEUE_IMMEDIATE", True)
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    # Browsers keep to HTTPS for a year once they have seen the site over it.
    HSTS_MAX_AGE = _int("HSTS_MAX_AGE", 365 * 24 * 3600)

    @classmethod
    def check(cls) -> None:
        """Refuse to start without the settings production cannot guess."""
        if not cls.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production.")
        if cls.RATELIMIT_ENABLED and cls.RATELIMIT_STORAGE_URI.startswith("memory://"):
            # Each gunicorn worker would count in its own memory: with two workers 7 to 10
            # wrong passwords passed instead of 5.
            raise RuntimeError(
                "RATELIMIT_STORAGE_URI must name a store shared by every process in production "
                "(e.g. redis://127.0.0.1:6379/0); memory:// counts each worker apart.")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """Pick the configuration class named by APP_ENV (development by default)."""
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"APP_ENV={name!r} is not one of {', '.join(sorted(CONFIGS))}."
        ) from None
