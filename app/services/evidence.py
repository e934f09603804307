"""Implementers' evidence: a file (type read from its content) or a public link, and
indicator reports, for the commitments of their agencies.

A file is stored outside the web root, under EVIDENCE_FOLDER (instance/evidence by default),
named by its SHA-256; nothing is stored when anything is wrong (type, size, date, scope).
Every submission is a milestone event (when it backs a milestone) and an audit event.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import Commitment, Evidence, IndicatorReport, Milestone, MilestoneEvent, Plan
from app.services import audit
from app.services.errors import DomainError
from app.services.plans import lead_agencies_of, may_report_for
from app.util import local_today

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_DESCRIPTION = 2000
MAX_URL = 2000

# Kind of file -> (media type, extension) of what is accepted.
FILE_TYPES = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpeg": ("image/jpeg", "jpg"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "docx"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    "odt": ("application/vnd.oasis.opendocument.text", "odt"),
    "csv": ("text/csv", "csv"),
}
_OPENDOCUMENT = {FILE_TYPES["ods"][0]: "ods", FILE_TYPES["odt"][0]: "odt"}


class EvidenceRefused(DomainError):
    """Evidence or an indicator report was refused; nothing was stored."""


class NotYourCommitment(DomainError):
    """The account may not report for this commitment's agency (the route answers 403)."""


@dataclass
class Upload:
    """A file as received: its name as the browser gave it and its bytes."""

    name: str
    data: bytes


def max_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def size_label(size: int) -> str:
    """Return a size as people read it: "20 MB", "1.5 MB", "512 KB"."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB"


def evidence_folder() -> Path:
    folder = current_app.config.get("EVIDENCE_FOLDER")
    return Path(folder) if folder else Path(current_app.instance_path) / "evidence"


def read_limited(stream, limit: int) -> bytes:
    """Read at most limit + 1 bytes (enough to tell the file is over the limit)."""
    return stream.read(limit + 1)


# --- what a file is, from its content -------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """Return the kind of file (a key of FILE_TYPES) its bytes show, or None.

    The name is never consulted: a PNG named .pdf is a PNG, a program named .pdf is refused.
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if _is_csv(data):
        return "csv"
    return None


def _sniff_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                kind = archive.read("mimetype").decode("ascii", "replace").strip()
                if kind in _OPENDOCUMENT and "content.xml" in names:
                    return _OPENDOCUMENT[kind]
                return None
            if "[Content_Types].xml" in names:
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "word/document.xml" in names:
                    return "docx"
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    return None


def _is_csv(data: bytes) -> bool:
    """Text in UTF-8 (or Windows-1252, as spreadsheets export it), no control characters but
    tabs and line ends, with a separator on its first line."""
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return False
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for ch in text):
        return False
    first = text.splitlines()[0] if text.splitlines() else ""
    return any(separator in first for separator in (",", ";", "\t"))


def safe_file_name(name: str, kind: str) -> str:
    """Return an ASCII file name with the extension of the kind the content shows."""
    stem = Path(name.replace("\\", "/").split("/")[-1]).stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:100] or "evidencia"
    return f"{stem}.{FILE_TYPES[kind][1]}"


def check_url(url: str) -> str | None:
    """Return why a link is refused, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("The link must be a public web address starting with http:// or https:// "
                 "(\"%(url)s\").", url=url[:200])
    if parts.username or parts.password:
        return _("The link must not carry a user name or password.")
    if len(url) > MAX_URL:
        return _("The link is longer than %(num)d characters.", num=MAX_URL)
    return None


def _date_problems(done_on: date | None, earliest: date, earliest_label: str) -> list[str]:
    if done_on is None:
        return [_("Give the date the work was done.")]
    today = local_today()
    if done_on > today:
        return [_("The date the work was done (%(date)s) is in the future; today is %(today)s.",
                  date=done_on.isoformat(), today=today.isoformat())]
    if done_on < earliest:
        return [_("The date the work was done (%(date)s) is before %(what)s (%(start)s).",
                  date=done_on.isoformat(), what=earliest_label, start=earliest.isoformat())]
    return []


def _evidence_problems(upload: Upload | None, url: str, description: str
                       ) -> tuple[list[str], str | None]:
    """Check the file or link and the description; return the problems and the file's kind."""
    problems: list[str] = []
    kind = None
    has_file = upload is not None and upload.data
    if has_file and url:
        problems.append(_("Give a file or a link, not both."))
    elif not has_file and not url:
        problems.append(_("Give a file or a link."))
    elif has_file:
        limit = max_bytes()
        if len(upload.data) > limit:
            problems.append(_("The file \"%(name)s\" is larger than the limit of %(limit)s.",
                              name=upload.name, limit=size_label(limit)))
        else:
            kind = sniff(upload.data)
            if kind is None:
                problems.append(_("The file \"%(name)s\" is not a PDF, an image (PNG, JPEG), a "
                                  "spreadsheet (XLSX, ODS, CSV) or a document (DOCX, ODT): its "
                                  "content was checked, whatever its name says.",
                                  name=upload.name))
    else:
        problem = check_url(url)
        if problem:
            problems.append(problem)
    if not description.strip():
        problems.append(_("Describe what the evidence shows."))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(_("The description is longer than %(num)d characters.",
                          num=MAX_DESCRIPTION))
    return problems, kind


