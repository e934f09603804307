"""The task queue (huey): long work runs in a worker process, never inside a web request.

Storage is a SQLite file under instance/ by default (`make run` needs nothing else) and Redis
when TASK_QUEUE_URL=redis://host:port/db is set (several hosts). The worker is

    .venv/bin/huey_consumer app.tasks.huey -w 2

started with the same environment as the web processes. A task only carries a job id: the
job's state, progress and outcome live in the database (app/models/job.py), where every
host reads them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from huey import Huey, RedisHuey, SqliteHuey

from app.extensions import db
from app.models import Job
from app.services.errors import DomainError
from config import INSTANCE_DIR, config_from_environment


def make_huey(url: str, name: str = "consulta", instance: Path = INSTANCE_DIR) -> Huey:
    """Return the queue named by a TASK_QUEUE_URL (empty: a SQLite file under instance/)."""
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(instance / "tasks.db"), results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"), results=False)
    raise RuntimeError(f"TASK_QUEUE_URL={url!r}: use redis://host:port/db or "
                       "sqlite:///path/to/tasks.db (or leave it empty).")


log = logging.getLogger(__name__)
_config = config_from_environment()
huey = make_huey(_config.TASK_QUEUE_URL, _config.TASK_QUEUE_NAME)

_app: Flask | None = None
_app_lock = threading.Lock()


@contextmanager
def app_context() -> Iterator[None]:
    """Run inside the current app (immediate mode) or the worker's own app."""
    if has_app_context():
        yield
        return
    global _app
    with _app_lock:
        if _app is None:
            from app import create_app

            _app = create_app()
    with _app.app_context():
        yield


def enqueue(job: Job) -> Job:
    """Hand a committed job to the queue; mark it failed if the queue cannot take it."""
    from app.services import jobs

    huey.immediate = bool(current_app.config.get("TASK_QUEUE_IMMEDIATE"))
    job_id = job.id
    try:
        run_job(job_id)
    except Exception as error:  # noqa: BLE001 - Redis down, a SQLite queue file unwritable…
        log.exception("job %s could not be queued", job_id)
        db.session.rollback()
        jobs.fail(job_id, _("The job could not be queued (%(reason)s); nothing was stored. Try "
                            "again in a moment.", reason=error.__class__.__name__))
        raise DomainError(_("The job could not be queued; nothing was stored. Try again in a "
                            "moment.")) from error
    db.session.expire_all()
    return job


@huey.task()
def run_job(job_id: int) -> None:
    """Run one job (app/services/jobs.py records what happens)."""
    from app.services import jobs

    with app_context():
        jobs.run(job_id)


@huey.on_startup()
def fail_abandoned_jobs() -> None:
    """Report failed the jobs a killed worker left "running" (the next worker looks at them)."""
    from app.services import jobs

    with app_context():
        jobs.fail_abandoned()
