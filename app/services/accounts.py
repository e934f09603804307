"""Staff accounts: creation, roles and scope, deactivation, passwords, two-factor sign-in."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyotp
from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import (
    ROLES,
    Commitment,
    Municipality,
    Region,
    User,
    UserAgency,
    UserMunicipality,
    UserRegion,
    UserRole,
)
from app.services import audit
from app.services.errors import DomainError
from app.util import utcnow

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle
                         if line.strip() and not line.startswith("#"))


# Look-alike characters people put in place of letters ("P@ssw0rd").
_LOOK_ALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                              "@": "a", "$": "s", "!": "i", "8": "b"})
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")
# Words of this platform and place, which an attacker tries first with digits around them.
_SITE_WORDS = ("consulta", "abierta", "jalisco", "gobierno", "guadalajara", "mexico")


def _is_pattern(password: str) -> bool:
    """Return whether the password is one character, a short unit repeated ("abcabcabcabc"),
    or mostly a run of neighbours on the keyboard or in the alphabet ("123456789012",
    "qwertyuiop12", "zyxwvutsrqpo")."""
    lowered = password.lower()
    if len(set(lowered)) < 4:
        return True
    for size in range(1, 5):
        unit = lowered[:size]
        if (unit * (len(lowered) // size + 1))[:len(lowered)] == lowered:
            return True
    steps = 0
    for first, second in zip(lowered, lowered[1:], strict=False):
        if any(first in row and second in row
               and abs(row.index(first) - row.index(second)) in (1, len(row) - 1)
               for row in _KEYBOARD_ROWS):
            steps += 1
    return steps >= 0.75 * (len(lowered) - 1)


def password_problems(password: str, email: str = "") -> list[str]:
    """Return why a password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("The password must have at least %(num)d characters.",
                          num=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(_("The password must have at most %(num)d characters.",
                          num=MAX_PASSWORD_LENGTH))
    lowered = password.lower()
    # "Qwertyuiop123!" is a common word with digits and symbols around it: compare its core;
    # "P@ssw0rd-2026" is one with look-alikes: compare its letters once those are read back.
    core = lowered.strip("0123456789!@#$%&*?._- ")
    letters = re.sub(r"[^a-zñáéíóúü]", "", lowered.translate(_LOOK_ALIKES))
    plain_letters = re.sub(r"[^a-zñáéíóúü]", "", lowered)
    common = _common_passwords()
    site = any(plain_letters in (word, word * 2) or letters == word for word in _SITE_WORDS)
    if lowered in common or core in common or letters in common or plain_letters in common \
            or site:
        problems.append(_("This password is too common or too easy to guess; choose another."))
    elif _is_pattern(password):
        problems.append(_("This password is a repeated or sequential pattern (like \"aaaa\", "
                          "\"abcabc\" or \"123456\"); choose another."))
    local_part, _at, domain = email.lower().partition("@")
    names = {local_part, *re.split(r"[._+-]", local_part), domain.split(".")[0]}
    if any(len(name) >= 4 and name in lowered for name in names):
        problems.append(_("The password must not contain your email address or your name."))
    return problems


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    email: str,
    password: str,
    roles: set[str],
    actor: User | None,
    *,
    municipalities: set[str] | None = None,
    regions: set[int] | None = None,
    all_municipalities: bool | None = None,
    agencies: set[str] | None = None,
) -> User:
    """Create an account after checking the email, roles, scope and password policy."""
    email = normalize_email(email)
    municipalities = set(municipalities or ())
    regions = set(regions or ())
    agencies = clean_agencies(agencies or ())
    problems = []
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        problems.append(_("\"%(email)s\" is not an email address.", email=email))
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        problems.append(_("Unknown role %(role)s; roles are: %(roles)s", role=", ".join(unknown),
                          roles=", ".join(ROLES)))
    if not roles:
        problems.append(_("Choose at least one role."))
    problems += _scope_problems(municipalities, regions)
    problems += agency_problems(set(roles), agencies)
    problems += password_problems(password, email)
    if problems:
        raise DomainError(_("The account was not created."), problems)
    if all_municipalities is None:
        all_municipalities = "admin" in roles
    with write_transaction() as session:
        if session.scalar(db.select(User.id).where(User.email == email)) is not None:
            raise DomainError(_("An account with email %(email)s already exists.", email=email))
        user = User(email=email, all_municipalities=all_municipalities)
        user.set_password(password)
        user.set_roles(roles)
        user.municipality_rows = [UserMunicipality(municipality_code=code)
                                  for code in sorted(municipalities)]
        user.region_rows = [UserRegion(region_number=number) for number in sorted(regions)]
        session.add(user)
        session.flush()
        for agency in sorted(agencies):
            session.add(UserAgency(user_id=user.id, lead_agency=agency))
        session.flush()
        audit.record("account.create", actor=actor, object_type="user", object_id=user.id,
                     after=snapshot(user))
    return user