def _store(data: bytes) -> tuple[str, str]:
    """Write the bytes under the folder, named by their SHA-256; return (relative path, hash)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}"
    target = evidence_folder() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    return relative, digest


def stored_path(evidence: Evidence) -> Path:
    return evidence_folder() / evidence.file_path


def _new_evidence(session, commitment: Commitment, milestone: Milestone | None, user,
                  upload: Upload | None, url: str, description: str, done_on: date,
                  kind: str | None) -> Evidence:
    evidence = Evidence(commitment_id=commitment.id,
                        milestone_id=milestone.id if milestone else None,
                        submitted_by_id=user.id, description=description.strip(),
                        done_on=done_on, state="pending")
    if kind is not None:
        relative, digest = _store(upload.data)
        evidence.kind = "file"
        evidence.file_path = relative
        evidence.sha256 = digest
        evidence.file_name = safe_file_name(upload.name, kind)
        evidence.media_type = FILE_TYPES[kind][0]
        evidence.size = len(upload.data)
    else:
        evidence.kind = "link"
        evidence.url = url
    session.add(evidence)
    session.flush()
    return evidence


def _check_scope(user, commitment: Commitment) -> None:
    if not may_report_for(user, commitment):
        raise NotYourCommitment(_("Commitment %(number)d belongs to %(agency)s, which is not "
                                  "one of your agencies.", number=commitment.number,
                                  agency=commitment.lead_agency))


def submit_evidence(milestone_id: int, user, *, upload: Upload | None, url: str,
                    description: str, done_on: date | None) -> Evidence:
    """Record evidence for a milestone (pending review); refuse it whole with every problem."""
    url = (url or "").strip()
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise EvidenceRefused(_("No such milestone."))
    _check_scope(user, milestone.commitment)
    problems, kind = _evidence_problems(upload, url, description or "")
    problems += _date_problems(done_on, milestone.starts_on, _("the milestone's start"))
    if milestone.completed_on is not None:
        problems.append(_("This milestone is already complete; a coordinator or monitor must "
                          "reopen it before new evidence is sent."))
    if problems:
        raise EvidenceRefused(_("The evidence was not saved."), problems)
    with write_transaction() as session:
        milestone = session.get(Milestone, milestone_id, populate_existing=True,
                                with_for_update=True)
        if milestone.completed_on is not None:  # completed since the checks above
            raise EvidenceRefused(_("The evidence was not saved."), [_(
                "This milestone is already complete; a coordinator or monitor must reopen it "
                "before new evidence is sent.")])
        commitment = milestone.commitment
        evidence = _new_evidence(session, commitment, milestone, user, upload, url,
                                 description, done_on, kind)
        session.add(MilestoneEvent(milestone_id=milestone.id, kind="submitted",
                                   evidence_id=evidence.id, actor_id=user.id))
        audit.record("evidence.submit", actor=user, object_type="evidence",
                     object_id=evidence.id, **_summary(evidence))
    return evidence


def report_indicator(commitment_id: int, user, *, value: str, measured_on: date | None,
                     upload: Upload | None, url: str, description: str) -> IndicatorReport:
    """Record a value of the commitment's indicator, with the evidence behind it."""
    url = (url or "").strip()
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        raise EvidenceRefused(_("No such commitment."))
    _check_scope(user, commitment)
    problems: list[str] = []
    if not commitment.has_indicator:
        problems.append(_("This commitment has no indicator yet."))
    number = None
    try:
        number = float(str(value).strip().replace(",", "."))
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        problems.append(_("The indicator value \"%(value)s\" is not a number.",
                          value=str(value)[:40]))
    evidence_problems, kind = _evidence_problems(upload, url, description or "")
    problems += evidence_problems
    problems += _date_problems(measured_on, commitment.starts_on, _("the commitment's start"))
    if problems:
        raise EvidenceRefused(_("The indicator value was not saved."), problems)
    with write_transaction() as session:
        commitment = session.get(Commitment, commitment_id)
        evidence = _new_evidence(session, commitment, None, user, upload, url, description,
                                 measured_on, kind)
        report = IndicatorReport(commitment_id=commitment.id, value=number,
                                 measured_on=measured_on, evidence_id=evidence.id,
                                 reported_by_id=user.id)
        session.add(report)
        session.flush()
        audit.record("indicator.report", actor=user, object_type="indicator_report",
                     object_id=report.id, value=number, measured_on=measured_on.isoformat(),
                     evidence=evidence.id)
        audit.record("evidence.submit", actor=user, object_type="evidence",
                     object_id=evidence.id, **_summary(evidence))
    return report


def _summary(evidence: Evidence) -> dict:
    return {"commitment": evidence.commitment_id, "milestone": evidence.milestone_id,
            "kind": evidence.kind, "sha256": evidence.sha256, "url": evidence.url,
            "done_on": evidence.done_on.isoformat()}


# --- what an implementer sees ----------------------------------------------------------------


def commitments_for(user) -> list[Commitment]:
    """Return the commitments the account reports for (all for coordinators), by plan."""
    agencies = lead_agencies_of(user)
    query = (db.select(Commitment).join(Plan, Commitment.plan_id == Plan.id)
             .order_by(Plan.starts_on.desc(), Plan.slug, Commitment.number))
    if agencies is not None:
        if not agencies:
            return []
        query = query.where(Commitment.lead_agency.in_(sorted(agencies)))
    return list(db.session.scalars(query))


def milestone_or_none(milestone_id: int) -> Milestone | None:
    return db.session.get(Milestone, milestone_id)


def commitment_or_none(commitment_id: int) -> Commitment | None:
    return db.session.get(Commitment, commitment_id)


def get(evidence_id: int) -> Evidence | None:
    return db.session.get(Evidence, evidence_id)


def indicator_reports(commitment: Commitment) -> list[IndicatorReport]:
    return list(db.session.scalars(
        db.select(IndicatorReport).where(IndicatorReport.commitment_id == commitment.id)
        .order_by(IndicatorReport.measured_on, IndicatorReport.id)))
