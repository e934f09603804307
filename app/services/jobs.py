"""Jobs: queue long work (imports, snapshots), run it in a worker, record its state.

A web request only saves the upload and queues a job; a worker (app/tasks.py) runs it and
writes its progress and heartbeat to the job row, throttled, on a connection of its own (so
they are visible while the import's own transaction is still open). Whoever reads a job that
is still "running" checks that its worker is alive: a dead process on this host, or a
heartbeat older than JOB_STALE_SECONDS, marks it failed. The import stores its rows in one
transaction, so a worker killed mid-way leaves nothing half-stored.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import update

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, Job, User
from app.services import import_limits, imports
from app.services.errors import DomainError, OutOfScope
from app.services.spreadsheet import safe_row
from app.util import local_today, utcnow

log = logging.getLogger(__name__)

REPORT_COLUMNS = ("row", "column", "value", "reason")


def files_folder() -> Path:
    folder = Path(current_app.config["JOB_FILES_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Starting -----------------------------------------------------------------------------------


def _stored_name(filename: str, kind: str) -> str:
    """Return the user's file name, cut to the column's size with its extension kept."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or f"file.{kind}"
    return name if len(name) <= 255 else name[:240] + "." + kind


def _save(stream: IO[bytes], path: Path, max_bytes: int) -> int:
    """Copy an upload to path; refuse it past max_bytes (nothing kept)."""
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise import_limits.too_large(max_bytes)
            out.write(chunk)
    return size


def start_import(consultation: Consultation, stream: IO[bytes], filename: str, *,
                 actor: User) -> Job:
    """Keep an uploaded file as a queued import job; raise DomainError if it is refused now.

    The caller hands the job to the queue (app.tasks.enqueue), which imports this module, not
    the other way round.

    The size limit and an XLSX's expanded size and declared rows are checked here, before
    anything is queued; every row is checked by the worker.
    """
    imports.refuse_draft(consultation)  # said on the upload page, before anything is kept
    kind = imports.file_kind(filename)
    config = current_app.config
    folder = files_folder()
    upload = folder / f"upload-{uuid.uuid4().hex}.{kind}"
    path = None
    try:
        _save(stream, upload, config["IMPORT_MAX_BYTES"])
        if kind == "xlsx":
            import_limits.check_xlsx_parts(upload, config["IMPORT_MAX_ROWS"],
                                           config["IMPORT_MAX_EXPANDED_BYTES"])
        with write_transaction() as session:
            job = _new_job("import", consultation, actor, filename=_stored_name(filename, kind))
            session.add(job)
            session.flush()
            path = folder / f"job-{job.id}.{kind}"
            upload.rename(path)
            job.file_path = str(path)
    except BaseException:
        upload.unlink(missing_ok=True)
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    return job


def _new_job(kind: str, consultation: Consultation, actor: User | None, **values) -> Job:
    return Job(kind=kind, consultation_id=consultation.id,
               created_by_id=actor.id if actor else None,
               locale=str(get_locale() or "es_MX"), state="queued", phase="queued", done=0,
               total=0, result={}, problem_count=0, created_at=utcnow(), **values)


def start_snapshot(consultation: Consultation, *, actor: User | None) -> Job:
    """Record a job computing a closed consultation's snapshot (app.tasks.enqueue runs it)."""
    if consultation.status(local_today()) != "closed":
        raise DomainError(_(
            "\"%(slug)s\" is not closed: only a closed consultation's results are stored "
            "(an open one changes with every response).", slug=consultation.slug))
    with write_transaction() as session:
        job = _new_job("snapshot", consultation, actor)
        session.add(job)
    return job


def fail(job_id: int, error: str) -> None:
    """Record that a job failed before it ran (e.g. the queue could not take it)."""
    _finish(job_id, "failed", error=error)


# Running ------------------------------------------------------------------------------------


class Heartbeat:
    """Write a running job's heartbeat and latest progress every few seconds, from a thread
    with its own database connection (the import's transaction may be open for minutes)."""

    def __init__(self, job_id: int, interval: float):
        self.job_id = job_id
        self.interval = interval
        self.engine = db.engine
        self.latest: tuple[str, int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat",
                                        daemon=True)

    def progress(self, phase: str, done: int, total: int) -> None:
        self.latest = (phase, done, total)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if self.latest is not None:
            values.update(zip(("phase", "done", "total"), self.latest, strict=True))
        try:
            with self.engine.begin() as connection:
                connection.execute(update(Job).where(Job.id == self.job_id,
                                                     Job.state == "running").values(**values))
        except Exception:  # noqa: BLE001 - SQLite's write lock held by the import: next beat
            log.debug("heartbeat of job %s skipped", self.job_id, exc_info=True)


