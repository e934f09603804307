"""Shared helpers of the benchmark scripts: databases, the app, timing and peak memory."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root first, bench/ last: bench/analysis.py must not hide the `analysis` package
# (Python puts a script's own directory first on the path).
for _entry in (str(ROOT), str(ROOT / "bench")):
    while _entry in sys.path:
        sys.path.remove(_entry)
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

BENCH_DIR = ROOT / "bench"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", BENCH_DIR / "data"))
DEMO_FILE = ROOT / "app" / "demo" / "consulta-ampliada-2016.json"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
PG_PREFIX = "consulta_bench_"
SLUG = "consulta-ampliada-2016"


def size_label(n: int) -> str:
    """Return 1k, 100k, 1m … for a number of responses (used in file and database names)."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def database_url(db: str, n: int, tag: str = "") -> str:
    """Return the SQLAlchemy URL of the benchmark database of `n` responses on sqlite|postgres."""
    name = f"{tag or 'analysis'}_{size_label(n)}"
    if db == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA_DIR / (name + '.sqlite')}"
    if db == "postgres":
        return pg_url(name)
    raise SystemExit(f"unknown database {db!r}: sqlite or postgres")


def pg_url(name: str) -> str:
    """Return the SQLAlchemy URL of the PostgreSQL database consulta_bench_<name>."""
    return f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/{PG_PREFIX}{name}"


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate_database(url: str) -> None:
    """Start from an empty database: delete the SQLite file or drop and create the PG database."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    assert name.startswith(PG_PREFIX), name  # never touch another helper's database
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def make_app(url: str, **settings):
    """Return the real app on `url` (production-like settings, no CSRF/rate limit changes)."""
    from app import create_app
    from config import Config

    attributes = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret-key",  # noqa: S105 - a throwaway key for local benchmarks
        **settings,
    }
    return create_app(type("BenchConfig", (Config,), attributes))


def prepare_schema(app, definition: dict | None = None):
    """Migrate, load the geography and the consultation; return the consultation."""
    from flask_migrate import upgrade

    from app.services.consultations import load_definition
    from app.services.geography import load_geography

    with app.app_context():
        upgrade()
        load_geography()
        consultation, _ = load_definition(definition or demo_definition())
        return consultation.id


def demo_definition(**overrides) -> dict:
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data.update(overrides)
    return data


def peak_rss_mb() -> float:
    """Return this process's peak resident set size so far, in MB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """Return the largest peak RSS of any waited-for child process, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def machine() -> dict:
    """Describe the machine the figures were measured on."""
    import platform
    import sqlite3

    info = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_mb"] = int(f.readline().split()[1]) // 1024
        info["loadavg"] = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        pass
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3) as connection:
            info["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
    except Exception as error:  # noqa: BLE001 - reporting only
        info["postgresql"] = f"unavailable ({error.__class__.__name__})"
    return info


def fmt_table(rows: list[dict], columns: list[str]) -> str:
    """Return rows as a Markdown table."""
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(out)


def open_consultation_database(db: str, workdir, name: str, slug: str) -> str:
    """Create a database with an open copy of the demo consultation under slug; return its URL."""
    from datetime import timedelta

    from app.util import local_today

    url = f"sqlite:///{workdir / (name + '.sqlite')}" if db == "sqlite" else pg_url(name)
    recreate_database(url)
    today = local_today()
    definition = demo_definition(
        slug=slug, opens_on=(today - timedelta(days=1)).isoformat(),
        closes_on=(today + timedelta(days=30)).isoformat())
    app = make_app(url)
    prepare_schema(app, definition)
    with app.app_context():
        from app.extensions import db as sa_db

        sa_db.engine.dispose()
    return url
