"""Jobs: long work (imports, snapshots) run by a worker off the request, with its state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.util import utcnow

JOB_STATES = ("queued", "running", "succeeded", "failed")
JOB_KINDS = ("import", "snapshot")


class Job(db.Model):
    """One queued piece of work and what became of it, readable from any host.

    The worker writes phase/done/total and heartbeat_at while it runs (throttled); a job
    still "running" whose heartbeat is older than JOB_STALE_SECONDS, or whose worker process
    on this host is gone, is reported failed (services/jobs.py). `result` holds the summary
    (batch id and rows stored, or the first problems of a refused file); `report` the full
    problem report as gzip'd CSV (row, column, value, reason), served as a download.
    """

    __table_args__ = (Index("ix_job_consultation_kind", "consultation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # The uploaded file's name as the user chose it, and where it waits (None once removed).
    filename: Mapped[str | None] = mapped_column(String(255))
    # The starter's locale: the worker writes the job's messages in their language.
    locale: Mapped[str] = mapped_column(String(20), default="es_MX")
    file_path: Mapped[str | None] = mapped_column(String(1000))
    phase: Mapped[str] = mapped_column(String(20), default="queued")
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(2000))
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Which worker runs it: host name and process id (a dead process on this host = failed).
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")
