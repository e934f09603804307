"""Per-address limits on the public side: answers (a school room behind one address must get
through; an allowlist for town halls and campuses) and map and chart images."""

from __future__ import annotations

import pytest

from app.extensions import db, limiter
from app.models import Response
from tests.public.answer_helpers import form_token, valid_answer


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "ANSWER_RATE_LIMIT_EXEMPT": "192.0.2.0/24, 2001:db8::/32",
            "IMAGE_RATE_LIMIT": "3 per minute"}


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()


def answer(client, address: str) -> int:
    html = client.get("/c/abierta/answer",
                      environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return client.post("/c/abierta/answer", data=valid_answer(form_token(html)),
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_a_school_computer_room_behind_one_address_gets_through(app, make_consultation):
    """30 machines behind one NAT answering in the same minute, some sending twice (a field
    forgotten the first time): 20 a minute refused a third of them."""
    make_consultation("open", slug="abierta")
    statuses = [answer(app.test_client(), "10.1.1.1") for _ in range(45)]
    assert statuses == [303] * 45
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 45


def test_the_answer_limit_still_stops_a_flood_but_not_the_allowlist(app, make_consultation):
    make_consultation("open", slug="abierta")
    app.config["ANSWER_RATE_LIMIT"] = "2 per minute"
    # One browser per answer: a browser that answered is shown its receipt, not a new form.
    assert [answer(app.test_client(), "10.1.1.2") for _ in range(3)] == [303, 303, 429]
    assert [answer(app.test_client(), "192.0.2.15") for _ in range(4)] == [303] * 4
    assert [answer(app.test_client(), "2001:db8::7") for _ in range(4)] == [303] * 4


def test_a_bad_allowlist_stops_the_start(database_url):
    from app import create_app
    from tests.conftest import _config

    with pytest.raises(RuntimeError, match="ANSWER_RATE_LIMIT_EXEMPT"):
        create_app(_config(database_url, ANSWER_RATE_LIMIT_EXEMPT="10.0.0.0/33"))


def test_public_images_are_limited_per_address(app, client, make_consultation, make_user):
    closed = make_consultation("closed", slug="cerrada")
    urls = [f"/c/{closed.slug}/results/ranking.png", f"/maps/{closed.slug}/map.png",
            f"/maps/{closed.slug}/map.svg"]
    statuses = [client.get(url, environ_base={"REMOTE_ADDR": "10.2.2.2"}).status_code
                for url in urls]
    assert statuses == [200, 200, 200]
    refused = client.get(urls[0], environ_base={"REMOTE_ADDR": "10.2.2.2"})
    assert refused.status_code == 429
    assert client.get(urls[0], environ_base={"REMOTE_ADDR": "10.2.2.3"}).status_code == 200
    # Staff looking at maps all day are not counted.
    staff = app.test_client()
    staff.post("/auth/login", data={"email": make_user("analyst").email,
                                    "password": "correct horse battery staple"},
               environ_base={"REMOTE_ADDR": "10.2.2.2"})
    for _ in range(4):
        assert staff.get(urls[1], environ_base={"REMOTE_ADDR": "10.2.2.2"}).status_code == 200
