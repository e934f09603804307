"""Sign in (password, then a TOTP code when enrolled), sign out, one's own account."""

from __future__ import annotations

import io
import time
from urllib.parse import urlsplit

import segno
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
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.decorators import public, role_required
from app.auth.forms import ChangePasswordForm, CodeForm, LoginForm
from app.extensions import db, limiter, login
from app.models import ROLES, User
from app.navigation import register
from app.security import start_session_clock, wants_json
from app.services import accounts, audit
from app.services.accounts import normalize_email
from app.services.errors import DomainError
from app.util import utcnow

login.login_view = "auth.login"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"

register("auth.account", _l("My account"), *ROLES, order=90)

# A password was right; the code is still to come. Kept in the session for this long.
PENDING_LOGIN = "pending_login"
PENDING_SECONDS = 300
SETUP_SECRET = "totp_setup_secret"


@login.user_loader
def load_user(user_id: str) -> User | None:
    """Load the account of a session; a stale session version ends the session."""
    try:
        ident, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, ident)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


@login.unauthorized_handler
def unauthorized():
    """Send the browser to sign in; API clients get 401 JSON."""
    message = _("Please sign in to see this page.")
    if wants_json():
        return jsonify(error="Unauthorized", message=message), 401
    flash(message, "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def safe_next(target: str | None) -> str | None:
    """Return target only when it is a path inside this app (no scheme, host or //)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def _failed(response) -> bool:
    """Only refused attempts count against the sign-in limits."""
    return response.status_code == 401


def _account_key() -> str:
    return "account:" + normalize_email(request.form.get("email", ""))


def _pending_key() -> str:
    return "pending:" + str(session.get(PENDING_LOGIN, {}).get("user", ""))


def _limit(name: str):
    return lambda: current_app.config[name]


def _fresh_session() -> None:
    """Start a new session (nothing from before survives: no session fixation)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _complete_login(user: User, target: str | None):
    _fresh_session()
    login_user(user)
    start_session_clock()
    user.last_login_at = utcnow()
    audit.record("auth.login", actor=user)
    db.session.commit()
    flash(_("Signed in as %(email)s.", email=user.email), "success")
    return redirect(safe_next(target) or url_for("public.index"))


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@public
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=get_remote_address,
               methods=["POST"], deduct_when=_failed, scope="login-address")
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ACCOUNT"), key_func=_account_key,
               methods=["POST"], deduct_when=_failed, scope="login-account")
def login_view():
    if current_user.is_authenticated:
        return redirect(url_for("public.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        user = accounts.find_by_email(email)
        if user is None or not user.active or not user.check_password(form.password.data):
            audit.record("auth.login_failed", actor=user, actor_label=email)
            db.session.commit()
            # The same message whether or not the account exists.
            flash(_("Wrong email or password, or the account is deactivated."), "error")
            return render_template("auth/login.html", form=form), 401
        target = safe_next(request.args.get("next"))
        if user.totp_secret:
            _fresh_session()
            session[PENDING_LOGIN] = {"user": user.get_id(), "at": int(time.time()),
                                      "next": target}
            return redirect(url_for("auth.two_factor"))
        return _complete_login(user, target)
    return render_template("auth/login.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_LOGIN)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return load_user(pending.get("user", ""))


@bp.route("/two-factor", methods=["GET", "POST"])
@public
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=get_remote_address,
               methods=["POST"], deduct_when=_failed, scope="totp-address")
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ACCOUNT"), key_func=_pending_key,
               methods=["POST"], deduct_when=_failed, scope="totp-account")
def two_factor():
    """Second step of signing in: the code of the authenticator app."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING_LOGIN, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if accounts.verify_totp(user.id, form.code.data):
            target = session[PENDING_LOGIN].get("next")
            return _complete_login(db.session.get(User, user.id), target)
        audit.record("auth.totp_failed", actor=user)
        db.session.commit()
        form.code.errors.append(_("This code is wrong, expired or already used."))
        return render_template("auth/two_factor.html", form=form), 401
    return render_template("auth/two_factor.html", form=form)


@bp.route("/logout", methods=["POST"])
@role_required()
def logout():
    audit.record("auth.logout", actor=current_user)
    db.session.commit()
    logout_user()
    _fresh_session()
    flash(_("You have signed out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/account", methods=["GET", "POST"])
@role_required()
def account():
    """One's own account: roles, scope, two-factor status, password change."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_user, form.current.data, form.new.data)
        except DomainError as error:
            form.new.errors.extend(error.problems)
            return render_template("auth/account.html", form=form), 400
        # Other sessions end (new session version); this one carries on with the new version.
        user = db.session.get(User, current_user.id, populate_existing=True)
        login_user(user)
        flash(_("Your password was changed; your other sessions have ended."), "success")
        return redirect(url_for("auth.account"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/account.html", form=form), status


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@role_required()
def two_factor_setup():
    """Enrol an authenticator app: scan the QR code, then type one code to prove it."""
    secret = session.get(SETUP_SECRET)
    if secret is None:
        secret = session[SETUP_SECRET] = accounts.new_totp_secret()
    form = CodeForm()
    if form.validate_on_submit():
        if accounts.enable_totp(current_user.id, secret, form.code.data):
            session.pop(SETUP_SECRET, None)
            flash(_("Two-factor sign-in is on: from now on you will be asked for a code."),
                  "success")
            return redirect(url_for("auth.account"))
        form.code.errors.append(_("This code is wrong or expired; check your phone's clock "
                                  "and type the code now shown."))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/two_factor_setup.html", form=form,
                           secret=secret), status


@bp.route("/two-factor/qr.svg")
@role_required()
def two_factor_qr():
    """The enrolment QR code, as an SVG image (no inline script or data in the page)."""
    secret = session.get(SETUP_SECRET)
    if secret is None:
        abort(404)
    buffer = io.BytesIO()
    segno.make(accounts.totp_uri(current_user.email, secret), error="m").save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
        title=_("QR code for your authenticator app"))
    response = Response(buffer.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response