# --- Account management (administrators) -------------------------------------------------


def generate_password() -> str:
    """Return a random password that passes the policy (24 URL-safe characters)."""
    while True:
        password = secrets.token_urlsafe(18)
        if not password_problems(password):
            return password


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def listed_users() -> list[User]:
    """Return every account, active first, then by email."""
    return list(db.session.scalars(
        db.select(User).order_by(User.active.desc(), User.email)
    ))


def snapshot(user: User) -> dict[str, Any]:
    """Return what an audit event records of an account (never its password or secret)."""
    return {
        "email": user.email,
        "roles": sorted(user.roles),
        "active": user.active,
        "all_municipalities": user.all_municipalities,
        "municipalities": sorted(row.municipality_code for row in user.municipality_rows),
        "regions": sorted(row.region_number for row in user.region_rows),
        "agencies": agencies_of(user),
        "two_factor": user.totp_secret is not None,
    }


def _active_admin_ids(session) -> set[int]:
    query = (
        db.select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True))
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two administrators demoting each other at once must not both succeed.
        query = query.with_for_update(of=User)
    return set(session.scalars(query))


def _refuse_losing_last_admin(session, user: User, *, keeps_admin: bool) -> None:
    if keeps_admin or user.id not in _active_admin_ids(session):
        return
    if len(_active_admin_ids(session)) <= 1:
        raise DomainError(_("%(email)s is the last active administrator: give another account "
                            "the administrator role first.", email=user.email))


def _locked_user(session, user_id: int) -> User:
    user = session.get(User, user_id, populate_existing=True)
    if user is None:
        raise DomainError(_("No account with number %(id)s.", id=user_id))
    return user


def _scope_problems(municipalities: set[str], regions: set[int]) -> list[str]:
    problems = []
    known = set(db.session.scalars(
        db.select(Municipality.code).where(Municipality.code.in_(municipalities))
    )) if municipalities else set()
    for code in sorted(municipalities - known):
        problems.append(_("Unknown municipality code %(code)s.", code=code))
    known_regions = set(db.session.scalars(
        db.select(Region.number).where(Region.number.in_(regions))
    )) if regions else set()
    for number in sorted(regions - known_regions):
        problems.append(_("Unknown region number %(number)s.", number=number))
    return problems


MAX_AGENCY_LENGTH = 200


def clean_agencies(names) -> set[str]:
    """Trim the names (blank ones dropped) and spell each as the plans do when one of their
    lead agencies matches it but for case and spaces."""
    known = {" ".join(name.split()).casefold(): name for name in db.session.scalars(
        db.select(Commitment.lead_agency).distinct())}
    cleaned = set()
    for name in names:
        name = " ".join(str(name).split())
        if name:
            cleaned.add(known.get(name.casefold(), name))
    return cleaned


def agency_problems(roles: set[str], agencies: set[str]) -> list[str]:
    problems = []
    if "implementer" in roles and not roles & {"admin", "coordinator"} and not agencies:
        problems.append(_("An implementer reports for one or more lead agencies: give at least "
                          "one agency (as the action plan names it)."))
    for name in sorted(agencies):
        if len(name) > MAX_AGENCY_LENGTH:
            problems.append(_("The agency name \"%(name)s…\" is longer than %(num)d characters.",
                              name=name[:40], num=MAX_AGENCY_LENGTH))
    return problems


