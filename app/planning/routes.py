"""Coordinators build action plans in the browser; monitors assess commitments; staff see the
follow-up's reminders. Rules live in app/services/plan_editor.py, assessments.py, reminders.py.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.decorators import role_required
from app.models.plan import ACTOR_SECTORS, COMPLETION_LEVELS, OGP_VALUES, OPENED_GOVERNMENT_LEVELS
from app.navigation import register
from app.planning import bp
from app.services import assessments, plan_editor, reminders
from app.services import plans as plan_service
from app.services.errors import DomainError

register("planning.index", _l("Action plans"), "coordinator", order=85)
register("planning.reminders", _l("Follow-up reminders"), "implementer", "monitor",
         "coordinator", order=87)
register("planning.assessments", _l("End-of-plan assessments"), "monitor", "coordinator",
         order=86)

EDITORS = ("coordinator",)
ASSESSORS = ("monitor", "coordinator")
SECTOR_LABELS = {
    "government": _l("Government"), "civil_society": _l("Civil society"),
    "academia": _l("Academia"), "private": _l("Private sector"), "citizen": _l("Citizens"),
    "other": _l("Other"),
}
OGP_LABELS = {
    "access_to_information": _l("Access to information"),
    "accountability": _l("Accountability"),
    "citizen_participation": _l("Citizen participation"),
    "technology_innovation": _l("Technology and innovation"),
}


def _plan(slug: str):
    plan = plan_service.get_by_slug(slug)
    if plan is None:
        abort(404)
    return plan


def _commitment(plan, number: int):
    commitment = plan.commitment_by_number().get(number)
    if commitment is None:
        abort(404)
    return commitment


def _done(warnings: list[str], message: str) -> None:
    flash(message, "success")
    for warning in warnings:
        flash(_("Warning: %(warning)s", warning=warning), "warning")


def _choices(plan=None) -> dict:
    return {
        "sectors": [(s, SECTOR_LABELS[s]) for s in ACTOR_SECTORS],
        "ogp_values": [(v, OGP_LABELS[v]) for v in OGP_VALUES],
        "themes": plan_editor.theme_choices(plan) if plan is not None else [],
        "consultations": plan_editor.consultation_choices(),
    }


@bp.route("/", endpoint="index")
@role_required(*EDITORS)
def index():
    return render_template("planning/index.html", plans=plan_service.listed(),
                           count=plan_service.commitment_count)


@bp.route("/new", methods=["GET", "POST"], endpoint="new_plan")
@role_required(*EDITORS)
def new_plan():
    values, error = plan_editor.plan_values(None), None
    if request.method == "POST":
        try:
            plan, warnings = plan_editor.create_plan(request.form, current_user)
        except DomainError as problem:
            values, error = plan_editor.form_values(request.form), problem
        else:
            _done(warnings, _("Plan created. Now add its commitments."))
            return redirect(url_for("planning.plan", slug=plan.slug))
    return render_template("planning/plan_form.html", plan=None, values=values, error=error,
                           choices=_choices()), 200 if error is None else 422


@bp.route("/<slug>", methods=["GET", "POST"], endpoint="plan")
@role_required(*EDITORS)
def plan_view(slug: str):
    plan = _plan(slug)
    values, error = plan_editor.plan_values(plan), None
    if request.method == "POST":
        try:
            plan, warnings = plan_editor.update_plan(plan, request.form, current_user)
        except DomainError as problem:
            values, error = plan_editor.form_values(request.form), problem
        else:
            _done(warnings, _("Plan saved."))
            return redirect(url_for("planning.plan", slug=plan.slug))
    return render_template("planning/plan.html", plan=plan, values=values, error=error,
                           choices=_choices(plan)), 200 if error is None else 422


@bp.route("/<slug>/approve", methods=["POST"], endpoint="approve")
@role_required(*EDITORS)
def approve(slug: str):
    plan = _plan(slug)
    try:
        plan_editor.approve(plan, current_user)
    except DomainError as problem:
        flash(problem.message, "error")
        for line in problem.problems:
            flash(line, "error")
    else:
        flash(_("Plan approved: each commitment's origin is frozen as the consultation's "
                "ranking stands today."), "success")
    return redirect(url_for("planning.plan", slug=slug))


@bp.route("/<slug>/commitments/new", methods=["GET", "POST"], endpoint="new_commitment")
@role_required(*EDITORS)
def new_commitment(slug: str):
    plan = _plan(slug)
    numbers = [c.number for c in plan.commitments]
    values = plan_editor.commitment_values({"number": max(numbers, default=0) + 1})
    values.update(plan_editor.milestone_values({"number": 1}, "milestone_"))
    error = None
    if request.method == "POST":
        try:
            plan, warnings = plan_editor.add_commitment(plan, request.form, current_user)
        except DomainError as problem:
            values, error = plan_editor.form_values(request.form), problem
        else:
            _done(warnings, _("Commitment added."))
            return redirect(url_for("planning.commitment", slug=slug,
                                    number=plan_editor.commitment_fields(request.form)["number"]))
    return render_template("planning/commitment_form.html", plan=plan, commitment=None,
                           values=values, error=error, choices=_choices(plan)
                           ), 200 if error is None else 422


@bp.route("/<slug>/<int:number>", methods=["GET", "POST"], endpoint="commitment")
@role_required(*EDITORS)
def commitment_view(slug: str, number: int):
    plan = _plan(slug)
    commitment = _commitment(plan, number)
    item = plan_editor.find_item(plan_service.export_plan(plan), number)
    values, error = plan_editor.commitment_values(item), None
    if request.method == "POST":
        try:
            plan, warnings = plan_editor.update_commitment(plan, number, request.form,
                                                           current_user)
        except DomainError as problem:
            values, error = plan_editor.form_values(request.form), problem
        else:
            _done(warnings, _("Commitment saved."))
            return redirect(url_for("planning.commitment", slug=slug,
                                    number=plan_editor.commitment_fields(request.form)["number"]))
    numbers = [m.number for m in commitment.milestones]
    return render_template(
        "planning/commitment_form.html", plan=plan, commitment=commitment, values=values,
        error=error, choices=_choices(plan),
        new_milestone=plan_editor.milestone_values({"number": max(numbers, default=0) + 1}),
    ), 200 if error is None else 422


@bp.route("/<slug>/<int:number>/remove", methods=["POST"], endpoint="remove_commitment")
@role_required(*EDITORS)
def remove_commitment(slug: str, number: int):
    plan = _plan(slug)
    _commitment(plan, number)
    try:
        plan_editor.remove_commitment(plan, number, current_user)
    except DomainError as problem:
        flash(problem.message, "error")
        for line in problem.problems:
            flash(line, "error")
        return redirect(url_for("planning.commitment", slug=slug, number=number))
    flash(_("Commitment %(num)d removed.", num=number), "success")
    return redirect(url_for("planning.plan", slug=slug))


@bp.route("/<slug>/<int:number>/milestones", methods=["POST"], endpoint="new_milestone")
@role_required(*EDITORS)
def new_milestone(slug: str, number: int):
    plan = _plan(slug)
    _commitment(plan, number)
    try:
        __, warnings = plan_editor.add_milestone(plan, number, request.form, current_user)
    except DomainError as problem:
        return _milestone_page(plan, number, None, plan_editor.form_values(request.form),
                               problem)
    _done(warnings, _("Milestone added."))
    return redirect(url_for("planning.commitment", slug=slug, number=number))


def _milestone_page(plan, number: int, milestone, values: dict, error=None):
    return render_template("planning/milestone_form.html", plan=plan,
                           commitment=_commitment(plan, number), milestone=milestone,
                           values=values, error=error), 200 if error is None else 422


@bp.route("/<slug>/<int:number>/milestones/<int:milestone>", methods=["GET", "POST"],
          endpoint="milestone")
@role_required(*EDITORS)
def milestone_view(slug: str, number: int, milestone: int):
    plan = _plan(slug)
    item = plan_editor.find_item(plan_service.export_plan(plan), number)
    current = next((m for m in (item or {}).get("milestones", [])
                    if m["number"] == milestone), None)
    if current is None:
        abort(404)
    if request.method == "POST":
        try:
            __, warnings = plan_editor.update_milestone(plan, number, milestone, request.form,
                                                       current_user)
        except DomainError as problem:
            return _milestone_page(plan, number, current,
                                   plan_editor.form_values(request.form), problem)
        _done(warnings, _("Milestone saved."))
        return redirect(url_for("planning.commitment", slug=slug, number=number))
    return _milestone_page(plan, number, current, plan_editor.milestone_values(current))


@bp.route("/<slug>/<int:number>/milestones/<int:milestone>/remove", methods=["POST"],
          endpoint="remove_milestone")
@role_required(*EDITORS)
def remove_milestone(slug: str, number: int, milestone: int):
    plan = _plan(slug)
    if milestone not in _commitment(plan, number).milestone_by_number():
        abort(404)
    try:
        plan_editor.remove_milestone(plan, number, milestone, current_user)
    except DomainError as problem:
        flash(problem.message, "error")
        for line in problem.problems:
            flash(line, "error")
    else:
        flash(_("Milestone %(num)d removed.", num=milestone), "success")
    return redirect(url_for("planning.commitment", slug=slug, number=number))


@bp.route("/assessments", endpoint="assessments")
@role_required(*ASSESSORS)
def assessments_index():
    return render_template("planning/assessments.html", plans=plan_service.listed(),
                           latest=assessments.latest,
                           labels=assessments.COMPLETION_LABELS)


@bp.route("/<slug>/<int:number>/assessment", methods=["GET", "POST"], endpoint="assessment")
@role_required(*ASSESSORS)
def assessment(slug: str, number: int):
    plan = _plan(slug)
    commitment = _commitment(plan, number)
    progress = assessments.commitment_progress(commitment)
    suggestion = assessments.suggest_completion(progress)
    latest = assessments.latest(commitment)
    values = {"completion": suggestion}
    error = None
    if request.method == "POST":
        try:
            assessments.record(commitment, request.form, current_user)
        except DomainError as problem:
            values, error = dict(request.form.items()), problem
        else:
            flash(_("Assessment recorded."), "success")
            return redirect(url_for("planning.assessment", slug=slug, number=number))
    return render_template(
        "planning/assessment.html", plan=plan, commitment=commitment, progress=progress,
        suggestion=suggestion, latest=latest, values=values, error=error,
        completion_levels=[(c, assessments.COMPLETION_LABELS[c]) for c in COMPLETION_LEVELS],
        opened_levels=[(o, assessments.OPENED_GOVERNMENT_LABELS[o])
                       for o in OPENED_GOVERNMENT_LEVELS],
    ), 200 if error is None else 422


@bp.route("/reminders", endpoint="reminders")
@role_required("coordinator", "monitor", "implementer")
def reminders_view():
    return render_template("planning/reminders.html",
                           lists=reminders.items_for(current_user), events=reminders.EVENTS)
