"""Fixtures of the paper channel: people with their municipalities, created when first used."""

from __future__ import annotations

import pytest

# name: (role, municipalities, all municipalities); password hashing is slow, so each account
# is created only when a test first asks for it.
PEOPLE = {
    "gdl1": ("staff", ["14039"], None),
    "gdl2": ("staff", ["14039"], None),
    "tlajo": ("staff", ["14097"], None),
    "boss": ("supervisor", [], True),
    "boss2": ("supervisor", [], True),
    "analyst": ("analyst", [], None),
}


class People:
    def __init__(self, make_user):
        self._make_user = make_user
        self._made = {}

    def __getattr__(self, name):
        if name.startswith("_") or name not in PEOPLE:
            raise AttributeError(name)
        if name not in self._made:
            role, municipalities, everywhere = PEOPLE[name]
            self._made[name] = self._make_user(role, email=f"{name}@example.org",
                                               municipalities=municipalities,
                                               all_municipalities=everywhere)
        return self._made[name]


@pytest.fixture
def people(make_user):
    return People(make_user)


@pytest.fixture
def login_as(auth):
    """Sign out whoever is signed in, then sign in as this account."""

    def login(user):
        auth.logout()
        response = auth.login(user.email)
        assert response.status_code == 302
        return user

    return login