def agencies_of(user: User) -> list[str]:
    """Return the lead agencies assigned to an account, sorted."""
    return sorted(db.session.scalars(
        db.select(UserAgency.lead_agency).where(UserAgency.user_id == user.id)))


def known_agencies() -> list[str]:
    """Return the lead agencies of every plan's commitments, sorted."""
    return sorted(db.session.scalars(db.select(Commitment.lead_agency).distinct()))


def update_access(
    user_id: int,
    *,
    roles: set[str],
    municipalities: set[str],
    regions: set[int],
    all_municipalities: bool,
    actor: User | None,
    agencies: set[str] | None = None,
) -> User:
    """Set an account's roles and the municipalities/regions (or all) it may work on, and the
    lead agencies an implementer reports for (None: keep them)."""
    problems = []
    if agencies is None:
        current = get_user(user_id)
        agencies = set(agencies_of(current)) if current is not None else set()
    agencies = clean_agencies(agencies)
    problems += agency_problems(set(roles), agencies)
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        problems.append(_("Unknown role %(role)s; roles are: %(roles)s", role=", ".join(unknown),
                          roles=", ".join(ROLES)))
    if not roles:
        problems.append(_("Choose at least one role."))
    problems += _scope_problems(set(municipalities), set(regions))
    if problems:
        raise DomainError(_("The account was not changed."), problems)
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        _refuse_losing_last_admin(session, user, keeps_admin="admin" in roles)
        before = snapshot(user)
        user.set_roles(roles)
        user.all_municipalities = all_municipalities
        user.municipality_rows = [
            row for row in user.municipality_rows if row.municipality_code in municipalities
        ]
        have = {row.municipality_code for row in user.municipality_rows}
        for code in sorted(set(municipalities) - have):
            user.municipality_rows.append(UserMunicipality(municipality_code=code))
        user.region_rows = [row for row in user.region_rows if row.region_number in regions]
        have_regions = {row.region_number for row in user.region_rows}
        for number in sorted(set(regions) - have_regions):
            user.region_rows.append(UserRegion(region_number=number))
        have_agencies = set(agencies_of(user))
        for agency in sorted(have_agencies - agencies):
            session.delete(session.get(UserAgency, (user.id, agency)))
        for agency in sorted(agencies - have_agencies):
            session.add(UserAgency(user_id=user.id, lead_agency=agency))
        session.flush()
        after = snapshot(user)
        if after != before:
            audit.record("account.update", actor=actor, object_type="user", object_id=user.id,
                         before=before, after=after)
    return user


def set_active(user_id: int, active: bool, *, actor: User | None) -> User:
    """Deactivate (ending every session of the account at once) or reactivate an account."""
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        if user.active == active:
            return user
        if not active:
            _refuse_losing_last_admin(session, user, keeps_admin=False)
        before = snapshot(user)
        user.active = active
        user.session_version += 1
        audit.record("account.activate" if active else "account.deactivate", actor=actor,
                     object_type="user", object_id=user.id, before=before, after=snapshot(user))
    return user


def set_password(user_id: int, password: str | None, *, actor: User | None) -> tuple[User, str]:
    """Set a new password (or generate one); every existing session of the account ends.

    Returns the account and the password, so a generated one can be shown once.
    """
    password = password or generate_password()
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        problems = password_problems(password, user.email)
        if problems:
            raise DomainError(_("The password was not changed."), problems)
        user.set_password(password)
        user.session_version += 1
        own = actor is not None and actor.id == user.id
        # The password itself is never recorded, only that it changed and by whom.
        audit.record("account.password_change" if own else "account.password_reset",
                     actor=actor, object_type="user", object_id=user.id)
    return user, password


def change_own_password(user: User, current: str, new: str) -> None:
    """Change one's own password after checking the current one."""
    if not user.check_password(current):
        raise DomainError(_("The password was not changed."),
                          [_("The current password is wrong.")])
    set_password(user.id, new, actor=user)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalize_email(email)))


# --- Signing in and out ---------------------------------------------------------------------
# Each is a write transaction of its own (on SQLite it takes the write lock at BEGIN): a sign-in
# whose read transaction turned into a write failed "database is locked" under simultaneous
# sign-ins, instead of queueing like every other write.


