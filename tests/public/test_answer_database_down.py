"""A database that cannot take the answer (unreachable, disk full): the form comes back with
every answer kept and a "try again" message (503), nothing is stored, and sending the same
form again once the database is back stores it once."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from app.extensions import db
from app.models import Response
from app.services import submissions
from tests.public.answer_helpers import form_token, valid_answer

MESSAGE = "No pudimos guardar tu respuesta: no se guardó nada."


def count_responses() -> int:
    return db.session.scalar(db.select(db.func.count(Response.id)))


@pytest.fixture
def consultation(make_consultation):
    return make_consultation("open", slug="abierta")


def _failing_store(message: str):
    def fail(*args, **kwargs):
        # The driver's own exception class, as the database raises it.
        raise db.engine.dialect.dbapi.OperationalError(message)
    return fail


@pytest.mark.parametrize("message", ["database or disk is full",
                                     "connection failed: Connection refused"])
def test_a_store_that_fails_keeps_the_answers_and_a_retry_stores_once(
        client, consultation, monkeypatch, message):
    html = client.get("/c/abierta/answer").get_data(as_text=True)
    data = valid_answer(form_token(html), q_problem="Faltan medicinas en el centro de salud.",
                        q_age="52")
    monkeypatch.setattr(submissions, "_insert_if_current", _failing_store(message))
    response = client.post("/c/abierta/answer", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert MESSAGE in page
    assert response.headers["Cache-Control"] == "no-store"
    assert "Faltan medicinas en el centro de salud.</textarea>" in page
    assert 'value="52"' in page
    assert '<option value="14039" selected>' in page
    assert form_token(page) == data["submission_token"]  # the same one-time token
    assert count_responses() == 0
    monkeypatch.undo()
    first = client.post("/c/abierta/answer", data=dict(data, submission_token=form_token(page)))
    again = client.post("/c/abierta/answer", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert count_responses() == 1


def test_a_database_unreachable_when_the_form_is_read_again(client, consultation,
                                                            monkeypatch):
    # A language switch reads the current version: the database is down there too.
    html = client.get("/c/abierta/answer").get_data(as_text=True)
    from app.services import public_form

    monkeypatch.setattr(public_form, "driver_statement",
                        _failing_store("server closed the connection unexpectedly"))
    response = client.post("/c/abierta/answer", data=valid_answer(
        form_token(html), switch_language="en", q_problem="Baches"))
    assert response.status_code == 503
    assert "Baches</textarea>" in response.get_data(as_text=True)


class Proxy:
    """A TCP relay between the server and PostgreSQL that the test can cut (the database
    becomes unreachable: open connections closed, new ones refused) and restore on the same
    port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            # Wakes the thread blocked in accept(): a mere close() would leave it listening.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.sockets.clear()


def test_postgresql_unreachable_under_gunicorn(gunicorn_server, database_url, consultation):
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose (its disk-full case is above)")
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        # One worker: the process that showed the form is the one that gets the answer.
        base = gunicorn_server(workers=1, DATABASE_URL=url.set(
            host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        with urllib.request.urlopen(base + "/c/abierta/answer") as response:
            cookie = response.headers["Set-Cookie"].split(";")[0]
            html = response.read().decode()
        csrf = html.split('name="csrf_token" value="')[1].split('"')[0]
        data = valid_answer(form_token(html), csrf_token=csrf, q_problem="Falta alumbrado.")

        def post() -> tuple[int, str, str]:
            request = urllib.request.Request(
                base + "/c/abierta/answer",
                data=urllib.parse.urlencode(data, doseq=True).encode(),
                headers={"Cookie": cookie})
            opener = urllib.request.build_opener(NoRedirect)
            try:
                with opener.open(request, timeout=60) as response:
                    return response.status, response.read().decode(), ""
            except urllib.error.HTTPError as error:
                body = error.read().decode()
                location = error.headers.get("Location", "")
                error.close()
                return error.code, body, location

        proxy.cut()
        status, page, _location = post()
        assert status == 503
        assert MESSAGE in page
        assert "Falta alumbrado.</textarea>" in page
        assert form_token(page) == data["submission_token"]
        assert count_responses() == 0
        proxy.open()  # the database is back, on the same address
        first = post()
        again = post()
        assert first[0] == again[0] == 303
        assert first[2] == again[2]
        assert count_responses() == 1
    finally:
        proxy.cut()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
