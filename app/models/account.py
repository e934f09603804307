"""Staff accounts, their roles and the municipalities or regions they may work on."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.util import utcnow

ROLES = (
    "admin", "supervisor", "staff", "analyst", "facilitator", "coordinator", "implementer",
    "monitor",
)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change or deactivation: every other session dies on its next request.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Supervisors and administrators may work on every municipality.
    all_municipalities: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan")
    municipality_rows: Mapped[list[UserMunicipality]] = relationship(cascade="all, delete-orphan")
    region_rows: Mapped[list[UserRegion]] = relationship(cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts.
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def set_roles(self, roles: set[str] | list[str]) -> None:
        keep = set(roles)
        self.role_rows = [row for row in self.role_rows if row.role in keep]
        for role in sorted(keep - self.roles):
            self.role_rows.append(UserRole(role=role))

    def has_role(self, *roles: str) -> bool:
        mine = self.roles
        return "admin" in mine or any(role in mine for role in roles)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def municipality_codes(self) -> set[str] | None:
        """Return the municipality codes this account may work on, or None for all of them."""
        if self.all_municipalities or "admin" in self.roles:
            return None
        from app.models.geography import Municipality

        codes = {row.municipality_code for row in self.municipality_rows}
        region_numbers = [row.region_number for row in self.region_rows]
        if region_numbers:
            codes |= set(
                db.session.scalars(
                    db.select(Municipality.code).where(
                        Municipality.region_number.in_(region_numbers)
                    )
                )
            )
        return codes

    def may_work_on(self, municipality_code: str) -> bool:
        codes = self.municipality_codes()
        return codes is None or municipality_code in codes


class UserRole(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class UserMunicipality(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipality.code"), primary_key=True
    )


class UserRegion(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    region_number: Mapped[int] = mapped_column(ForeignKey("region.number"), primary_key=True)
