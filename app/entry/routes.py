"""Views of the paper channel: thin, every rule is in services/paper.py and services/imports/."""

from __future__ import annotations

import csv
import io

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from app import tasks
from app.auth.decorators import role_required
from app.entry import bp
from app.extensions import db
from app.i18n import language, localized
from app.models import Consultation, ImportBatch, Municipality, Region
from app.services import audit, import_limits, imports, jobs, paper, printing
from app.services import consultations as consultation_service
from app.services.errors import DomainError, OutOfScope
from app.services.spreadsheet import safe_row
from app.uploads import upload_limit
from app.util import local_today

STAFF = ("staff", "supervisor")


def _consultation(slug: str) -> Consultation:
    found = consultation_service.get_by_slug(slug)
    if found is None or "paper" not in found.channels:
        abort(404)
    return found


def _forbidden(error: OutOfScope):
    """Let out_of_scope answer (the DomainError handlers of the views must not swallow it)."""
    raise error


@bp.errorhandler(OutOfScope)
def out_of_scope(error: OutOfScope):
    """Answer 403 to work on another municipality, and keep a trace of the attempt."""
    db.session.rollback()
    audit.record("access.out_of_scope", actor=current_user, path=request.path,
                 method=request.method, message=error.message)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error="Forbidden", message=error.message), 403
    flash(error.message, "error")
    return render_template("errors/error.html", error=Forbidden(error.message)), 403


def _my_municipalities() -> list[Municipality]:
    codes = current_user.municipality_codes()
    query = db.select(Municipality).order_by(Municipality.name)
    if codes is not None:
        query = query.where(Municipality.code.in_(codes))
    return list(db.session.scalars(query))


def _lang() -> str:
    requested = request.args.get("lang", "")
    return requested if requested in ("es", "en") else language()


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.route("/")
@role_required(*STAFF)
def index():
    consultations = [c for c in consultation_service.listed(include_drafts=False)
                     if "paper" in c.channels]
    return render_template("entry/index.html", consultations=consultations, today=local_today())


@bp.route("/<slug>/")
@role_required(*STAFF)
def consultation(slug: str):
    found = _consultation(slug)
    return render_template("entry/consultation.html", consultation=found,
                           keyed_today=paper.keyed_today(found, current_user),
                           open_discrepancies=len(paper.discrepancies(found, current_user)))


# Printing -----------------------------------------------------------------------------------


@bp.route("/<slug>/batches", methods=["GET", "POST"])
@role_required(*STAFF)
def batches(slug: str):
    found = _consultation(slug)
    municipalities = _my_municipalities()
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("municipality", "").strip()
        raw = request.form.get("count", "").strip()
        if not raw.isdigit():
            errors["count"] = _("Type how many forms to print, from 1 to %(max)d.",
                                max=paper.MAX_BATCH)
        else:
            try:
                batch = paper.create_batch(found, code, int(raw), actor=current_user)
            except OutOfScope as error:
                _forbidden(error)
            except DomainError as error:
                if found.is_draft:
                    flash(error.message, "error")
                errors["municipality" if "unicip" in error.message else "count"] = \
                    error.message
            else:
                flash(_("Batch %(id)d created: %(count)d forms, serials %(first)s to "
                        "%(last)s.", id=batch.id, count=batch.count, first=batch.serials()[0],
                        last=batch.serials()[-1]), "success")
                return redirect(url_for("entry.batches", slug=slug))
    return render_template("entry/batches.html", consultation=found,
                           batches=paper.batches(found, current_user),
                           municipalities=municipalities, errors=errors, form=request.form)


def _batch(found: Consultation, batch_id: int):
    try:
        return paper.get_batch(found, batch_id, current_user)
    except OutOfScope as error:
        _forbidden(error)
    except DomainError:
        abort(404)


@bp.route("/<slug>/batches/<int:batch_id>/forms.pdf")
@role_required(*STAFF)
def batch_forms(slug: str, batch_id: int):
    found = _consultation(slug)
    batch = _batch(found, batch_id)
    data = printing.questionnaire_pdf(found, _lang(), batch.serials())
    return _pdf(data, f"{found.slug}-{batch.municipality_code}-{batch.id}.pdf")


@bp.route("/<slug>/batches/<int:batch_id>/tally.pdf")
@role_required(*STAFF)
def batch_tally(slug: str, batch_id: int):
    found = _consultation(slug)
    batch = _batch(found, batch_id)
    return _pdf(printing.tally_pdf(found, batch, _lang()),
                f"{found.slug}-{batch.municipality_code}-{batch.id}-tally.pdf")


