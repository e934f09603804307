"""Workshop planning: propose a grouping, edit it, read the shortlist, export it."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import role_required
from app.database import write_transaction
from app.extensions import db
from app.i18n import language
from app.models import Consultation, WorkshopPlan
from app.services import consultations as consultation_service
from app.services import plan_exports, workshops
from app.services.datasets import FilterError, Filters, parse_filters
from app.services.workshops import NotAllowed, PlanError, WorkshopDraft
from app.workshops import bp

ROLES = workshops.PLANNER_ROLES
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_FIELDS = ("channel", "region", "metro")


def _consultation(slug: str) -> Consultation:
    found = consultation_service.get_by_slug(slug, include_drafts=False)
    if found is None:
        abort(404)
    if not workshops.may_plan(current_user, found):
        abort(403)
    return found


def _plan(plan_id: int) -> WorkshopPlan:
    try:
        plan = workshops.get_plan(current_user, plan_id)
    except NotAllowed:
        abort(403)
    if plan is None:
        abort(404)
    return plan


@bp.route("/")
@role_required(*ROLES)
def index():
    consultations = workshops.plannable(current_user)
    plans = {consultation.id: workshops.plans_of(consultation)
             for consultation in consultations}
    return render_template("workshops/index.html", consultations=consultations, plans=plans)


def _form_filters(consultation: Consultation) -> Filters:
    args = {key: request.form[key] for key in FILTER_FIELDS if request.form.get(key)}
    sector = workshops.sector_question(consultation)
    if sector is not None and request.form.get(sector.code):
        args[sector.code] = request.form[sector.code]
    return parse_filters(consultation, args)


def _int_field(name: str, label: str, problems: dict, required: bool = True) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            problems[name] = _("%(field)s: write a number.", field=label)
        return None
    if not raw.isdigit():
        problems[name] = _("%(field)s: \"%(value)s\" is not a whole number.", field=label,
                           value=raw)
        return None
    return int(raw)


@bp.route("/<slug>/new", methods=["GET", "POST"])
@role_required(*ROLES)
def new_plan(slug: str):
    consultation = _consultation(slug)
    table = workshops.theme_table(consultation, intervals=False)
    errors: dict[str, str] = {}
    if request.method == "POST":
        name = request.form.get("name", "")
        n_workshops = _int_field("workshops", _("Number of workshops"), errors)
        n_themes = _int_field("themes", _("Number of themes"), errors, required=False)
        weighting = request.form.get("weighting", "none")
        try:
            filters = _form_filters(consultation)
        except FilterError as error:
            errors[error.parameter] = error.message
            filters = None
        if not name.strip():
            errors["name"] = _("Plan name: write a name.")
        if not errors:
            try:
                with write_transaction():
                    plan = workshops.create_plan(
                        consultation, name=name, n_workshops=n_workshops, n_themes=n_themes,
                        filters=filters, weighting=weighting, actor=current_user)
                flash(_("Plan saved: edit the workshops below."), "success")
                return redirect(url_for("workshops.plan", plan_id=plan.id))
            except PlanError as error:
                for problem in error.problems or [error.message]:
                    field = ("themes" if problem.startswith(_("Number of themes"))
                             else "workshops" if problem.startswith(_("Number of workshops"))
                             else "form")
                    errors.setdefault(field, problem)
    status = 422 if errors else 200
    return render_template("workshops/new.html", consultation=consultation, table=table,
                           errors=errors, form=request.form,
                           sector=workshops.sector_question(consultation),
                           weightings=workshops.WEIGHTINGS), status


def _drafts_from_form(plan: WorkshopPlan) -> tuple[list[WorkshopDraft], int]:
    """Read the edit form: workshop names, removals, and one workshop number per theme."""
    count = int(request.form.get("count", len(plan.workshops)) or 0)
    count = max(0, min(count, len(plan.consultation.themes)))
    ranking = workshops.theme_order(workshops.theme_table(plan.consultation, intervals=False))
    drafts = {number: WorkshopDraft({"es": request.form.get(f"name_es_{number}", ""),
                                     "en": request.form.get(f"name_en_{number}", "")}, [])
              for number in range(1, count + 1)}
    removed = {number for number in drafts if request.form.get(f"remove_{number}")}
    for code in ranking:
        for value in request.form.getlist(f"theme_{code}"):
            if value.isdigit() and int(value) in drafts and int(value) not in removed:
                drafts[int(value)].themes.append(code)
    return [draft for number, draft in sorted(drafts.items()) if number not in removed], count


def _plan_page(plan: WorkshopPlan, drafts=None, problems=(), status=200):
    if drafts is None:
        drafts = [WorkshopDraft(dict(w.name), [row.theme.code for row in w.themes])
                  for w in plan.workshops]
    assigned = {code: number for number, draft in enumerate(drafts, start=1)
                for code in draft.themes}
    table = workshops.theme_table(plan.consultation,
                                  workshops.plan_filters(plan.consultation, plan.filters),
                                  intervals=False)
    names = {theme.code: theme for theme in plan.consultation.themes}
    return render_template(
        "workshops/plan.html", plan=plan, drafts=drafts, assigned=assigned, table=table,
        themes=names, problems=problems, change=workshops.change_since(plan),
    ), status


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@role_required(*ROLES)
def plan(plan_id: int):
    plan = _plan(plan_id)
    if request.method == "GET":
        return _plan_page(plan)
    drafts, count = _drafts_from_form(plan)
    if request.form.get("action") == "add":
        drafts.append(WorkshopDraft({"es": "", "en": ""}, []))
        return _plan_page(plan, drafts)
    try:
        with write_transaction():
            workshops.save_plan(plan, name=request.form.get("name", ""), drafts=drafts,
                                actor=current_user)
    except PlanError as error:
        db.session.expire_all()
        plan = _plan(plan_id)
        return _plan_page(plan, drafts, error.problems or [error.message], 422)
    except NotAllowed:
        abort(403)
    flash(_("Plan saved."), "success")
    return redirect(url_for("workshops.plan", plan_id=plan.id))


@bp.route("/plans/<int:plan_id>/refresh", methods=["POST"])
@role_required(*ROLES)
def refresh(plan_id: int):
    plan = _plan(plan_id)
    with write_transaction():
        workshops.refresh_snapshot(plan, current_user)
    flash(_("The plan now uses the consultation as it is today."), "success")
    return redirect(url_for("workshops.plan", plan_id=plan.id))


@bp.route("/plans/<int:plan_id>/shortlist")
@role_required(*ROLES)
def shortlist(plan_id: int):
    plan = _plan(plan_id)
    data = workshops.shortlist(plan, current_app.config["MIN_CELL_SIZE"])
    return render_template("workshops/shortlist.html", data=data, plan=plan)


@bp.route("/plans/<int:plan_id>/statements/<int:answer_id>", methods=["POST"])
@role_required(*ROLES)
def statement(plan_id: int, answer_id: int):
    plan = _plan(plan_id)
    hide = request.form.get("action", "hide") == "hide"
    try:
        with write_transaction():
            workshops.hide_statement(plan.consultation, answer_id, current_user, hidden=hide)
    except PlanError as error:
        flash(error.message, "error")
        return redirect(url_for("workshops.shortlist", plan_id=plan.id))
    flash(_("Statement hidden.") if hide else _("Statement shown again."), "success")
    return redirect(url_for("workshops.shortlist", plan_id=plan.id))


def _export_language() -> str:
    lang = request.args.get("lang") or language()
    if lang not in plan_exports.LOCALES:
        abort(400, description=_("lang must be es or en, not \"%(value)s\"", value=lang))
    return lang


def _changed_warning(plan: WorkshopPlan, what: str):
    """Return the warning page when the consultation changed and the user did not confirm."""
    change = workshops.change_since(plan)
    if change.changed and request.args.get("confirm") != "1":
        args = {**request.args.to_dict(), "confirm": "1"}
        return render_template("workshops/changed.html", plan=plan, change=change, what=what,
                               confirm_url=url_for(request.endpoint, **request.view_args,
                                                   **args)), 409
    return None


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@bp.route("/plans/<int:plan_id>/export.xlsx")
@role_required(*ROLES)
def export_xlsx(plan_id: int):
    plan = _plan(plan_id)
    lang = _export_language()
    warning = _changed_warning(plan, "XLSX")
    if warning:
        return warning
    return _download(plan_exports.xlsx_bytes(plan, lang), XLSX,
                     f"plan-{plan.id}-{lang}.xlsx")


@bp.route("/plans/<int:plan_id>/export.csv")
@role_required(*ROLES)
def export_csv(plan_id: int):
    plan = _plan(plan_id)
    lang = _export_language()
    warning = _changed_warning(plan, "CSV")
    if warning:
        return warning
    return _download(plan_exports.csv_text(plan, lang), "text/csv",
                     f"plan-{plan.id}-{lang}.csv")


@bp.route("/plans/<int:plan_id>/workshops/<int:position>/brief.pdf")
@role_required(*ROLES)
def brief_pdf(plan_id: int, position: int):
    plan = _plan(plan_id)
    lang = _export_language()
    if position not in {workshop.position for workshop in plan.workshops}:
        abort(404)
    warning = _changed_warning(plan, "PDF")
    if warning:
        return warning
    return _download(plan_exports.pdf_bytes(plan, position, lang), "application/pdf",
                     f"plan-{plan.id}-workshop-{position}-{lang}.pdf")
