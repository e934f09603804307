"""Many people answering at once, and one form replayed at once, against a served app.

Runs on the SQLite file database of the suite, and on PostgreSQL when TEST_DATABASE_URL
points there.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db
from app.models import Response
from tests.public.answer_helpers import form_token, valid_answer

WORKERS = 12


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _get_token(base: str) -> str:
    with urllib.request.urlopen(base + "/c/abierta/answer", timeout=30) as response:
        return form_token(response.read().decode())


def _post(base: str, data: dict, barrier: threading.Barrier) -> tuple[int, str]:
    body = urllib.parse.urlencode(data, doseq=True).encode()
    request = urllib.request.Request(base + "/c/abierta/answer", data=body, method="POST")
    barrier.wait(timeout=30)
    try:
        with _opener.open(request, timeout=60) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")


def _stored() -> list[Response]:
    db.session.rollback()
    return list(db.session.scalars(db.select(Response)))


def test_many_simultaneous_answers_are_all_stored(live_server, make_consultation):
    make_consultation("open", slug="abierta")
    tokens = [_get_token(live_server) for _ in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)
    municipalities = ["14039", "14120", "14067", "14097"]
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [
            pool.submit(_post, live_server,
                        valid_answer(token, municipality=municipalities[i % 4]), barrier)
            for i, token in enumerate(tokens)
        ]
        results = [future.result() for future in futures]
    successes = [location for status, location in results if status == 303]
    assert len(successes) == WORKERS, results
    stored = _stored()
    assert len(stored) == len(successes)
    assert sorted(r.submission_token for r in stored) == sorted(tokens)
    assert len({r.receipt_code for r in stored}) == WORKERS
    assert {f"/c/abierta/thanks/{r.receipt_code}" for r in stored} == set(successes)


def test_one_form_replayed_at_once_stores_one_response(live_server, make_consultation):
    make_consultation("open", slug="abierta")
    token = _get_token(live_server)
    barrier = threading.Barrier(WORKERS)
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(_post, live_server, valid_answer(token), barrier)
                   for _ in range(WORKERS)]
        results = [future.result() for future in futures]
    stored = _stored()
    assert len(stored) == 1
    # Every copy of the request lands on the receipt of the one stored response.
    assert {status for status, _ in results} == {303}
    assert {location for _, location in results} == {
        f"/c/abierta/thanks/{stored[0].receipt_code}"
    }