@bp.route("/<slug>/questionnaire.pdf")
@role_required(*STAFF)
def blank_questionnaire(slug: str):
    found = _consultation(slug)
    return _pdf(printing.questionnaire_pdf(found, _lang()), f"{found.slug}-blank.pdf")


# Keying -------------------------------------------------------------------------------------


def _counters(found: Consultation) -> dict:
    counters = {"today": paper.keyed_today(found, current_user), "remaining": None,
                "batch": None}
    last = session.get("entry_last_serial", {}).get(str(found.id))
    batch = paper.batch_of(found, last) if last else None
    if batch is not None and current_user.may_work_on(batch.municipality_code):
        counters["remaining"] = paper.remaining_in_batch(found, batch)
        counters["batch"] = batch
    return counters


@bp.route("/<slug>/key", methods=["GET", "POST"])
@role_required(*STAFF)
def key(slug: str):
    found = _consultation(slug)
    errors: dict[str, str] = {}
    correctable = False
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        serial = request.form.get("serial", "").strip().upper()
        correcting = request.form.get("action") == "correct"
        try:
            answers = paper.parse_keying(found, request.form)
            if correcting:
                outcome = paper.correct_keying(found, serial, answers,
                                               request.form.get("reason", ""),
                                               actor=current_user)
            else:
                outcome = paper.submit_keying(found, serial, answers, actor=current_user)
        except OutOfScope as error:
            _forbidden(error)
        except paper.KeyingInvalid as error:
            errors = error.fields
            correctable = correcting
            flash(error.message, "error")
        except paper.AlreadyKeyedByYou as error:
            errors = {"serial": error.message}
            correctable = error.correctable
            if correctable:
                flash(_("You already keyed form %(serial)s. If you are correcting your own "
                        "keying, say what you are correcting and press \"Replace my first "
                        "keying\".", serial=serial), "error")
            else:
                flash(error.message, "error")
        except DomainError as error:
            errors = {"serial": error.message}
            flash(error.message, "error")
        else:
            last = dict(session.get("entry_last_serial", {}))
            last[str(found.id)] = outcome.serial
            session["entry_last_serial"] = last
            messages = {
                "first": _("Form %(serial)s saved (first keying); it waits for the second "
                           "keying by another person.", serial=outcome.serial),
                "corrected": _("Your first keying of form %(serial)s was replaced; the old "
                               "one is kept, voided, with your reason.", serial=outcome.serial),
                "accepted": _("Form %(serial)s saved and accepted.", serial=outcome.serial),
                "discrepancy": _("Form %(serial)s saved: the two keyings differ, a supervisor "
                                 "will decide.", serial=outcome.serial),
            }
            flash(messages["corrected" if correcting else outcome.status], "success")
            return redirect(url_for("entry.key", slug=slug))
    municipalities = {m.code: m.name for m in _my_municipalities()}
    return render_template("entry/key.html", consultation=found, errors=errors, form=form,
                           counters=_counters(found), municipalities=municipalities,
                           correctable=correctable,
                           status=422 if errors else 200), 422 if errors else 200


@bp.route("/<slug>/discrepancies")
@role_required("supervisor")
def discrepancies(slug: str):
    found = _consultation(slug)
    return render_template("entry/discrepancies.html", consultation=found,
                           keyings=paper.discrepancies(found, current_user))


def _open_discrepancy(slug: str, serial: str):
    """Return (consultation, its two keyings of serial), or a redirect if already resolved.

    403 outside the supervisor's municipalities, 404 for a serial with no discrepancy.
    """
    found = _consultation(slug)
    try:
        pair = paper.keyings(found, serial, current_user)
    except OutOfScope as error:
        _forbidden(error)
    except DomainError:
        abort(404)
    if len(pair) != 2 or not pair[1].mismatch:
        abort(404)
    if paper.is_resolved(found, serial):
        flash(_("Form %(serial)s was already resolved.", serial=serial), "info")
        return found, None, redirect(url_for("entry.discrepancies", slug=slug))
    return found, pair, None