def record_sign_in(user_id: int) -> User:
    """Note a successful sign-in (time and audit event)."""
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        user.last_login_at = utcnow()
        audit.record("auth.login", actor=user)
    return user


def record_failed_sign_in(user_id: int | None, email: str) -> None:
    """Audit a refused sign-in: the email as typed, and the account when there is one."""
    with write_transaction() as session:
        user = session.get(User, user_id) if user_id is not None else None
        audit.record("auth.login_failed", actor=user, actor_label=email)


def record_failed_code(user_id: int) -> None:
    """Audit a wrong, expired or replayed two-factor code."""
    with write_transaction() as session:
        audit.record("auth.totp_failed", actor=session.get(User, user_id))


def end_sessions(user_id: int, action: str = "auth.logout", *, actor: User | None = None,
                 **details: Any) -> User:
    """End every session of the account, on every host: the session version moves on, and
    a cookie carrying the old one (a copy made before signing out, say) is refused."""
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        user.session_version += 1
        audit.record(action, actor=actor or user, object_type="user", object_id=user.id,
                     **details)
    return user


# --- Two-factor sign-in (TOTP) --------------------------------------------------------------

TOTP_ISSUER = "Consulta Abierta"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(email: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_counter(secret: str, code: str, *, after: int | None = None,
                 at: float | None = None) -> int | None:
    """Return the time step a code belongs to (this one or a neighbour), or None.

    A step at or before `after` (the last one used) is refused: a code works once.
    """
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for counter in (current, current - 1, current + 1):
        if after is not None and counter <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def verify_totp(user_id: int, code: str) -> bool:
    """Check a sign-in code of an enrolled account and use up its step (no replay).

    The step is taken by one conditional UPDATE: of two sign-ins sending the same code at
    once (on any host), only one moves the stored step forward and succeeds.
    """
    user = db.session.get(User, user_id, populate_existing=True)
    if user is None or not user.totp_secret:
        return False
    secret = user.totp_secret
    counter = totp_counter(secret, code, after=user.totp_last_counter)
    if counter is None:
        return False
    with write_transaction() as session:
        taken = session.execute(
            db.update(User)
            .where(User.id == user_id, User.totp_secret == secret,
                   db.or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter))
            .values(totp_last_counter=counter)
            .execution_options(synchronize_session=False)
        )
    return taken.rowcount == 1


def enable_totp(user_id: int, secret: str, code: str, *, password: str,
                current_code: str | None = None) -> User:
    """Turn two-factor sign-in on once the person proves their app shows the right code.

    The password is asked every time; replacing an enrolled app also asks a code of the
    current one (a session alone, left open or stolen, must not move the second factor to
    another phone). Replacing it ends the account's other sessions.
    """
    user = _locked_user(db.session, user_id)
    had = user.totp_secret is not None
    problems = []
    if not user.check_password(password or ""):
        problems.append(_("The password is wrong."))
    elif had and not verify_totp(user_id, current_code or ""):
        problems.append(_("The code of your current authenticator app is wrong, expired or "
                          "already used."))
    counter = totp_counter(secret, code)
    if counter is None:
        problems.append(_("The code of the new app is wrong or expired; check your phone's "
                          "clock and type the code now shown."))
    if problems:
        raise DomainError(_("Two-factor sign-in was not changed."), problems)
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        user.totp_secret = secret
        user.totp_last_counter = counter
        if had:
            user.session_version += 1
            audit.record("account.totp_replace", actor=user, object_type="user",
                         object_id=user.id, other_sessions_ended=True)
        else:
            audit.record("account.totp_enable", actor=user, object_type="user",
                         object_id=user.id)
    return user


def disable_totp(user_id: int, *, actor: User | None) -> User:
    """Remove an account's two-factor secret (a lost phone); it enrols again at sign-in."""
    with write_transaction() as session:
        user = _locked_user(session, user_id)
        if user.totp_secret is None:
            return user
        user.totp_secret = None
        user.totp_last_counter = None
        user.session_version += 1
        audit.record("account.totp_disable", actor=actor, object_type="user",
                     object_id=user.id)
    return user
