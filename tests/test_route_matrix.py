"""Every route of the app, as anonymous and as each role: who may use it is always decided.

The test walks app.url_map, so a route added later is covered without editing this file,
unless it has a URL variable not in SAMPLE_VALUES: then the test fails and says which name to
add (with a sample value for which the route exists, e.g. the slug of the test consultation).
"""

from __future__ import annotations

import pytest
from flask import Flask

from app.models import ROLES
from tests.conftest import PASSWORD

ANONYMOUS = "anonymous"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def world(app, make_consultation, make_user):
    """A closed consultation (results public), and one signed-in client per role."""
    consultation = make_consultation("closed")
    users = {role: make_user(role, email=f"{role}@example.org", municipalities=["14039"])
             for role in ROLES}
    clients = {ANONYMOUS: app.test_client()}
    for role, user in users.items():
        client = app.test_client()
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, role
        clients[role] = client
    return {"consultation": consultation, "users": users, "clients": clients}


# URL variable name -> sample value (or a function of the world fixture).
SAMPLE_VALUES = {
    "slug": lambda world: world["consultation"].slug,
    # /language/<code> (a language) and municipality codes share the name; 14039 is
    # Guadalajara, and the language switch answers 404 for it, which is acceptable.
    "code": "14039",
    "municipality": "14039",
    "user_id": lambda world: world["users"]["staff"].id,
    "region": 12,
    "number": 12,
    # Values for which the route exists or answers 404: either is fine for the guard check.
    "receipt_code": "ABCD-EFGH-JKMN",
    "batch_id": 1,
    "job_id": 1,
    "serial": "14039-000001",
    "token": "unknown-token",
    "name": "ranking",
    "fmt": "csv",
    "plan_id": 1,
    "answer_id": 1,
    "position": 1,
    "lang": "en",
    "question_code": "sector",
    "milestone": 1,
    # The follow-up's milestones, commitments and evidence (none in the world: 404 is fine;
    # the scoping walk below uses real ones).
    "milestone_id": 1,
    "commitment_id": 1,
    "evidence_id": 1,
}


def guard_problems(app: Flask) -> list[str]:
    """Return the endpoints whose view is neither @public nor @role_required (or both)."""
    problems = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        is_public = getattr(view, "public", False) is True
        is_guarded = hasattr(view, "required_roles")
        if is_public == is_guarded:
            problems.append(f"{rule.endpoint} ({rule.rule}): "
                            + ("both @public and @role_required" if is_public else
                               "neither @public nor @role_required"))
    return problems


def url_for_rule(rule, world) -> str:
    values = {}
    for name in rule.arguments:
        if name not in SAMPLE_VALUES:
            pytest.fail(f"Route {rule.rule} ({rule.endpoint}) has the URL variable <{name}>: "
                        f"add a sample value for {name!r} to SAMPLE_VALUES in {__file__}.")
        sample = SAMPLE_VALUES[name]
        values[name] = sample(world) if callable(sample) else sample
    from flask import current_app, url_for

    with current_app.test_request_context():
        return url_for(rule.endpoint, **values)


def allowed(role: str, required: tuple[str, ...]) -> bool:
    return role != ANONYMOUS and (role == "admin" or not required or role in required)


def routes(app: Flask):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint != "static":
            yield rule, app.view_functions[rule.endpoint]


def check(rule, view, role: str, method: str, response) -> str | None:
    """Return what is wrong with the answer of a route to one identity, or None."""
    status = response.status_code
    location = response.headers.get("Location", "")
    api = rule.rule.startswith("/api/")
    where = f"{method} {rule.rule} as {role}: {status} {location}".strip()
    if status >= 500:
        return where + " (server error)"
    if getattr(view, "public", False):
        if status in (401, 403):
            return where + " (public route refused)"
        return None
    required = view.required_roles
    if role == ANONYMOUS:
        if api and status not in (401, 403):
            return where + " (API answers anonymous callers 401/403)"
        if not api and not (status == 302 and location.startswith("/auth/login")):
            return where + " (anonymous must be sent to sign in)"
    elif not allowed(role, required):
        if status != 403:
            return where + f" (only {', '.join(required)} may use it: expected 403)"
    elif status in (401, 403) or location.startswith("/auth/login"):
        return where + " (refused to a role that may use it)"
    return None


def test_every_view_declares_who_may_use_it(app):
    assert guard_problems(app) == []


def test_a_route_added_without_a_decision_is_caught(app):
    app.add_url_rule("/forgotten", "forgotten", lambda: "open to all by accident")
    assert guard_problems(app) == [
        "forgotten (/forgotten): neither @public nor @role_required"]