@dataclass
class Outcome:
    state: str
    result: dict
    error: str | None = None
    problems: list[dict] | None = None


def run(job_id: int) -> None:
    """Run a queued job in this process and record its outcome (never raises)."""
    # Every write of the job's row goes through write_transaction: on SQLite a session still
    # reading from before the heartbeat's last write could not write at all ("locked").
    with write_transaction() as session:
        claimed = session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                                  .values(state="running", phase="start", worker=worker_id(),
                                          started_at=utcnow(), heartbeat_at=utcnow()))
    if claimed.rowcount != 1:
        return  # gone, or already taken by another worker
    job = db.session.get(Job, job_id)
    heartbeat = Heartbeat(job_id, current_app.config["JOB_HEARTBEAT_SECONDS"])
    heartbeat.start()
    try:
        with force_locale(job.locale or "es_MX"):
            try:
                outcome = RUNNERS[job.kind](job, heartbeat.progress)
            except Exception as error:  # noqa: BLE001 - reported on the job, not lost
                log.exception("job %s failed", job_id)
                db.session.rollback()
                outcome = Outcome("failed", {}, _(
                    "The job stopped on an unexpected error (%(reason)s); nothing was stored.",
                    reason=error.__class__.__name__))
    finally:
        heartbeat.stop()
    _finish(job_id, outcome.state, result=outcome.result, error=outcome.error,
            problems=outcome.problems)


def _finish(job_id: int, state: str, *, result: dict | None = None, error: str | None = None,
            problems: list[dict] | None = None) -> None:
    """Record a job's end, keep its problem report and remove its uploaded file."""
    report = _report(problems) if problems else None
    with write_transaction() as session:
        path = _record_end(session.get(Job, job_id), state, result, error, problems, report)
    if path:
        Path(path).unlink(missing_ok=True)


def _record_end(job: Job, state: str, result: dict | None, error: str | None,
                problems: list[dict] | None, report: bytes | None) -> str | None:
    job.state = state
    job.phase = state
    job.result = result or {}
    job.error = error[:2000] if error else None
    job.finished_at = utcnow()
    if problems:
        shown = current_app.config["IMPORT_PROBLEMS_SHOWN"]
        job.problem_count = len(problems)
        job.result = {**job.result, "problems": problems[:shown]}
        job.report = report
    path = job.file_path
    job.file_path = None
    return path


def _report(problems: list[dict]) -> bytes:
    """Return every problem as gzip'd UTF-8 CSV (cells safe to open in a spreadsheet)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(REPORT_COLUMNS)
        for problem in problems:
            writer.writerow(safe_row(["" if problem["row"] is None else problem["row"],
                                      problem["column"], problem["value"],
                                      problem["reason"]]))
        text.flush()
        text.detach()
    return buffer.getvalue()


def report_csv(job: Job) -> Iterator[bytes]:
    """Yield a job's full problem report as CSV bytes, decompressed as it is sent."""
    with gzip.GzipFile(fileobj=io.BytesIO(job.report or b"")) as stream:
        while chunk := stream.read(1 << 16):
            yield chunk


def _problem(problem: imports.Problem) -> dict:
    return {"row": problem.row, "column": problem.column, "value": problem.value,
            "reason": problem.reason}


