"""Paper questionnaires: serials and the batches that issue them, never reused.

Part of the paper channel with app.services.paper (keying, adjudication, voiding) and
app.services.paper_progress (counters and the progress table); app.services.paper re-exports
these names.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, Municipality, PaperBatch, User
from app.services import audit
from app.services.errors import DomainError, OutOfScope
from app.util import utcnow

SERIAL = re.compile(r"^(\d{5})-(\d{6})$")
MAX_BATCH = 5000


def format_serial(municipality_code: str, sequence: int) -> str:
    return f"{municipality_code}-{sequence:06d}"


def parse_serial(serial: str) -> tuple[str, int]:
    """Return (municipality code, sequence) of a serial such as 14039-000123."""
    match = SERIAL.match((serial or "").strip())
    if not match:
        raise DomainError(_("\"%(serial)s\" is not a form serial: it looks like 14039-000123 "
                            "(municipality code, dash, six digits).", serial=serial[:40]))
    return match.group(1), int(match.group(2))


def check_scope(actor: User, municipality_code: str) -> None:
    if not actor.may_work_on(municipality_code):
        raise OutOfScope(_("Your account may not work on municipality %(code)s.",
                           code=municipality_code))


def check_published(consultation: Consultation) -> None:
    """Refuse paper work on a draft: a printed or keyed form would freeze its structure."""
    if consultation.is_draft:
        raise DomainError(_("This consultation is a draft: publish it before printing, keying "
                            "or importing forms."))


# Batches ------------------------------------------------------------------------------------


def create_batch(consultation: Consultation, municipality_code: str, count: int, *,
                 actor: User) -> PaperBatch:
    """Issue `count` new serials for a municipality, continuing from its last batch."""
    if db.session.get(Municipality, municipality_code) is None:
        raise DomainError(_("Unknown municipality %(code)s.", code=municipality_code))
    check_scope(actor, municipality_code)
    if not 1 <= count <= MAX_BATCH:
        raise DomainError(_("A batch has from 1 to %(max)d forms.", max=MAX_BATCH))
    if "paper" not in consultation.channels:
        raise DomainError(_("This consultation does not take paper forms."))
    check_published(consultation)
    consultation_id = consultation.id
    try:
        with write_transaction() as session:
            last = session.scalar(db.select(func.max(PaperBatch.last_sequence)).where(
                PaperBatch.consultation_id == consultation_id,
                PaperBatch.municipality_code == municipality_code)) or 0
            if last + count > 999_999:
                raise DomainError(_("Municipality %(code)s has no serials left.",
                                    code=municipality_code))
            batch = PaperBatch(consultation_id=consultation_id,
                               municipality_code=municipality_code, first_sequence=last + 1,
                               last_sequence=last + count, count=count, created_by_id=actor.id,
                               created_at=utcnow())
            session.add(batch)
            session.flush()
            audit.record("paper.batch_created", actor=actor, object_type="paper_batch",
                         object_id=batch.id, municipality=municipality_code, count=count,
                         first=format_serial(municipality_code, last + 1),
                         last=format_serial(municipality_code, last + count))
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("Another batch for this municipality was created at the same "
                            "moment; try again.")) from None
    return batch


def batches(consultation: Consultation, actor: User) -> list[PaperBatch]:
    """Return the batches of a consultation for the municipalities the actor may see."""
    query = db.select(PaperBatch).where(PaperBatch.consultation_id == consultation.id)
    codes = actor.municipality_codes()
    if codes is not None:
        query = query.where(PaperBatch.municipality_code.in_(codes))
    return list(db.session.scalars(query.order_by(PaperBatch.created_at.desc(),
                                                  PaperBatch.id.desc())))


def get_batch(consultation: Consultation, batch_id: int, actor: User) -> PaperBatch:
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.consultation_id != consultation.id:
        raise DomainError(_("No batch %(id)d in this consultation.", id=batch_id))
    check_scope(actor, batch.municipality_code)
    return batch


def batch_of(consultation: Consultation, serial: str) -> PaperBatch | None:
    """Return the batch that issued a serial, or None when the app did not issue it."""
    try:
        municipality, sequence = parse_serial(serial)
    except DomainError:
        return None
    return db.session.scalar(db.select(PaperBatch).where(
        PaperBatch.consultation_id == consultation.id,
        PaperBatch.municipality_code == municipality,
        PaperBatch.first_sequence <= sequence, PaperBatch.last_sequence >= sequence))
