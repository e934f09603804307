"""Administrators manage accounts (never deleting one) and read the audit log."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from wtforms import SelectChoice

from app.accounts import bp
from app.accounts.forms import (
    AccessForm,
    AuditFilterForm,
    ConfirmForm,
    CreateAccountForm,
    ResetPasswordForm,
)
from app.auth.decorators import role_required
from app.navigation import register
from app.services import accounts, audit
from app.services.errors import DomainError

register("accounts.index", _l("Accounts"), "admin", order=80)
register("accounts.audit_log", _l("Audit log"), "admin", order=85)


def _user_or_404(user_id: int):
    user = accounts.get_user(user_id)
    if user is None:
        abort(404)
    return user


def _no_store(page: str):
    """A page showing a password must not be kept by the browser."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/accounts/")
@role_required("admin")
def index():
    return render_template("accounts/index.html", users=accounts.listed_users(),
                           confirm=ConfirmForm())


@bp.route("/accounts/new", methods=["GET", "POST"])
@role_required("admin")
def create():
    form = CreateAccountForm()
    problems: list[str] = []
    if form.validate_on_submit():
        password = form.password.data or accounts.generate_password()
        try:
            user = accounts.create_user(
                form.email.data, password, set(form.roles.data), actor=current_user,
                municipalities=set(form.municipalities.data or ()),
                regions=set(form.regions.data or ()),
                all_municipalities=form.all_municipalities.data,
                agencies=form.agency_names(),
            )
        except DomainError as error:
            problems = [error.message, *error.problems]
        else:
            flash(_("Account %(email)s created.", email=user.email), "success")
            if form.password.data:
                return redirect(url_for("accounts.index"))
            return _no_store(render_template("accounts/password_shown.html", user=user,
                                             password=password))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/form.html", form=form, problems=problems,
                           user=None, known_agencies=accounts.known_agencies()), status


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def edit(user_id: int):
    user = _user_or_404(user_id)
    form = AccessForm(data={
        "roles": sorted(user.roles),
        "all_municipalities": user.all_municipalities,
        "regions": [row.region_number for row in user.region_rows],
        "municipalities": [row.municipality_code for row in user.municipality_rows],
        "agencies": "\n".join(accounts.agencies_of(user)),
    } if request.method == "GET" else None)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            accounts.update_access(
                user.id, roles=set(form.roles.data),
                all_municipalities=form.all_municipalities.data,
                municipalities=set(form.municipalities.data or ()),
                regions=set(form.regions.data or ()), actor=current_user,
                agencies=form.agency_names(),
            )
        except DomainError as error:
            problems = [error.message, *error.problems]
        else:
            flash(_("Account %(email)s saved.", email=user.email), "success")
            return redirect(url_for("accounts.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/form.html", form=form, problems=problems, user=user,
                           confirm=ConfirmForm(),
                           known_agencies=accounts.known_agencies()), status


def _post_action(user_id: int, action, message: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = _user_or_404(user_id)
    try:
        action(user.id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.edit", user_id=user.id)), 303
    flash(message % {"email": user.email}, "success")
    return redirect(url_for("accounts.index")), 303


@bp.route("/accounts/<int:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate(user_id: int):
    return _post_action(user_id, lambda ident: accounts.set_active(ident, False,
                                                                   actor=current_user),
                        _("Account %(email)s deactivated; its sessions have ended."))


@bp.route("/accounts/<int:user_id>/activate", methods=["POST"])
@role_required("admin")
def activate(user_id: int):
    return _post_action(user_id, lambda ident: accounts.set_active(ident, True,
                                                                   actor=current_user),
                        _("Account %(email)s reactivated."))


@bp.route("/accounts/<int:user_id>/two-factor/reset", methods=["POST"])
@role_required("admin")
def reset_two_factor(user_id: int):
    return _post_action(user_id, lambda ident: accounts.disable_totp(ident, actor=current_user),
                        _("Two-factor sign-in of %(email)s removed: it enrols again at its "
                          "next sign-in."))


@bp.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@role_required("admin")
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ResetPasswordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            __, password = accounts.set_password(user.id, form.password.data or None,
                                                actor=current_user)
        except DomainError as error:
            problems = error.problems or [error.message]
        else:
            if user.id == current_user.id:
                # Only the other sessions end: this one carries on with the new version.
                login_user(accounts.get_user(user.id))
            flash(_("The password of %(email)s was reset; its sessions have ended.",
                    email=user.email), "success")
            if form.password.data:
                return redirect(url_for("accounts.index"))
            return _no_store(render_template("accounts/password_shown.html", user=user,
                                             password=password))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password.html", form=form, user=user,
                           problems=problems), status


@bp.route("/audit")
@role_required("admin")
def audit_log():
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", _("Any action"))] + [
        SelectChoice(action) for action in audit.actions()]
    page = request.args.get("page", 1, type=int)
    if request.args and not form.validate():
        return render_template("accounts/audit.html", form=form, events=None), 400
    events = audit.search(
        action=form.action.data or None, actor=form.actor.data or None,
        object_type=form.object_type.data or None, object_id=form.object_id.data or None,
        since=form.since.data, until=form.until.data, page=max(page, 1),
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("accounts/audit.html", form=form, events=events, args=args)