def _run_import(job: Job, progress) -> Outcome:
    consultation = db.session.get(Consultation, job.consultation_id)
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if consultation is None or job.file_path is None or not Path(job.file_path).exists():
        return Outcome("failed", {}, _("The uploaded file is no longer there; nothing was "
                                       "stored. Upload it again."))
    path = Path(job.file_path)
    config = current_app.config
    try:
        kind = imports.file_kind(job.filename or path.name)
        progress("count", 0, 0)
        import_limits.count_rows(path, kind, config["IMPORT_MAX_ROWS"], progress)
        with path.open("rb") as stream:
            result = imports.import_file(consultation, stream, job.filename or path.name,
                                         actor=actor, progress=progress)
    except imports.ImportRejected as error:
        db.session.rollback()
        return Outcome("failed", {}, error.message, [_problem(p) for p in error.rows])
    except OutOfScope as error:
        db.session.rollback()
        return Outcome("failed", {"out_of_scope": True}, error.message,
                       [{"row": None, "column": "", "value": "", "reason": str(detail)}
                        for detail in error.problems])
    except DomainError as error:
        db.session.rollback()
        return Outcome("failed", {}, error.message)
    return Outcome("succeeded", {"batch": result.batch.id, "rows": result.row_count,
                                 "notices": [_problem(p) for p in result.notices]})


def _run_snapshot(job: Job, progress) -> Outcome:
    from app.services import datasets

    consultation = db.session.get(Consultation, job.consultation_id)
    if consultation is None:
        return Outcome("failed", {}, _("The consultation no longer exists."))
    progress("snapshot", 0, 0)
    stored = datasets.snapshot_results(consultation)
    return Outcome("succeeded", {"tables": stored})


RUNNERS = {"import": _run_import, "snapshot": _run_snapshot}


# Reading ------------------------------------------------------------------------------------


def _process_alive(worker: str | None) -> bool | None:
    """Tell whether a job's worker process is alive: only knowable on its host (else None)."""
    if not worker or ":" not in worker:
        return None
    host, _sep, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned_message() -> str:
    return _("The worker running this job stopped before the end (it was stopped, killed or "
             "crashed); nothing was stored. Start the job again.")


def check_alive(job: Job) -> Job:
    """Mark a running job failed if its worker is gone or silent; return the job."""
    if job.state != "running":
        return job
    alive = _process_alive(job.worker)
    if alive is None:
        # Another host's worker: only its heartbeat tells. (On this host the process itself
        # is asked: SQLite's write lock keeps the heartbeat out while an import stores.)
        stale = timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
        alive = job.heartbeat_at is not None and utcnow() - job.heartbeat_at <= stale
    if alive:
        return job
    path, seen_beat = job.file_path, job.heartbeat_at
    # Only if nothing moved since we looked: a live worker's beat wins.
    with write_transaction() as session:
        changed = session.execute(update(Job).where(
            Job.id == job.id, Job.state == "running", Job.heartbeat_at == seen_beat)
            .values(state="failed", phase="failed", error=abandoned_message(),
                    finished_at=utcnow(), file_path=None))
    if changed.rowcount == 1 and path:
        Path(path).unlink(missing_ok=True)
    db.session.refresh(job)
    return job


def fail_abandoned() -> int:
    """Mark failed every running job whose worker is gone or silent; return how many."""
    running = list(db.session.scalars(db.select(Job).where(Job.state == "running")))
    return sum(1 for job in running if check_alive(job).state == "failed")


def wait(job_id: int, poll: float = 0.5) -> Job:
    """Wait for a job to end (checking that its worker is alive) and return it."""
    while True:
        db.session.rollback()  # see what the worker committed
        job = check_alive(db.session.get(Job, job_id))
        if job.finished:
            return job
        time.sleep(poll)


def get_for(job_id: int, consultation: Consultation, actor: User, kind: str = "import") -> Job:
    """Return the actor's own job of this consultation (checked alive), or raise DomainError."""
    job = db.session.get(Job, job_id)
    if (job is None or job.consultation_id != consultation.id or job.kind != kind
            or job.created_by_id != actor.id):
        raise DomainError(_("No such job."))
    return check_alive(job)


def waiting_long(job: Job) -> bool:
    """Tell whether a job has waited for a worker longer than a worker takes to start one."""
    stale = timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    return job.state == "queued" and utcnow() - job.created_at > stale / 4


def state(job: Job) -> dict:
    """Return what a poll needs: state, phase, done, total."""
    return {"state": job.state, "phase": job.phase, "done": job.done, "total": job.total}


def recent(consultation: Consultation, actor: User, kind: str = "import",
           limit: int = 10) -> list[Job]:
    """Return the actor's latest jobs of this consultation, newest first."""
    return list(db.session.scalars(db.select(Job).where(
        Job.consultation_id == consultation.id, Job.kind == kind,
        Job.created_by_id == actor.id).order_by(Job.id.desc()).limit(limit)))
