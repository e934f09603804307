"""Administrators build and run consultations: settings, questionnaire, lifecycle, files."""

from __future__ import annotations

import json

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp
from app.admin.forms import (
    DuplicateForm,
    ExtendForm,
    ImportForm,
    OptionForm,
    QuestionForm,
    SettingsForm,
    ThemeForm,
)
from app.auth.decorators import role_required
from app.extensions import db
from app.models import Consultation, Municipality
from app.navigation import register
from app.services import builder, printing
from app.services import consultations as consultation_service
from app.services.errors import DomainError, InvalidDefinition
from app.util import local_today

register("admin.index", _l("Build consultations"), "admin", order=80)

LANGS = ("es", "en")


# --- helpers -----------------------------------------------------------------------------------

def _consultation(slug: str) -> Consultation:
    found = consultation_service.get_by_slug(slug)
    if found is None:
        abort(404)
    return found


def _version(form=None) -> int | None:
    raw = form.version.data if form is not None else request.form.get("version")
    try:
        return int(raw)
    except (TypeError, ValueError):
        abort(400, _("The form has no version: reload the page."))


def _pair(form, prefix: str) -> dict:
    return {lang: (getattr(form, f"{prefix}_{lang}").data or "").strip() for lang in LANGS}


def _fill_pair(form, prefix: str, text: dict | None) -> None:
    for lang in LANGS:
        getattr(form, f"{prefix}_{lang}").data = (text or {}).get(lang, "")


