"""Staff follow-up pages: an implementer's commitments and evidence, the committee's queue.

The rules (scope, file types, dates, quorum) live in app/services/evidence.py and review.py;
these views read forms, call them and show what they say.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.decorators import role_required
from app.followup import bp
from app.followup.forms import EvidenceForm, IndicatorForm, ReopenForm, ReviewForm
from app.navigation import register
from app.services import evidence as evidence_service
from app.services import review as review_service
from app.services.errors import DomainError
from app.services.lights import milestone_status
from app.services.plan_board import milestone_dates
from app.services.plans import may_report_for
from app.util import local_today

REPORTERS = ("implementer", "coordinator")
REVIEWERS = ("monitor",)
# Who opens a piece of evidence: its reviewers, coordinators, the agency's implementers.
READERS = ("monitor", "coordinator", "implementer")
REOPENERS = ("coordinator", "monitor")

register("followup.index", _l("Plan follow-up"), *REPORTERS, order=70)
register("followup.review_queue", _l("Evidence to review"), *REVIEWERS, order=71)


def _problems(error: DomainError) -> list[str]:
    return [error.message, *error.problems]


def _upload(form) -> evidence_service.Upload | None:
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    data = evidence_service.read_limited(storage.stream, evidence_service.max_bytes())
    return evidence_service.Upload(name=storage.filename, data=data)


def _max_size() -> str:
    return evidence_service.size_label(evidence_service.max_bytes())


def _date_problem(form) -> list[str]:
    if form.done_on.errors:
        raw = request.form.get("done_on", "")
        return [_("\"%(value)s\" is not a date: write it as YYYY-MM-DD.", value=raw[:40])]
    return []


def _milestone_in_scope(milestone_id: int):
    milestone = evidence_service.milestone_or_none(milestone_id)
    if milestone is None:
        abort(404)
    if not may_report_for(current_user, milestone.commitment):
        abort(403)
    return milestone


@bp.route("/")
@role_required(*REPORTERS)
def index():
    today = local_today()
    commitments = evidence_service.commitments_for(current_user)
    status = {m.id: milestone_status(milestone_dates(m), today)
              for c in commitments for m in c.milestones}
    return render_template("followup/index.html", commitments=commitments, status=status,
                           today=today)


@bp.route("/milestones/<int:milestone_id>/evidence", methods=["GET", "POST"])
@role_required(*REPORTERS)
def submit_evidence(milestone_id: int):
    milestone = _milestone_in_scope(milestone_id)
    form = EvidenceForm()
    problems: list[str] = []
    if form.is_submitted():
        form.validate()
        problems = _date_problem(form)
        if not problems:
            try:
                evidence_service.submit_evidence(
                    milestone.id, current_user, upload=_upload(form), url=form.url.data or "",
                    description=form.description.data or "", done_on=form.done_on.data)
            except evidence_service.NotYourCommitment:
                abort(403)
            except DomainError as error:
                problems = _problems(error)
            else:
                flash(_("Evidence sent: the Follow-up Committee will review it."), "success")
                return redirect(url_for("followup.index")), 303
    status = 400 if problems or (form.is_submitted() and form.errors) else 200
    return render_template("followup/evidence_form.html", form=form, problems=problems,
                           milestone=milestone, commitment=milestone.commitment,
                           history=review_service.history(milestone),
                           max_size=_max_size()), status


@bp.route("/commitments/<int:commitment_id>/indicator", methods=["GET", "POST"])
@role_required(*REPORTERS)
def report_indicator(commitment_id: int):
    commitment = evidence_service.commitment_or_none(commitment_id)
    if commitment is None:
        abort(404)
    if not may_report_for(current_user, commitment):
        abort(403)
    form = IndicatorForm()
    problems: list[str] = []
    if form.is_submitted():
        form.validate()
        problems = _date_problem(form)
        if not problems:
            try:
                evidence_service.report_indicator(
                    commitment.id, current_user, value=form.value.data or "",
                    measured_on=form.done_on.data, upload=_upload(form),
                    url=form.url.data or "", description=form.description.data or "")
            except evidence_service.NotYourCommitment:
                abort(403)
            except DomainError as error:
                problems = _problems(error)
            else:
                flash(_("Indicator value sent with its evidence: the Follow-up Committee will "
                        "review it."), "success")
                return redirect(url_for("followup.index")), 303
    status = 400 if problems else 200
    return render_template("followup/indicator_form.html", form=form, problems=problems,
                           commitment=commitment,
                           reports=evidence_service.indicator_reports(commitment),
                           max_size=_max_size()), status


@bp.route("/review")
@role_required(*REOPENERS)
def review_queue():
    return render_template("followup/queue.html", items=review_service.queue(),
                           quorum=review_service.quorum())


def _readable_evidence(evidence_id: int):
    evidence = evidence_service.get(evidence_id)
    if evidence is None:
        abort(404)
    if not (current_user.has_role("monitor", "coordinator")
            or may_report_for(current_user, evidence.commitment)):
        abort(403)
    return evidence


@bp.route("/evidence/<int:evidence_id>")
@role_required(*READERS)
def evidence_page(evidence_id: int):
    evidence = _readable_evidence(evidence_id)
    return _evidence_page(evidence, ReviewForm(), ReopenForm(prefix="reopen"), [], 200)


def _evidence_page(evidence, form, reopen_form, problems, status):
    milestone = evidence.milestone
    return render_template(
        "followup/evidence.html", evidence=evidence, form=form, reopen_form=reopen_form,
        problems=problems, quorum=review_service.quorum(),
        accepting=review_service.accepting_reviews(evidence),
        history=review_service.history(milestone) if milestone else [],
        may_review=(current_user.has_role(*REVIEWERS) and evidence.state == "pending"
                    and evidence.submitted_by_id != current_user.id
                    and all(r.monitor_id != current_user.id for r in evidence.reviews)),
        may_reopen=(current_user.has_role(*REOPENERS) and milestone is not None
                    and milestone.completed_on is not None),
    ), status


@bp.route("/evidence/<int:evidence_id>/file")
@role_required(*READERS)
def evidence_file(evidence_id: int):
    evidence = _readable_evidence(evidence_id)
    if evidence.kind != "file":
        abort(404)
    return send_evidence_file(evidence)


def send_evidence_file(evidence):
    """Send a stored file as a download, never rendered by the browser."""
    path = evidence_service.stored_path(evidence)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=evidence.media_type, as_attachment=True,
                         download_name=evidence.file_name or f"evidencia-{evidence.id}",
                         conditional=True, etag=evidence.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/evidence/<int:evidence_id>/review", methods=["POST"])
@role_required(*REVIEWERS)
def review(evidence_id: int):
    evidence = _readable_evidence(evidence_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        review_service.review(evidence.id, current_user, form.decision.data or "",
                              form.reason.data or "")
    except DomainError as error:
        evidence = evidence_service.get(evidence_id)
        return _evidence_page(evidence, form, ReopenForm(prefix="reopen"), _problems(error), 400)
    flash(_("Review saved."), "success")
    return redirect(url_for("followup.review_queue")), 303


@bp.route("/milestones/<int:milestone_id>/reopen", methods=["POST"])
@role_required(*REOPENERS)
def reopen(milestone_id: int):
    milestone = evidence_service.milestone_or_none(milestone_id)
    if milestone is None:
        abort(404)
    form = ReopenForm(prefix="reopen")
    if not form.validate_on_submit():
        abort(400)
    back = request.form.get("evidence", type=int)
    try:
        review_service.reopen(milestone.id, current_user, form.reason.data or "")
    except DomainError as error:
        evidence = evidence_service.get(back) if back else None
        if evidence is None or evidence.milestone_id != milestone.id:
            flash(" ".join(_problems(error)), "error")
            return redirect(url_for("followup.review_queue")), 303
        return _evidence_page(evidence, ReviewForm(), form, _problems(error), 400)
    flash(_("Milestone reopened; the reason is in its public history."), "success")
    if back:
        return redirect(url_for("followup.evidence_page", evidence_id=back)), 303
    return redirect(url_for("followup.review_queue")), 303
