"""Fixtures of the plan editor, reminder and assessment tests."""

from __future__ import annotations

import pytest

from tests.plans.conftest import demo_consultation, small_plan  # noqa: F401 - fixtures


@pytest.fixture
def plan(demo_consultation):  # noqa: F811 - the fixture above
    from app.services.plans import load_plan

    return load_plan(small_plan()).plan


@pytest.fixture
def coordinator(make_user, auth):
    user = make_user("coordinator", email="coord@example.org")
    auth.login(user.email)
    auth.client.get("/?lang=en")  # the tests read the English messages
    return user
