"""plans remind: due within 14 days, overdue, evidence waiting for review; once each; SMTP or
.eml files; the staff list at /planning/reminders."""

from __future__ import annotations

import email
import socket
import threading
from datetime import timedelta

import pytest

from app.extensions import db
from app.models.plan import Evidence, ReminderSent, UserAgency
from app.services.plans import load_plan
from app.util import local_today
from tests.conftest import PASSWORD
from tests.plans.conftest import small_plan


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_OUTBOX_FOLDER": str(tmp_path / "outbox")}


def _plan_around_today():
    today = local_today()
    data = small_plan(starts_on=(today - timedelta(days=200)).isoformat(),
                      ends_on=(today + timedelta(days=200)).isoformat())
    commitment = data["commitments"][0]
    commitment["starts_on"] = (today - timedelta(days=100)).isoformat()
    commitment["ends_on"] = (today + timedelta(days=100)).isoformat()
    commitment["milestones"] = [
        {"number": 1, "description": {"es": "Vencido", "en": "Overdue"},
         "starts_on": (today - timedelta(days=90)).isoformat(),
         "ends_on": (today - timedelta(days=3)).isoformat()},
        {"number": 2, "description": {"es": "Pronto"},
         "starts_on": (today - timedelta(days=10)).isoformat(),
         "ends_on": (today + timedelta(days=14)).isoformat()},
        {"number": 3, "description": {"es": "Lejano"},
         "starts_on": (today - timedelta(days=10)).isoformat(),
         "ends_on": (today + timedelta(days=15)).isoformat()},
        {"number": 4, "description": {"es": "Hecho"},
         "starts_on": (today - timedelta(days=90)).isoformat(),
         "ends_on": (today - timedelta(days=20)).isoformat(),
         "completed_on": (today - timedelta(days=25)).isoformat()},
    ]
    plan = load_plan(data).plan
    milestones = plan.commitments[0].milestone_by_number()
    db.session.add(Evidence(commitment_id=plan.commitments[0].id, milestone_id=milestones[3].id,
                            kind="link", url="https://example.org/x", description="Avance",
                            done_on=local_today(), state="pending"))
    db.session.commit()
    return plan


@pytest.fixture
def people(make_user):
    implementer = make_user("implementer", email="enlace@example.org")
    other = make_user("implementer", email="otra@example.org")
    db.session.add(UserAgency(user_id=implementer.id, lead_agency="Secretaría de Prueba"))
    db.session.add(UserAgency(user_id=other.id, lead_agency="Otra Secretaría"))
    monitor = make_user("monitor", email="comite@example.org")
    make_user("coordinator", email="coord@example.org")
    db.session.commit()
    return {"implementer": implementer, "monitor": monitor}


def _outbox(tmp_path) -> dict[str, email.message.EmailMessage]:
    folder = tmp_path / "outbox"
    messages = {}
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages[message["To"]] = message
    return messages


def test_lists_and_once_each(app, runner, demo_consultation, people, tmp_path, monkeypatch):
    from app.services import reminders

    monkeypatch.setenv("CONSULTA_LANG", "en")  # the command speaks English; e-mails Spanish
    _plan_around_today()
    lists = reminders.items()
    assert [i.milestone.number for i in lists["overdue"]] == [1]
    assert [i.milestone.number for i in lists["due_soon"]] == [2]  # day 14 in, day 15 out
    assert [(i.milestone.number, i.pending) for i in lists["awaiting_review"]] == [(3, 1)]

    result = runner.invoke(args=["plans", "remind"])
    assert result.exit_code == 0, result.output
    assert "2 message(s) sent with 5 new reminder(s)" in result.output
    messages = _outbox(tmp_path)
    assert set(messages) == {"enlace@example.org", "comite@example.org"}
    body = messages["enlace@example.org"].get_content()
    assert "Hitos vencidos" in body
    assert "Vencido" in body
    assert "Pronto" in body
    assert "Lejano" not in body
    assert "Hecho" not in body
    assert "Evidencia por revisar" not in body
    monitor = messages["comite@example.org"].get_content()
    assert "Evidencia por revisar" in monitor
    assert "Lejano" in monitor
    assert "Recordatorios del plan de acción" in messages["comite@example.org"]["Subject"]
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == 5

    again = runner.invoke(args=["plans", "remind"])
    assert "0 message(s) sent with 0 new reminder(s)" in again.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_staff_page_shows_the_same_lists(client, auth, demo_consultation, people):
    _plan_around_today()
    auth.login("coord@example.org")
    page = client.get("/planning/reminders").get_data(as_text=True)
    assert "Vencido" in page
    assert "Pronto" in page
    assert "Lejano" in page
    assert "Hecho" not in page


class _SMTPServer:
    """A minimal SMTP server on 127.0.0.1 that records what it is sent."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.messages: list[tuple[list[str], bytes]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                conn.sendall(b"220 test ESMTP\r\n")
                rcpt: list[str] = []
                while True:
                    line = reader.readline()
                    if not line:
                        break
                    command = line.decode().strip().upper()
                    if command.startswith(("EHLO", "HELO")):
                        conn.sendall(b"250 test\r\n")
                    elif command.startswith("RCPT"):
                        rcpt.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                        conn.sendall(b"250 ok\r\n")
                    elif command == "DATA":
                        conn.sendall(b"354 go\r\n")
                        data = b""
                        while (chunk := reader.readline()) not in (b".\r\n", b""):
                            data += chunk
                        self.messages.append((rcpt, data))
                        rcpt = []
                        conn.sendall(b"250 queued\r\n")
                    elif command == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self):
        self.sock.close()


def test_sent_through_smtp_when_configured(app, runner, demo_consultation, people, tmp_path):
    server = _SMTPServer()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False)
        _plan_around_today()
        result = runner.invoke(args=["plans", "remind"])
        assert result.exit_code == 0, result.output
    finally:
        server.close()
    assert sorted(r[0] for r, _data in server.messages) == ["comite@example.org",
                                                            "enlace@example.org"]
    assert not (tmp_path / "outbox").exists()


def test_implementer_sees_only_their_agency(client, auth, demo_consultation, people, make_user):
    _plan_around_today()
    auth.login("otra@example.org")
    page = client.get("/planning/reminders").get_data(as_text=True)
    assert "Vencido" not in page
    auth.logout()
    auth.login("enlace@example.org")
    page = client.get("/planning/reminders").get_data(as_text=True)
    assert "Vencido" in page
    assert "Pronto" in page
    assert "Lejano" not in page  # evidence to review is the monitors' list


@pytest.mark.parametrize("role", ["staff", "analyst", "facilitator"])
def test_reminders_page_forbidden_to_other_roles(client, make_user, role):
    user = make_user(role, email=f"{role}@example.org")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert client.get("/planning/reminders").status_code == 403


def test_unreachable_smtp_server_is_reported_and_tried_again(app, runner, demo_consultation,
                                                             people, monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "en")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    _plan_around_today()
    result = runner.invoke(args=["plans", "remind"])
    assert result.exit_code != 0
    assert "2 message(s) could not be sent; they will be tried again" in result.output
    assert "comite@example.org" in result.output
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == 0
