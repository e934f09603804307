"""Sign in (password, then a TOTP code when enrolled), sign out, one's own account."""

from __future__ import annotations

import hashlib
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
from itsdangerous import BadData, URLSafeTimedSerializer

from app.auth import bp
from app.auth.decorators import public, role_required
from app.auth.forms import ChangePasswordForm, CodeForm, EnrolForm, LoginForm
from app.extensions import db, limiter, login
from app.models import ROLES, User
from app.navigation import register
from app.security import start_session_clock, wants_json
from app.services import accounts
from app.services.accounts import normalize_email
from app.services.errors import DomainError

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
    """Return target only when it is a path inside this app (no scheme, host or //).

    Control characters and spaces are refused too: a CR/LF would break the Location header
    (a 500), and browsers drop tabs and newlines from URLs, so "/\t/evil.example" would
    become "//evil.example".
    """
    if not target:
        return None
    if any(ord(char) < 33 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def _failed(response) -> bool:
    """Refused attempts count against the sign-in limits, and so do attempts that failed on
    an error: an error must not give a guesser free tries."""
    return response.status_code == 401 or response.status_code >= 500


def _address() -> str:
    return get_remote_address() or ""


def _email_typed() -> str:
    return normalize_email(request.form.get("email", ""))


def _account_address_key() -> str:
    return f"account:{_email_typed()}|address:{_address()}"


def _account_key() -> str:
    return "account:" + _email_typed()


# A browser where the account signed in before carries this signed cookie; it is spared the
# account's all-addresses limit, so guessers spread over many addresses cannot lock the real
# person out of their usual computer (OWASP's "device cookies").
DEVICE_COOKIE = "consulta_device"
DEVICE_DAYS = 180


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="known-device")


def _known_device() -> bool:
    """Return whether this browser signed in to the typed account before."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        tags = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return False
    return isinstance(tags, list) and _email_tag(_email_typed()) in tags


def _email_tag(email: str) -> str:
    """Return a short digest of the email: the cookie names accounts without showing them."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def _remember_device(response, email: str):
    try:
        tags = _device_serializer().loads(request.cookies.get(DEVICE_COOKIE, ""),
                                          max_age=DEVICE_DAYS * 86400)
    except BadData:
        tags = []
    tag = _email_tag(email)
    tags = [tag] + [known for known in tags if known != tag][:4]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(tags),
                        max_age=DEVICE_DAYS * 86400, path="/auth/",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")
    return response


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
    user = accounts.record_sign_in(user.id)
    _fresh_session()
    login_user(user)
    start_session_clock()
    flash(_("Signed in as %(email)s.", email=user.email), "success")
    return _remember_device(redirect(safe_next(target) or url_for("public.index")), user.email)


# Three limits on failed sign-ins, checked in this order: per address (whatever the email);
# per account and address (a stranger's guesses lock only the stranger's address out of the
# account); per account from all addresses, a higher threshold over which only browsers that
# signed in to the account before still get through (see DEVICE_COOKIE).
@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@public
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=_address,
               methods=["POST"], deduct_when=_failed, scope="login-address")
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ACCOUNT"), key_func=_account_address_key,
               methods=["POST"], deduct_when=_failed, scope="login-account-address")
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ACCOUNT_ALL"), key_func=_account_key,
               methods=["POST"], deduct_when=_failed, exempt_when=_known_device,
               scope="login-account")
def login_view():
    if current_user.is_authenticated:
        return redirect(url_for("public.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        user = accounts.find_by_email(email)
        if user is None or not user.active or not user.check_password(form.password.data):
            accounts.record_failed_sign_in(user.id if user is not None else None, email)
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
@limiter.limit(_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=_address,
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
        accounts.record_failed_code(user.id)
        form.code.errors.append(_("This code is wrong, expired or already used."))
        return render_template("auth/two_factor.html", form=form), 401
    return render_template("auth/two_factor.html", form=form)


@bp.route("/logout", methods=["POST"])
@role_required()
def logout():
    # The session ends on the server too: a copy of this cookie is refused from now on.
    accounts.end_sessions(current_user.id)
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
    """Enrol an authenticator app: scan the QR code, then type one code to prove it.

    The password is asked too, and replacing an enrolled app asks a code of the current one.
    """
    secret = session.get(SETUP_SECRET)
    if secret is None:
        secret = session[SETUP_SECRET] = accounts.new_totp_secret()
    form = EnrolForm()
    replacing = current_user.totp_secret is not None
    if form.validate_on_submit():
        try:
            user = accounts.enable_totp(current_user.id, secret, form.code.data,
                                        password=form.password.data,
                                        current_code=form.current_code.data)
        except DomainError as error:
            form.code.errors.extend(error.problems)
        else:
            session.pop(SETUP_SECRET, None)
            if replacing:
                # Other sessions ended (new session version); this one carries on.
                login_user(user)
                flash(_("Your authenticator app was replaced; your other sessions have "
                        "ended."), "success")
            else:
                flash(_("Two-factor sign-in is on: from now on you will be asked for a code."),
                      "success")
            return redirect(url_for("auth.account"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/two_factor_setup.html", form=form, secret=secret,
                           replacing=replacing), status


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
