"""Staff accounts: creation and the password policy."""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import ROLES, User
from app.services import audit
from app.services.errors import DomainError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"


def _common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


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
    local_part = email.split("@")[0].lower()
    if lowered in _common_passwords() or len(set(password)) < 4 or (
        local_part and len(local_part) >= 4 and local_part in lowered
    ):
        problems.append(_("This password is too common or too easy to guess; choose another."))
    return problems


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, roles: set[str], actor: User | None) -> User:
    """Create an account after checking the email, roles and password policy."""
    email = normalize_email(email)
    problems = []
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        problems.append(_("\"%(email)s\" is not an email address.", email=email))
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        problems.append(_("Unknown role %(role)s; roles are: %(roles)s", role=", ".join(unknown),
                          roles=", ".join(ROLES)))
    if not roles:
        problems.append(_("Choose at least one role."))
    problems += password_problems(password, email)
    if problems:
        raise DomainError(_("The account was not created."), problems)
    with write_transaction() as session:
        if session.scalar(db.select(User.id).where(User.email == email)) is not None:
            raise DomainError(_("An account with email %(email)s already exists.", email=email))
        user = User(email=email, all_municipalities=bool({"admin"} & set(roles)))
        user.set_password(password)
        user.set_roles(roles)
        session.add(user)
        session.flush()
        audit.record("account.create", actor=actor, object_type="user", object_id=user.id,
                     after={"email": email, "roles": sorted(roles)})
    return user
