"""Helpers for the account and security tests."""

from __future__ import annotations

import pyotp
import pytest

from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def make_admin(make_user):
    """Create an administrator who has enrolled two-factor sign-in."""

    def make(email: str = "admin@example.org", **kwargs) -> User:
        user = make_user("admin", email=email, **kwargs)
        user.totp_secret = SECRET
        db.session.commit()
        return user

    return make


def sign_in(client, email: str, password: str = PASSWORD, *, secret: str | None = None,
            follow: bool = False):
    """Sign in through the real form; with a TOTP secret, type the current code as well."""
    response = client.post("/auth/login", data={"email": email, "password": password})
    if secret is None or response.status_code != 302:
        return response
    assert response.headers["Location"].endswith("/auth/two-factor")
    # A code may be used once: start from a fresh counter when a test signs in repeatedly.
    user = db.session.scalar(db.select(User).where(User.email == email))
    user.totp_last_counter = None
    db.session.commit()
    return client.post("/auth/two-factor", data={"code": pyotp.TOTP(secret).now()},
                       follow_redirects=follow)


@pytest.fixture
def admin_client(app, make_admin):
    """A client signed in as an administrator with two-factor sign-in."""
    admin = make_admin()
    client = app.test_client()
    response = sign_in(client, admin.email, secret=SECRET)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.admin = admin
    return client
