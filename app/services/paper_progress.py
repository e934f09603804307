"""Paper questionnaires: the counters of the keying screen and the progress table.

Part of the paper channel with app.services.paper and app.services.paper_batches;
app.services.paper re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import and_, case, func, literal, or_

from app.extensions import db
from app.models import (
    Consultation,
    Municipality,
    PaperBatch,
    PaperKeying,
    PaperResolution,
    Region,
    Response,
    User,
)
from app.services.paper_batches import format_serial
from app.util import CONSULTATION_TZ, local_today


def live_resolution_exists(consultation_id: int, serial):
    """The EXISTS clause of a form's resolution that is not voided (serial may be a column)."""
    return db.select(PaperResolution.id).where(
        PaperResolution.consultation_id == consultation_id, PaperResolution.serial == serial,
        PaperResolution.voided_at.is_(None)).exists()


def today_start_utc() -> datetime:
    """Return the start of today in Mexico City as naive UTC, the way times are stored."""
    start = datetime.combine(local_today(), time.min, tzinfo=CONSULTATION_TZ)
    return start.astimezone(UTC).replace(tzinfo=None)


def keyed_today(consultation: Consultation, actor: User) -> int:
    """Return how many forms the actor keyed today (local date)."""
    return db.session.scalar(db.select(func.count(PaperKeying.id)).where(
        PaperKeying.consultation_id == consultation.id, PaperKeying.keyed_by_id == actor.id,
        PaperKeying.voided_at.is_(None), PaperKeying.created_at >= today_start_utc())) or 0


def remaining_in_batch(consultation: Consultation, batch: PaperBatch) -> int:
    """Return the forms of a batch still to key: not accepted and not waiting for a decision."""
    low = format_serial(batch.municipality_code, batch.first_sequence)
    high = format_serial(batch.municipality_code, batch.last_sequence)
    done = db.session.scalar(db.select(func.count(Response.id)).where(
        Response.consultation_id == consultation.id, Response.state != "voided",
        Response.form_serial.between(low, high)))
    waiting = db.session.scalar(db.select(func.count(PaperKeying.id)).where(
        PaperKeying.consultation_id == consultation.id, PaperKeying.pass_number == 2,
        PaperKeying.mismatch.is_(True), PaperKeying.voided_at.is_(None),
        PaperKeying.serial.between(low, high),
        ~live_resolution_exists(consultation.id, PaperKeying.serial)))
    return batch.count - (done or 0) - (waiting or 0)


PROGRESS_COLUMNS = ("issued", "entered_once", "verified", "discrepancy", "accepted")


@dataclass
class ProgressRow:
    region_number: int
    region_name: str
    municipality_code: str
    municipality_name: str
    issued: int = 0
    entered_once: int = 0
    verified: int = 0
    discrepancy: int = 0
    accepted: int = 0


def progress(consultation: Consultation, actor: User, *, region: int | None = None,
             municipality: str | None = None) -> list[ProgressRow]:
    """Return, per municipality with any activity, the counts of the paper pipeline.

    issued: serials printed; entered_once: keyed once, waiting for the second keying;
    verified: second keying matched the first; discrepancy: keyings differ, no decision yet;
    accepted: accepted paper responses (keyed, adjudicated or imported).
    """
    cid = consultation.id
    counts: dict[str, dict[str, int]] = {}

    def add(rows, name):
        for code, value in rows:
            counts.setdefault(code, {})[name] = int(value or 0)

    add(db.session.execute(db.select(PaperBatch.municipality_code, func.sum(PaperBatch.count))
                           .where(PaperBatch.consultation_id == cid)
                           .group_by(PaperBatch.municipality_code)), "issued")
    resolved = live_resolution_exists(cid, PaperKeying.serial)
    per_form = (db.select(PaperKeying.municipality_code.label("code"),
                          func.max(PaperKeying.pass_number).label("passes"),
                          func.max(case((and_(PaperKeying.mismatch.is_(True), ~resolved), 1),
                                        else_=0)).label("open"),
                          func.max(case((PaperKeying.mismatch.is_(True), 1), else_=0))
                          .label("differed"))
                .where(PaperKeying.consultation_id == cid, PaperKeying.voided_at.is_(None))
                .group_by(PaperKeying.municipality_code, PaperKeying.serial).subquery())
    # With single entry, a form keyed once is accepted at once: nothing waits for a second pass.
    once_expr = func.sum(case((per_form.c.passes == 1, 1), else_=0)) if consultation.double_entry \
        else literal(0)
    for code, once, verified, open_ in db.session.execute(db.select(
            per_form.c.code, once_expr,
            func.sum(case((and_(per_form.c.passes == 2, per_form.c.differed == 0), 1),
                          else_=0)),
            func.sum(per_form.c.open)).group_by(per_form.c.code)):
        counts.setdefault(code, {}).update(entered_once=int(once or 0),
                                           verified=int(verified or 0),
                                           discrepancy=int(open_ or 0))
    add(db.session.execute(db.select(Response.municipality_code, func.count(Response.id))
                           .where(Response.consultation_id == cid, Response.channel == "paper",
                                  Response.state == "accepted")
                           .group_by(Response.municipality_code)), "accepted")
    scope = actor.municipality_codes()
    query = db.select(Municipality.code, Municipality.name, Region.number, Region.name).join(
        Region, Region.number == Municipality.region_number).where(
        Municipality.code.in_(list(counts) or [""]))
    if scope is not None:
        query = query.where(Municipality.code.in_(scope))
    if region is not None:
        query = query.where(Region.number == region)
    if municipality:
        query = query.where(or_(Municipality.code == municipality,
                                Municipality.name == municipality))
    rows = []
    for code, name, number, region_name in db.session.execute(
            query.order_by(Region.number, Municipality.name)):
        rows.append(ProgressRow(number, region_name, code, name, **counts[code]))
    return rows


def region_totals(rows: list[ProgressRow]) -> list[ProgressRow]:
    """Sum the municipality rows of each region (the regional subtotals of the page)."""
    totals: dict[int, ProgressRow] = {}
    for row in rows:
        total = totals.setdefault(row.region_number, ProgressRow(
            row.region_number, row.region_name, "", ""))
        for name in PROGRESS_COLUMNS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return list(totals.values())