def test_every_get_route_as_anonymous_and_each_role(app, world):
    problems = []
    for rule, view in routes(app):
        if "GET" not in rule.methods:
            continue
        url = url_for_rule(rule, world)
        for role, client in world["clients"].items():
            response = client.get(url)
            response.close()
            problem = check(rule, view, role, "GET", response)
            if problem:
                problems.append(problem)
    assert problems == [], "\n".join(problems)


def test_other_methods_refuse_anonymous_and_wrong_roles(app, world):
    """POST-only routes: nobody who may not use them gets past the guard (no data is sent)."""
    problems = []
    for rule, view in routes(app):
        if "GET" in rule.methods or getattr(view, "public", False):
            continue
        url = url_for_rule(rule, world)
        for method in sorted(rule.methods - IGNORED_METHODS):
            for role, client in world["clients"].items():
                if allowed(role, view.required_roles):
                    continue
                response = client.open(url, method=method)
                response.close()
                problem = check(rule, view, role, method, response)
                if problem:
                    problems.append(problem)
    assert problems == [], "\n".join(problems)


def test_the_matrix_covers_the_account_routes(app):
    """A guard against a matrix that silently walks nothing."""
    endpoints = {rule.endpoint for rule, _ in routes(app)}
    assert {"accounts.index", "accounts.deactivate", "accounts.audit_log", "auth.login",
            "public.index"} <= endpoints


def test_the_checks_catch_a_wrong_answer(app, request):
    """The matrix really fails: a public view that refuses, a guard letting a wrong role in."""
    from flask import abort

    from app.auth.decorators import public, role_required

    app.add_url_rule("/refusing", "refusing", public(lambda: abort(403)))
    app.add_url_rule("/leaky", "leaky", role_required("analyst")(lambda: "ok"))
    leaky = role_required("analyst")(lambda: "ok")
    world = request.getfixturevalue("world")  # signs in: no route may be added after that
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    response = world["clients"][ANONYMOUS].get("/refusing")
    assert "public route refused" in check(rules["refusing"], app.view_functions["refusing"],
                                           ANONYMOUS, "GET", response)
    assert check(rules["leaky"], leaky, "staff", "GET",
                 world["clients"]["staff"].get("/leaky")) is None  # the guard said 403
    ok = world["clients"]["analyst"].get("/leaky")
    assert "expected 403" in check(rules["leaky"], leaky, "staff", "GET", ok)


def test_an_implementer_of_another_agency_is_refused_on_every_followup_route(
        app, make_consultation, make_user):
    """The walk above has no plan; this one does: every follow-up route taking a milestone,
    commitment or evidence of agency B answers 403 to an implementer of agency A (GET and
    POST), and the agency's own implementer is let in where the route is for implementers."""
    from datetime import date

    from app.services import evidence
    from app.services.plans import load_plan
    from tests.plans.conftest import small_plan

    make_consultation("closed", slug="consulta-ampliada-2016")
    plan = load_plan(small_plan()).plan  # commitment 1, of "Secretaría de Prueba"
    commitment = plan.commitments[0]
    milestone = commitment.milestones[0]
    owner = make_user("implementer", email="owner@example.org",
                      agencies=["Secretaría de Prueba"])
    piece = evidence.submit_evidence(milestone.id, owner, upload=None,
                                     url="https://example.org/a.pdf", description="Acta",
                                     done_on=date(2017, 2, 1))
    make_user("implementer", email="stranger@example.org", agencies=["Otra Secretaría"])
    values = {"milestone_id": milestone.id, "commitment_id": commitment.id,
              "evidence_id": piece.id}
    clients = {}
    for email in ("owner@example.org", "stranger@example.org"):
        clients[email] = app.test_client()
        assert clients[email].post("/auth/login", data={
            "email": email, "password": PASSWORD}).status_code == 302
    from flask import url_for

    problems, walked = [], 0
    for rule, view in routes(app):
        if not rule.rule.startswith("/followup/") or not set(rule.arguments) & set(values):
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        for method in sorted(rule.methods - IGNORED_METHODS):
            walked += 1
            answer = clients["stranger@example.org"].open(url, method=method, data={})
            answer.close()
            if answer.status_code != 403:
                problems.append(f"{method} {url} as another agency: {answer.status_code}")
            required = view.required_roles
            if method == "GET" and "implementer" in required:
                mine = clients["owner@example.org"].get(url)
                mine.close()
                if mine.status_code in (401, 403):  # (a link's file route answers 404)
                    problems.append(f"GET {url} as the agency: {mine.status_code}")
    assert walked >= 6
    assert problems == [], "\n".join(problems)
