"""The gunicorn_server fixture serves the app as production does."""

import urllib.request


def test_gunicorn_serves(gunicorn_server, make_consultation):
    make_consultation("open", slug="abierta")
    base = gunicorn_server()
    with urllib.request.urlopen(base + "/c/abierta/answer") as r:
        assert r.status == 200
        assert b"abierta" in r.read()
