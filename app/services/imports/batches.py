"""Import batches: listing them and voiding one as a whole."""

from __future__ import annotations

from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, ImportBatch, Response, User
from app.services import audit
from app.services.errors import DomainError, OutOfScope
from app.util import utcnow


def void_batch(batch_id: int, *, actor: User, reason: str) -> ImportBatch:
    """Void every response of an import batch, keeping them with who, when and why."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for voiding the batch."))
    with write_transaction() as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise DomainError(_("No import batch %(id)d.", id=batch_id))
        if batch.voided_at is not None:
            raise DomainError(_("Batch %(id)d was already voided.", id=batch_id))
        municipalities = set(session.scalars(db.select(Response.municipality_code).distinct()
                                             .where(Response.batch_id == batch.id)))
        outside = sorted(code for code in municipalities if not actor.may_work_on(code))
        if outside:
            raise OutOfScope(_("This batch has responses for municipalities your account may "
                               "not work on: %(codes)s.", codes=", ".join(outside)))
        now = utcnow()
        batch.voided_at, batch.voided_by_id, batch.void_reason = now, actor.id, reason
        count = session.execute(
            db.update(Response).where(Response.batch_id == batch.id,
                                      Response.state == "accepted")
            .values(state="voided", voided_at=now, voided_by_id=actor.id, void_reason=reason)
        ).rowcount
        audit.record("import.voided", actor=actor, object_type="import_batch",
                     object_id=batch.id, reason=reason, responses=count)
    return batch


def batches(consultation: Consultation, actor: User) -> list[ImportBatch]:
    """Return the import batches of a consultation the actor uploaded or may see, newest first."""
    query = db.select(ImportBatch).where(ImportBatch.consultation_id == consultation.id)
    if actor.municipality_codes() is not None:
        query = query.where(ImportBatch.created_by_id == actor.id)
    return list(db.session.scalars(query.order_by(ImportBatch.id.desc())))