def _field_problems(problems: list[str], fields: dict[str, str]) -> dict[str, list[str]]:
    """Sort problems ("where: message") under the form field their path names."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        where = problem.split(": ", 1)[0]
        for path, name in sorted(fields.items(), key=lambda item: -len(item[0])):
            if where == path or where.startswith(path + ".") or where.startswith(path + "["):
                found.setdefault(name, []).append(problem)
                break
    return found


def _stale(error: builder.StaleVersion, consultation_slug: str):
    flash(error.message, "error")
    return redirect(url_for("admin.consultation", slug=consultation_slug))


# --- list, create, import ---------------------------------------------------------------------

@bp.route("/")
@role_required("admin")
def index():
    today = local_today()
    consultations = consultation_service.listed(include_drafts=True)
    counts = builder.response_counts()
    rows = [
        {"consultation": c, "status": c.status(today), "responses": counts.get(c.id, 0)}
        for c in consultations
    ]
    return render_template("admin/index.html", rows=rows)


SETTINGS_FIELDS = {
    "slug": "slug", "title": "title", "description": "description", "opens_on": "opens_on",
    "closes_on": "closes_on", "channels": "channels", "theme_question.label": "theme_label",
    "theme_question.min": "theme_min", "theme_question.max": "theme_max",
    "theme_question.ranked": "theme_ranked", "theme_question": "theme_min",
    "double_entry": "double_entry", "publish_free_text": "publish_free_text",
}


def _settings(form: SettingsForm) -> dict:
    return {
        "slug": (form.slug.data or "").strip(),
        "title": _pair(form, "title"),
        "description": _pair(form, "description"),
        "opens_on": form.opens_on.data.isoformat(),
        "closes_on": form.closes_on.data.isoformat(),
        "channels": list(form.channels.data or []),
        "double_entry": bool(form.double_entry.data),
        "publish_free_text": bool(form.publish_free_text.data),
        "theme_question": {
            "label": _pair(form, "theme_label"),
            "min": form.theme_min.data,
            "max": form.theme_max.data,
            "ranked": bool(form.theme_ranked.data),
        },
    }


def _render_settings(form, consultation=None, problems=(), status=200):
    return render_template(
        "admin/settings.html", form=form, consultation=consultation, problems=list(problems),
        field_problems=_field_problems(list(problems), SETTINGS_FIELDS),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new():
    form = SettingsForm()
    if request.method == "GET":
        form.channels.data = ["online", "paper"]
        form.double_entry.data = True
        form.theme_min.data, form.theme_max.data, form.theme_ranked.data = 1, 3, True
        form.opens_on.data = form.closes_on.data = local_today()
    if not form.validate_on_submit():
        return _render_settings(form, status=400 if request.method == "POST" else 200)
    try:
        consultation = builder.create(_settings(form), actor=current_user)
    except DomainError as error:
        return _render_settings(form, problems=error.problems or [error.message], status=400)
    flash(_("Draft \"%(slug)s\" created. Add its themes and questions, then publish it.",
            slug=consultation.slug), "success")
    return redirect(url_for("admin.consultation", slug=consultation.slug))


@bp.route("/import", methods=["GET", "POST"])
@role_required("admin")
def import_file():
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            data = consultation_service.parse_json(raw.decode("utf-8-sig"))
            consultation, created = builder.import_definition(data, actor=current_user)
        except UnicodeDecodeError:
            flash(_("The file is not UTF-8 text; nothing was stored."), "error")
            return render_template("admin/import.html", form=form, problems=[]), 400
        except DomainError as error:
            flash(error.message, "error")
            return render_template("admin/import.html", form=form,
                                   problems=error.problems), 400
        if created:
            flash(_("Draft \"%(slug)s\" imported.", slug=consultation.slug), "success")
        else:
            flash(_("Consultation \"%(slug)s\" updated from the file.", slug=consultation.slug),
                  "success")
        return redirect(url_for("admin.consultation", slug=consultation.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/import.html", form=form, problems=problems), status


# --- one consultation -------------------------------------------------------------------------

def _render_consultation(consultation: Consultation, status: int = 200, **overrides):
    data = consultation_service.export_definition(consultation)
    context = {
        "consultation": consultation,
        "status": consultation.status(local_today()),
        "responses": consultation_service.response_count(consultation),
        "missing": builder.missing_translations(data),
        "publish_problems": builder.publish_problems(data) if consultation.is_draft else [],
        "extend_form": ExtendForm(formdata=None, version=consultation.version),
        "duplicate_form": DuplicateForm(formdata=None),
    }
    context.update(overrides)
    return render_template("admin/consultation.html", **context), status


@bp.route("/c/<slug>")
@role_required("admin")
def consultation(slug: str):
    return _render_consultation(_consultation(slug))


@bp.route("/c/<slug>/settings", methods=["GET", "POST"])
@role_required("admin")
def settings(slug: str):
    found = _consultation(slug)
    form = SettingsForm()
    if request.method == "GET":
        form.version.data = found.version
        form.slug.data = found.slug
        _fill_pair(form, "title", found.title)
        _fill_pair(form, "description", found.description)
        form.opens_on.data, form.closes_on.data = found.opens_on, found.closes_on
        form.channels.data = list(found.channels)
        form.double_entry.data, form.publish_free_text.data = (found.double_entry,
                                                               found.publish_free_text)
        _fill_pair(form, "theme_label", found.theme_label)
        form.theme_min.data, form.theme_max.data = found.theme_min, found.theme_max
        form.theme_ranked.data = found.theme_ranked
    if not form.validate_on_submit():
        return _render_settings(form, found, status=400 if request.method == "POST" else 200)
    settings_data = _settings(form)

    def change(data: dict) -> None:
        tq = data["theme_question"]
        data.update({k: v for k, v in settings_data.items() if k != "theme_question"})
        tq.update(settings_data["theme_question"])

    try:
        updated = builder.edit(slug, _version(form), change, actor=current_user,
                               action="consultation.settings")
    except builder.StaleVersion as error:
        return _stale_form(form, found, error, _render_settings)
    except DomainError as error:
        return _render_settings(form, found, problems=error.problems or [error.message],
                                status=400)
    flash(_("Settings saved."), "success")
    return redirect(url_for("admin.consultation", slug=updated.slug))


def _stale_form(form, consultation, error, render, **extra):
    """Keep what the administrator typed, say it was not stored, offer the newer version."""
    db.session.refresh(consultation)
    form.version.data = consultation.version
    return render(form, consultation, problems=[error.message], status=409, **extra)


THEME_FIELDS = {".code": "code", ".name": "name"}


def _render_theme(form, consultation, problems=(), status=200, code=None, prefix=""):
    fields = {prefix + path: name for path, name in THEME_FIELDS.items()}
    return render_template(
        "admin/theme.html", form=form, consultation=consultation, code=code,
        problems=list(problems), field_problems=_field_problems(list(problems), fields),
    ), status


def _index_of(items, code) -> int:
    for i, item in enumerate(items):
        if item.code == code:
            return i
    abort(404)


@bp.route("/c/<slug>/themes/new", methods=["GET", "POST"], endpoint="new_theme")
@bp.route("/c/<slug>/themes/<code>", methods=["GET", "POST"])
@role_required("admin")
def theme(slug: str, code: str | None = None):
    found = _consultation(slug)
    position = _index_of(found.themes, code) if code else len(found.themes)
    prefix = f"themes[{position + 1}]"
    form = ThemeForm()
    if request.method == "GET":
        form.version.data = found.version
        if code:
            item = found.themes[position]
            form.code.data = item.code
            _fill_pair(form, "name", item.name)
    if not form.validate_on_submit():
        return _render_theme(form, found, code=code,
                             status=400 if request.method == "POST" else 200)
    item = {"code": (form.code.data or "").strip(), "name": _pair(form, "name")}
    try:
        builder.edit(slug, _version(form),
                     lambda data: builder.put_item(data, "theme", code, item),
                     actor=current_user, action="consultation.theme")
    except builder.StaleVersion as error:
        return _stale_form(form, found, error, _render_theme, code=code, prefix=prefix)
    except DomainError as error:
        return _render_theme(form, found, error.problems or [error.message], 400, code, prefix)
    flash(_("Theme \"%(code)s\" saved.", code=item["code"]), "success")
    return redirect(url_for("admin.consultation", slug=slug, _anchor="themes"))


QUESTION_FIELDS = {".code": "code", ".type": "type", ".label": "label", ".required": "required",
                   ".max_length": "max_length", ".min": "min_value", ".max": "max_value",
                   ".options": "type"}


def _render_question(form, consultation, problems=(), status=200, code=None, prefix=""):
    fields = {prefix + path: name for path, name in QUESTION_FIELDS.items()}
    fields[prefix] = "code"
    return render_template(
        "admin/question.html", form=form, consultation=consultation, code=code,
        problems=list(problems), field_problems=_field_problems(list(problems), fields),
    ), status


@bp.route("/c/<slug>/questions/new", methods=["GET", "POST"], endpoint="new_question")
@bp.route("/c/<slug>/questions/<code>", methods=["GET", "POST"])
@role_required("admin")
def question(slug: str, code: str | None = None):
    found = _consultation(slug)
    position = _index_of(found.questions, code) if code else len(found.questions)
    prefix = f"questions[{position + 1}]"
    form = QuestionForm()
    if request.method == "GET":
        form.version.data = found.version
        form.max_length.data = consultation_service.DEFAULT_TEXT_LENGTH
        if code:
            item = found.questions[position]
            form.code.data, form.type.data, form.required.data = (item.code, item.type,
                                                                  item.required)
            _fill_pair(form, "label", item.label)
            form.max_length.data = item.max_length
            form.min_value.data, form.max_value.data = item.min_value, item.max_value
    if not form.validate_on_submit():
        return _render_question(form, found, code=code,
                                status=400 if request.method == "POST" else 200)
    item = builder.question_item(
        (form.code.data or "").strip(), form.type.data, _pair(form, "label"),
        required=bool(form.required.data), max_length=form.max_length.data,
        minimum=form.min_value.data, maximum=form.max_value.data,
    )
    try:
        builder.edit(slug, _version(form),
                     lambda data: builder.put_item(data, "question", code, item),
                     actor=current_user, action="consultation.question")
    except builder.StaleVersion as error:
        return _stale_form(form, found, error, _render_question, code=code, prefix=prefix)
    except DomainError as error:
        return _render_question(form, found, error.problems or [error.message], 400, code,
                                prefix)
    flash(_("Question \"%(code)s\" saved.", code=item["code"]), "success")
    return redirect(url_for("admin.consultation", slug=slug, _anchor="q-" + item["code"]))


OPTION_FIELDS = {".code": "code", ".label": "label"}


def _render_option(form, consultation, problems=(), status=200, code=None, prefix="",
                   question=None):
    fields = {prefix + path: name for path, name in OPTION_FIELDS.items()}
    return render_template(
        "admin/option.html", form=form, consultation=consultation, code=code,
        question=question, problems=list(problems),
        field_problems=_field_problems(list(problems), fields),
    ), status


@bp.route("/c/<slug>/questions/<question_code>/options/new", methods=["GET", "POST"],
          endpoint="new_option")
@bp.route("/c/<slug>/questions/<question_code>/options/<code>", methods=["GET", "POST"])
@role_required("admin")
def option(slug: str, question_code: str, code: str | None = None):
    found = _consultation(slug)
    q_index = _index_of(found.questions, question_code)
    parent = found.questions[q_index]
    if not parent.has_options:
        abort(404)
    position = _index_of(parent.options, code) if code else len(parent.options)
    prefix = f"questions[{q_index + 1}].options[{position + 1}]"
    form = OptionForm()
    if request.method == "GET":
        form.version.data = found.version
        if code:
            item = parent.options[position]
            form.code.data = item.code
            _fill_pair(form, "label", item.label)
    render_args = {"code": code, "prefix": prefix, "question": parent}
    if not form.validate_on_submit():
        return _render_option(form, found, status=400 if request.method == "POST" else 200,
                              **render_args)
    item = {"code": (form.code.data or "").strip(), "label": _pair(form, "label")}
    try:
        builder.edit(slug, _version(form),
                     lambda data: builder.put_item(data, "option", code, item, question_code),
                     actor=current_user, action="consultation.option")
    except builder.StaleVersion as error:
        return _stale_form(form, found, error, _render_option, **render_args)
    except DomainError as error:
        return _render_option(form, found, error.problems or [error.message], 400,
                              **render_args)
    flash(_("Option \"%(code)s\" saved.", code=item["code"]), "success")
    return redirect(url_for("admin.consultation", slug=slug, _anchor="q-" + question_code))


def _kind_args() -> tuple[str, str, str | None]:
    kind, code = request.form.get("kind"), request.form.get("code", "")
    if kind not in builder.KINDS or not code:
        abort(400)
    question_code = request.form.get("question") if kind == "option" else None
    return kind, code, question_code


def _after_edit(slug: str, operation):
    try:
        operation()
    except builder.StaleVersion as error:
        return _stale(error, slug)
    except InvalidDefinition as error:
        flash(error.message, "error")
        for problem in error.problems:
            flash(problem, "error")
    except DomainError as error:
        flash(error.message, "error")
    else:
        return None
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/move", methods=["POST"])
@role_required("admin")
def move(slug: str):
    _consultation(slug)
    kind, code, question_code = _kind_args()
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    refused = _after_edit(slug, lambda: builder.edit(
        slug, _version(),
        lambda data: builder.move_item(data, kind, code, direction, question_code),
        actor=current_user, action="consultation.move"))
    if refused:
        return refused
    flash(_("\"%(code)s\" moved.", code=code), "success")
    anchor = "themes" if kind == "theme" else "q-" + (question_code or code)
    return redirect(url_for("admin.consultation", slug=slug, _anchor=anchor))


@bp.route("/c/<slug>/remove", methods=["POST"])
@role_required("admin")
def remove(slug: str):
    _consultation(slug)
    kind, code, question_code = _kind_args()
    refused = _after_edit(slug, lambda: builder.edit(
        slug, _version(),
        lambda data: builder.remove_item(data, kind, code, question_code),
        actor=current_user, action="consultation.remove"))
    if refused:
        return refused
    flash(_("\"%(code)s\" removed.", code=code), "success")
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/publish", methods=["POST"])
@role_required("admin")
def publish(slug: str):
    _consultation(slug)
    refused = _after_edit(slug, lambda: builder.publish(slug, _version(), actor=current_user))
    if refused:
        return refused
    flash(_("Published: citizens see it from its opening date."), "success")
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/unpublish", methods=["POST"])
@role_required("admin")
def unpublish(slug: str):
    _consultation(slug)
    refused = _after_edit(slug, lambda: builder.unpublish(slug, _version(), actor=current_user))
    if refused:
        return refused
    flash(_("Back to draft: citizens no longer see it."), "success")
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/close", methods=["POST"])
@role_required("admin")
def close_early(slug: str):
    _consultation(slug)
    refused = _after_edit(slug, lambda: builder.close_early(slug, _version(),
                                                            actor=current_user))
    if refused:
        return refused
    flash(_("Closed today: no answer is accepted after today."), "success")
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/extend", methods=["POST"])
@role_required("admin")
def extend(slug: str):
    found = _consultation(slug)
    form = ExtendForm()
    if not form.validate_on_submit():
        return _render_consultation(found, status=400, extend_form=form)
    try:
        builder.extend(slug, _version(form), form.closes_on.data, actor=current_user)
    except builder.StaleVersion as error:
        return _stale(error, slug)
    except DomainError as error:
        form.closes_on.errors = list(error.problems or [error.message])
        return _render_consultation(found, status=400, extend_form=form)
    flash(_("The closing date is now %(date)s.", date=form.closes_on.data.isoformat()),
          "success")
    return redirect(url_for("admin.consultation", slug=slug))


@bp.route("/c/<slug>/duplicate", methods=["POST"])
@role_required("admin")
def duplicate(slug: str):
    found = _consultation(slug)
    form = DuplicateForm()
    if form.validate_on_submit():
        try:
            copy = builder.duplicate(slug, (form.slug.data or "").strip(), actor=current_user)
        except DomainError as error:
            form.slug.errors = list(error.problems or [error.message])
        else:
            flash(_("Draft \"%(slug)s\" created as a copy.", slug=copy.slug), "success")
            return redirect(url_for("admin.consultation", slug=copy.slug))
    return _render_consultation(found, status=400, duplicate_form=form)


@bp.route("/c/<slug>/export.json")
@role_required("admin")
def export(slug: str):
    found = _consultation(slug)
    body = json.dumps(consultation_service.export_definition(found), ensure_ascii=False,
                      indent=2) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename={found.slug}.json"})


@bp.route("/c/<slug>/printed/<lang>.pdf")
@role_required("admin")
def printed(slug: str, lang: str):
    """Show the printed questionnaire (a blank copy, no serial) as paper staff will print it."""
    found = _consultation(slug)
    if lang not in LANGS:
        abort(404)
    body = printing.questionnaire_pdf(found, lang)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename={found.slug}-{lang}.pdf"})


@bp.route("/c/<slug>/preview/<lang>")
@role_required("admin")
def preview(slug: str, lang: str):
    found = _consultation(slug)
    if lang not in LANGS:
        abort(404)
    municipalities = db.session.scalars(
        db.select(Municipality).order_by(Municipality.name)).all()
    with force_locale("es_MX" if lang == "es" else "en"):
        return render_template("admin/preview.html", consultation=found, lang=lang,
                               municipalities=municipalities)