@bp.route("/<slug>/discrepancies/<serial>", methods=["GET", "POST"])
@role_required("supervisor")
def resolve(slug: str, serial: str):
    found, pair, done = _open_discrepancy(slug, serial)
    if done is not None:
        return done
    errors: dict[str, str] = {}
    if request.method == "POST":
        decisions = {name: request.form.get(f"decide_{name}", "")
                     for name in paper.fields(found)}
        try:
            paper.resolve(found, serial, decisions, actor=current_user)
        except OutOfScope as error:
            _forbidden(error)
        except paper.KeyingInvalid as error:
            errors = error.fields
            flash(error.message, "error")
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("entry.discrepancies", slug=slug))
        else:
            flash(_("Form %(serial)s resolved and accepted.", serial=serial), "success")
            return redirect(url_for("entry.discrepancies", slug=slug))
    differing = paper.differing_fields(found, pair[0].answers, pair[1].answers)
    own = any(k.keyed_by_id == current_user.id for k in pair)
    return render_template("entry/resolve.html", consultation=found, serial=serial, pair=pair,
                           differing=differing, errors=errors, own=own,
                           show=lambda name, value: _shown_value(found, name, value)), \
        422 if errors else 200


@bp.route("/<slug>/discrepancies/<serial>/type", methods=["GET", "POST"])
@role_required("supervisor")
def resolve_typed(slug: str, serial: str):
    """The third choice: the supervisor types what the paper says, with a reason."""
    found, pair, done = _open_discrepancy(slug, serial)
    if done is not None:
        return done
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            answers = paper.parse_keying(found, request.form)
            paper.resolve_typed(found, serial, answers, request.form.get("reason", ""),
                                actor=current_user)
        except OutOfScope as error:
            _forbidden(error)
        except paper.KeyingInvalid as error:
            errors = error.fields
            flash(error.message, "error")
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("entry.discrepancies", slug=slug))
        else:
            flash(_("Form %(serial)s resolved with what the paper says, and accepted.",
                    serial=serial), "success")
            return redirect(url_for("entry.discrepancies", slug=slug))
    else:
        # Pre-filled with the first keying; the fields the keyings disagree on are marked.
        form = paper.form_values(found, pair[0].answers)
    differing = paper.differing_fields(found, pair[0].answers, pair[1].answers)
    own = any(k.keyed_by_id == current_user.id for k in pair)
    return render_template("entry/resolve_typed.html", consultation=found, serial=serial,
                           pair=pair, differing=differing, errors=errors, own=own, form=form,
                           show=lambda name, value: _shown_value(found, name, value)), \
        422 if errors else 200


def _shown_value(found: Consultation, name: str, value) -> str:
    """Return a keyed value in words: theme and option names, blank, illegible."""
    if value is None:
        return _("(blank)")
    if isinstance(value, dict):
        return _("(illegible)")
    if name == "themes":
        themes = found.theme_by_code()
        return "; ".join(f"{i}. {localized(themes[c].name)}" for i, c in enumerate(value, 1)
                         if c in themes)
    question = found.question_by_code().get(name)
    if question is not None and question.has_options:
        options = question.option_by_code()
        codes = value if isinstance(value, list) else [value]
        return "; ".join(localized(options[c].label) for c in codes if c in options)
    return str(value)


@bp.route("/<slug>/void", methods=["POST"])
@role_required("supervisor")
def void_form(slug: str):
    found = _consultation(slug)
    try:
        paper.void_form(found, request.form.get("serial", ""), request.form.get("reason", ""),
                        actor=current_user)
    except OutOfScope as error:
        _forbidden(error)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Form %(serial)s voided.", serial=request.form.get("serial", "").strip()
                .upper()), "success")
    return redirect(url_for("entry.consultation", slug=slug))


# Import -------------------------------------------------------------------------------------


@bp.route("/<slug>/import", methods=["GET", "POST"])
@role_required(*STAFF)
@upload_limit("IMPORT_MAX_BYTES")
def import_file(slug: str):
    """Keep the uploaded file and queue its import; the job page follows it."""
    found = _consultation(slug)
    message = None
    if request.method == "POST":
        # An import may be larger than other uploads: IMPORT_MAX_BYTES bounds the request
        # (app/uploads.py); start_import checks the file's exact size.
        try:
            if (request.content_length or 0) > request.max_content_length:
                raise RequestEntityTooLarge  # refused before the body is parsed
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            upload = None
            message = import_limits.too_large(current_app.config["IMPORT_MAX_BYTES"]).message
        if message:
            pass
        elif upload is None or not upload.filename:
            message = _("Choose a CSV or XLSX file to import.")
        else:
            try:
                job = tasks.enqueue(jobs.start_import(found, upload.stream, upload.filename,
                                                      actor=current_user))
            except DomainError as error:
                message = error.message
            else:
                return redirect(url_for("entry.import_job", slug=slug, job_id=job.id), 303)
        flash(message, "error")
    return render_template("entry/import.html", consultation=found,
                           batches=imports.batches(found, current_user),
                           notes=imports.template_notes(found, current_user),
                           jobs=jobs.recent(found, current_user)), 422 if message else 200


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge):
    """Name the import's limit when the body is refused before the view runs (the CSRF
    check reads the form first)."""
    message = None
    if request.endpoint == "entry.import_file":
        message = import_limits.too_large(current_app.config["IMPORT_MAX_BYTES"]).message
    return render_template("errors/error.html", error=error, message=message), 413


