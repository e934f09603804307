"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.decorators import public, role_required
from app.auth.forms import LoginForm
from app.extensions import db, login
from app.models import User
from app.services import audit
from app.services.accounts import normalize_email
from app.util import utcnow

login.login_view = "auth.login"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"


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


def safe_next(target: str | None) -> str | None:
    """Return target only when it is a path inside this app (no scheme, host or //)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@public
def login_view():
    if current_user.is_authenticated:
        return redirect(url_for("public.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None or not user.active or not user.check_password(form.password.data):
            audit.record("auth.login_failed", actor=user, actor_label=email)
            db.session.commit()
            # The same message whether or not the account exists.
            flash(_("Wrong email or password, or the account is deactivated."), "error")
            return render_template("auth/login.html", form=form), 401
        # A new session at sign-in: nothing from before survives (session fixation).
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        login_user(user)
        user.last_login_at = utcnow()
        audit.record("auth.login", actor=user)
        db.session.commit()
        flash(_("Signed in as %(email)s.", email=user.email), "success")
        return redirect(safe_next(request.args.get("next")) or url_for("public.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@role_required()
def logout():
    audit.record("auth.logout", actor=current_user)
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "success")
    return redirect(url_for("public.index"))