def _job(found: Consultation, job_id: int):
    try:
        return jobs.get_for(job_id, found, current_user)
    except DomainError:
        abort(404)


@bp.route("/<slug>/import/jobs/<int:job_id>")
@role_required(*STAFF)
def import_job(slug: str, job_id: int):
    """Show a queued import: its progress while it runs, then its result or refusal."""
    found = _consultation(slug)
    job = _job(found, job_id)
    return render_template("entry/import_job.html", consultation=found, job=job,
                           waiting_long=jobs.waiting_long(job))


@bp.route("/<slug>/import/jobs/<int:job_id>/state")
@role_required(*STAFF)
def import_progress(slug: str, job_id: int):
    """Answer a progress poll from the job row (any host sees the same)."""
    found = _consultation(slug)
    return jsonify(jobs.state(_job(found, job_id)))


@bp.route("/<slug>/import/jobs/<int:job_id>/problems.csv")
@role_required(*STAFF)
def import_job_report(slug: str, job_id: int):
    """Download every problem of a refused file as CSV (row, column, value, reason)."""
    found = _consultation(slug)
    job = _job(found, job_id)
    if not job.report:
        abort(404)
    return Response(jobs.report_csv(job), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{found.slug}-import-{job.id}-problems.csv"'})


@bp.route("/<slug>/import/template.csv")
@role_required(*STAFF)
def import_template(slug: str):
    found = _consultation(slug)
    return Response("\ufeff" + imports.template_csv(found, current_user), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{found.slug}-template.csv"'})


@bp.route("/<slug>/import/template-notes.csv")
@role_required(*STAFF)
def import_template_notes(slug: str):
    """What each column of the template accepts: codes, and the labels that may replace them."""
    found = _consultation(slug)
    return Response("\ufeff" + imports.template_notes_csv(found, current_user),
                    mimetype="text/csv", headers={
                        "Content-Disposition":
                        f'attachment; filename="{found.slug}-template-notes.csv"'})


@bp.route("/<slug>/import/<int:batch_id>/void", methods=["POST"])
@role_required("supervisor")
def void_import(slug: str, batch_id: int):
    found = _consultation(slug)
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.consultation_id != found.id:
        abort(404)
    try:
        imports.void_batch(batch_id, actor=current_user, reason=request.form.get("reason", ""))
    except OutOfScope as error:
        _forbidden(error)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Import batch %(id)d voided.", id=batch_id), "success")
    return redirect(url_for("entry.import_file", slug=slug))


# Progress -----------------------------------------------------------------------------------


@bp.route("/<slug>/progress")
@role_required(*STAFF)
def progress(slug: str):
    found = _consultation(slug)
    region = request.args.get("region", "")
    region_number = int(region) if region.isdigit() else None
    municipality = request.args.get("municipality", "").strip()[:120]
    rows = paper.progress(found, current_user, region=region_number, municipality=municipality)
    if request.args.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["region", "region_name", "municipality", "municipality_name",
                         *paper.PROGRESS_COLUMNS])
        for row in rows:
            writer.writerow(safe_row([row.region_number, row.region_name, row.municipality_code,
                                      row.municipality_name,
                                      *(getattr(row, name) for name in paper.PROGRESS_COLUMNS)]))
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{found.slug}-paper-progress.csv"'})
    regions = list(db.session.scalars(db.select(Region).order_by(Region.number)))
    return render_template("entry/progress.html", consultation=found, rows=rows,
                           totals=paper.region_totals(rows), regions=regions,
                           region=region_number, municipality=municipality,
                           columns=paper.PROGRESS_COLUMNS)
