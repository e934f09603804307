"""Imports on the task queue: a real gunicorn and a real worker, a killed worker, limits,
the refusal report."""

from __future__ import annotations

import csv
import gzip
import http.cookiejar
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from app.extensions import db
from app.models import ImportBatch, Job, Response
from app.services import jobs
from tests.conftest import GUNICORN_ENV, PASSWORD
from tests.entry.helpers import csv_bytes, row, serials, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]


def count(model) -> int:
    db.session.rollback()  # read what other processes committed
    return db.session.scalar(db.select(db.func.count()).select_from(model))


# A browser of its own over urllib: cookies, CSRF tokens, multipart uploads ------------------


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)

    def open(self, path: str, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            return self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            return error

    def get(self, path: str) -> tuple[int, str, dict]:
        with self.open(path) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)

    def token(self, path: str) -> str:
        _status, page, _headers = self.get(path)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
        return re.search(r'value="([^"]+)"', tag).group(1)

    def login(self, email: str) -> None:
        token = self.token("/auth/login")
        body = urllib.parse.urlencode({"email": email, "password": PASSWORD,
                                       "csrf_token": token}).encode()
        with self.open("/auth/login", body) as response:
            assert response.status == 302, response.read()[:500]

    def upload(self, slug: str, data: bytes, name: str) -> tuple[int, str]:
        status, location, _body = self.upload_page(slug, data, name)
        return status, location

    def upload_page(self, slug: str, data: bytes, name: str) -> tuple[int, str, str]:
        token = self.token(f"/entry/{slug}/import")
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        with self.open(f"/entry/{slug}/import", body, {
                "Content-Type": f"multipart/form-data; boundary={boundary}"}) as response:
            return (response.status, response.headers.get("Location", ""),
                    response.read().decode("utf-8", "replace"))

    def poll(self, job_url: str, until=("succeeded", "failed"), seconds: float = 90) -> list:
        seen = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, text, _headers = self.get(job_url + "/state")
            assert status == 200
            seen.append(json.loads(text))
            if seen[-1]["state"] in until:
                return seen
            time.sleep(0.1)
        pytest.fail(f"the job did not end in {seconds} s: {seen[-3:]}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def job_worker(database_url: str, tmp_path: Path):
    """Start a real worker process (huey_consumer) on the test database; kill it at the end.

    It shares INSTANCE_PATH with gunicorn_server, hence the SQLite queue file and the folder
    of uploaded files."""
    processes: list[subprocess.Popen] = []

    def start(**overrides: str) -> subprocess.Popen:
        env = {**os.environ, **GUNICORN_ENV, "DATABASE_URL": database_url,
               "INSTANCE_PATH": str(tmp_path / "instance"), **overrides}
        env.pop("TEST_DATABASE_URL", None)
        log = open(tmp_path / f"worker-{len(processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "tests.entry.job_worker"], cwd=ROOT,
                                   env=env, stdout=log, stderr=log)
        log.close()
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def test_web_import_through_gunicorn_and_a_worker(gunicorn_server, job_worker, people,
                                                  make_consultation, tmp_path):
    """The request only queues: a worker process imports, the page polls the job row."""
    consultation = make_consultation()
    staff = people.gdl1
    base = gunicorn_server()
    job_worker()
    _import_and_refuse(base, consultation, staff, tmp_path)


def test_the_queue_on_redis(gunicorn_server, job_worker, people, make_consultation, tmp_path):
    """Production's queue: the web and the worker meet on Redis (TASK_QUEUE_URL)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        from tests.conftest import missing

        missing(f"Redis not reachable at {REDIS_URL}")
    queue = {"TASK_QUEUE_URL": REDIS_URL, "TASK_QUEUE_NAME": f"test-{uuid.uuid4().hex}"}
    consultation = make_consultation()
    base = gunicorn_server(**queue)
    job_worker(**queue)
    browser = Browser(base)
    browser.login(people.gdl1.email)
    _status, location = browser.upload(consultation.slug, csv_bytes(serials(20)), "f.csv")
    assert browser.poll(urllib.parse.urlparse(location).path)[-1]["state"] == "succeeded"
    assert count(Response) == 20


def test_an_import_may_be_larger_than_other_uploads(gunicorn_server, job_worker, people,
                                                   make_consultation):
    """IMPORT_MAX_BYTES, not MAX_CONTENT_LENGTH, bounds an import, CSRF check included
    (the CSRF check reads the form before the view could raise the request's limit)."""
    consultation = make_consultation()
    limits = {"MAX_CONTENT_LENGTH": "100000", "IMPORT_MAX_BYTES": "1000000"}
    base = gunicorn_server(**limits)
    job_worker(**limits)
    browser = Browser(base)
    browser.login(people.gdl1.email)
    data = csv_bytes(serials(2500))
    assert 100_000 < len(data) < 1_000_000
    status, location = browser.upload(consultation.slug, data, "big.csv")
    assert status == 303, status
    assert browser.poll(urllib.parse.urlparse(location).path)[-1]["state"] == "succeeded"
    # Past IMPORT_MAX_BYTES, within the request's room for the form around the file: the
    # upload is refused by its size (422), and past that room too: by the request's limit
    # (413, before the CSRF check reads the form); both name the limit.
    for size, refused in ((1_010_000, 422), (1_200_000, 413)):
        bigger = (data * (size // len(data) + 1))[:size]
        status, _location, page = browser.upload_page(consultation.slug, bigger, "bigger.csv")
        assert status == refused, size
        assert "El archivo supera el límite de importación de 1 MB" in page, page[-2000:]


def _import_and_refuse(base, consultation, staff, tmp_path) -> None:
    browser = Browser(base)
    browser.login(staff.email)

    status, location = browser.upload(consultation.slug, csv_bytes(serials(3000)), "big.csv")
    assert status == 303
    job_url = urllib.parse.urlparse(location).path
    assert re.fullmatch(rf"/entry/{consultation.slug}/import/jobs/\d+", job_url)
    seen = browser.poll(job_url)
    assert seen[-1]["state"] == "succeeded"
    assert count(Response) == 3000
    _status, page, _headers = browser.get(job_url)
    assert "Se importaron 3000 respuesta(s) de big.csv como lote" in page
    # The uploaded file was kept until the job ended, then removed.
    assert list((tmp_path / "instance" / "job-files").iterdir()) == []

    # A refused file: the first problems on the page, the whole report as a download.
    bad = [row(f"14039-{i:06d}", sector="pirates") for i in range(5001, 5151)]
    status, location = browser.upload(consultation.slug, csv_bytes(bad), "bad.csv")
    job_url = urllib.parse.urlparse(location).path
    assert browser.poll(job_url)[-1]["state"] == "failed"
    _status, page, _headers = browser.get(job_url)
    assert "Se rechazó el archivo: 150 problemas; no se guardó nada." in page
    assert page.count("<tr><td>") == 100
    assert "Se muestran los primeros 100 de 150 problemas." in page
    status, text, headers = browser.get(job_url + "/problems.csv")
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["row", "column", "value", "reason"]
    assert len(rows) == 151
    assert rows[1][:3] == ["2", "sector", "pirates"]
    assert count(Response) == 3000


def test_a_worker_killed_mid_import_stores_nothing_and_the_job_is_failed(
        gunicorn_server, job_worker, people, make_consultation, tmp_path):
    """SIGKILL while rows are being written: the transaction dies with the process, and the
    job is reported failed, by the page and by the next worker."""
    consultation = make_consultation()
    base = gunicorn_server()
    marker = tmp_path / "paused"
    worker = job_worker(JOB_TEST_PAUSE_MARKER=str(marker))
    browser = Browser(base)
    browser.login(people.gdl1.email)
    data = csv_bytes(serials(1200))
    _status, location = browser.upload(consultation.slug, data, "forms.csv")
    job_url = urllib.parse.urlparse(location).path
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the worker never reached the store phase"
        time.sleep(0.1)
    time.sleep(1)  # PostgreSQL's writer thread has sent the first rows by now
    assert _a_write_transaction_is_open(), "the worker should be mid-transaction"
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    assert count(Response) == 0
    assert count(ImportBatch) == 0
    job = db.session.scalar(db.select(Job))
    assert job.state == "running"  # nobody has looked yet
    # The next worker looks at the jobs left running and reports them failed.
    job_worker()
    deadline = time.monotonic() + 30
    while db.session.scalar(db.select(Job.state)) != "failed":
        assert time.monotonic() < deadline, "the next worker did not report the job failed"
        time.sleep(0.2)
        db.session.rollback()
    _status, page, _headers = browser.get(job_url)
    assert "se detuvo antes de terminar" in page
    assert list((tmp_path / "instance" / "job-files").iterdir()) == []

    # The same file goes in whole afterwards.
    _status, location = browser.upload(consultation.slug, data, "forms.csv")
    assert browser.poll(urllib.parse.urlparse(location).path)[-1]["state"] == "succeeded"
    assert count(Response) == 1200
    assert count(ImportBatch) == 1


def _a_write_transaction_is_open() -> bool:
    """Tell whether another connection holds an open transaction that has written rows."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        return bool(db.session.scalar(db.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")))
    connection = db.engine.raw_connection()
    try:
        connection.execute("PRAGMA busy_timeout=100")
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except Exception as error:  # noqa: BLE001 - "database is locked": a writer holds it
        return "locked" in str(error)
    finally:
        connection.close()


# The state of a job whose worker went away -----------------------------------------------


def _running(consultation, user, **values) -> Job:
    job = Job(kind="import", consultation_id=consultation.id, created_by_id=user.id,
              filename="x.csv", state="running", phase="check", **values)
    db.session.add(job)
    db.session.commit()
    return job


def test_a_silent_worker_on_another_host_is_reported_failed(app, people, make_consultation):
    consultation = make_consultation()
    now = jobs.utcnow()
    fresh = _running(consultation, people.gdl1, worker="elsewhere:1", heartbeat_at=now)
    stale = _running(consultation, people.gdl1, worker="elsewhere:2",
                     heartbeat_at=now - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1))
    assert jobs.check_alive(fresh).state == "running"
    assert jobs.check_alive(stale).state == "failed"
    assert "se detuvo antes de terminar" in stale.error


def test_a_dead_process_on_this_host_is_reported_failed_at_once(app, people,
                                                                make_consultation):
    consultation = make_consultation()
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    dead = _running(consultation, people.gdl1, worker=f"{jobs.socket.gethostname()}:"
                    f"{process.pid}", heartbeat_at=jobs.utcnow())
    # A live process on this host is trusted even without a recent beat (SQLite's write lock
    # keeps the beat out while an import stores its rows).
    alive = _running(consultation, people.gdl1, worker=jobs.worker_id(),
                     heartbeat_at=jobs.utcnow() - timedelta(days=1))
    assert jobs.fail_abandoned() == 1
    assert dead.state == "failed"
    assert alive.state == "running"


# Limits ------------------------------------------------------------------------------------


def upload(client, slug, data: bytes, name="forms.csv"):
    return client.post(f"/entry/{slug}/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"IMPORT_MAX_ROWS": 10, "IMPORT_MAX_BYTES": 20_000,
            "JOB_FILES_FOLDER": str(tmp_path / "job-files")}


def test_too_many_rows_in_a_csv(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes(serials(11)))
    assert "El archivo tiene más de 10 filas de datos" in page.text
    assert "IMPORT_MAX_ROWS" in page.text
    assert count(Response) == 0
    page = upload(client, consultation.slug, csv_bytes(serials(10)))
    assert "Se importaron 10 respuesta(s)" in page.text


def test_a_file_past_the_size_limit_is_refused_on_upload(client, auth, people,
                                                         make_consultation, app):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, b"x" * 20_001)
    assert page.status_code == 422
    assert "El archivo supera el límite de importación" in page.text
    assert count(Job) == 0
    assert list(Path(app.config["JOB_FILES_FOLDER"]).iterdir()) == []
    # Past the request's own limit too (the upload is not read at all).
    page = upload(client, consultation.slug, b"x" * (200 << 10))
    assert page.status_code == 422
    assert "El archivo supera el límite de importación" in page.text


def test_an_xlsx_declaring_millions_of_rows_is_refused_before_it_is_read(
        client, auth, people, make_consultation):
    """A small workbook whose sheet says A1:I3000000 never reaches openpyxl."""
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    data = xlsx_bytes(serials(2))
    page = upload(client, consultation.slug, _with_dimension(data, "A1:I3000000"),
                  "forms.xlsx")
    assert page.status_code == 422
    assert "declara 3,000,000 filas" in page.text
    assert count(Job) == 0


def test_an_xlsx_with_more_rows_than_it_declares_is_counted(client, auth, people,
                                                            make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    data = _with_dimension(xlsx_bytes(serials(12)), "A1:I2")
    page = upload(client, consultation.slug, data, "forms.xlsx")
    assert "El archivo tiene más de 10 filas de datos" in page.text
    assert count(Response) == 0


def test_a_zip_bomb_is_refused_on_upload(client, auth, people, make_consultation, app):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    app.config["IMPORT_MAX_EXPANDED_BYTES"] = 1_000_000
    data = _with_extra_part(xlsx_bytes(serials(2)), "xl/padding.bin", b"\0" * 2_000_000)
    assert len(data) < 20_000
    page = upload(client, consultation.slug, data, "forms.xlsx")
    assert page.status_code == 422
    assert "IMPORT_MAX_EXPANDED_BYTES" in page.text


def _rewrite(data: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
    return out.getvalue()


def _with_dimension(data: bytes, ref: str) -> bytes:
    return _rewrite(data, lambda name, body: re.sub(
        rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), body)
        if name == "xl/worksheets/sheet1.xml" else body)


def _with_extra_part(data: bytes, name: str, body: bytes) -> bytes:
    out = io.BytesIO(_rewrite(data, lambda _name, content: content))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target:
        target.writestr(name, body)
    return out.getvalue()


# The report ----------------------------------------------------------------------------------


def test_report_neutralizes_formulas_and_is_the_owners_only(client, auth, people,
                                                           make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes([row("14039-900001", sector="=1+1")]))
    job = db.session.scalar(db.select(Job))
    assert job.problem_count == 1
    assert gzip.decompress(job.report)  # stored compressed
    assert "Descargar el informe completo" in page.text
    report = client.get(f"/entry/{consultation.slug}/import/jobs/{job.id}/problems.csv")
    assert report.status_code == 200
    assert "'=1+1" in report.data.decode("utf-8-sig")
    auth.logout()
    auth.login(people.gdl2.email)
    assert client.get(f"/entry/{consultation.slug}/import/jobs/{job.id}/problems.csv"
                      ).status_code == 404


# Snapshots on the queue ------------------------------------------------------------------


def test_results_snapshot_runs_as_a_job(runner, make_consultation):
    consultation = make_consultation("closed")
    result = runner.invoke(args=["results", "snapshot", consultation.slug, "--queue", "--wait"])
    assert result.exit_code == 0, result.output
    job = db.session.scalar(db.select(Job))
    assert (job.kind, job.state) == ("snapshot", "succeeded")
    assert f"{job.result['tables']}" in result.output
    result = runner.invoke(args=["results", "snapshot", consultation.slug, "--queue"])
    assert result.exit_code == 0
    assert "job 2" in result.output or "trabajo 2" in result.output
    open_one = make_consultation("open")
    result = runner.invoke(args=["results", "snapshot", open_one.slug, "--queue"])
    assert result.exit_code != 0
    assert count(Job) == 2


def test_a_queue_that_cannot_be_reached_is_said_and_keeps_nothing(client, auth, people,
                                                                 make_consultation, app,
                                                                 monkeypatch):
    from app import tasks

    def down(job_id):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks, "run_job", down)
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes(serials(2)))
    assert page.status_code == 422
    assert "No se pudo poner el trabajo en la cola" in page.text
    job = db.session.scalar(db.select(Job))
    assert job.state == "failed"
    assert "ConnectionError" in job.error
    assert list(Path(app.config["JOB_FILES_FOLDER"]).iterdir()) == []


def test_a_job_nobody_takes_says_the_worker_may_be_down(client, auth, people,
                                                        make_consultation, app):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    job = Job(kind="import", consultation_id=consultation.id, created_by_id=people.gdl1.id,
              filename="x.csv", state="queued", phase="queued",
              created_at=jobs.utcnow() - timedelta(minutes=5))
    db.session.add(job)
    db.session.commit()
    page = client.get(f"/entry/{consultation.slug}/import/jobs/{job.id}")
    assert 'id="no-worker"' in page.text
    job.created_at = jobs.utcnow()
    db.session.commit()
    assert 'id="no-worker"' not in client.get(
        f"/entry/{consultation.slug}/import/jobs/{job.id}").text


def test_the_import_page_lists_your_recent_imports(client, auth, people, make_consultation):
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    upload(client, consultation.slug, csv_bytes(serials(2)), "mine.csv")
    job = db.session.scalar(db.select(Job))
    page = client.get(f"/entry/{consultation.slug}/import")
    assert page.status_code == 200
    assert "Tus importaciones recientes" in page.text
    assert f'/entry/{consultation.slug}/import/jobs/{job.id}">mine.csv</a>' in page.text
    auth.logout()
    auth.login(people.gdl2.email)
    assert "mine.csv" not in client.get(f"/entry/{consultation.slug}/import").text


def test_a_refusal_of_thousands_of_rows_is_a_short_page_and_a_full_download(
        client, auth, people, make_consultation, app):
    """5,000 bad rows: the page shows 100 of them (it used to render every one as HTML)."""
    app.config.update(IMPORT_MAX_ROWS=10_000, IMPORT_MAX_BYTES=10 << 20)
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    bad = [row(f"14039-{i:06d}", sector="pirates") for i in range(1, 5001)]
    page = upload(client, consultation.slug, csv_bytes(bad))
    assert "Se rechazó el archivo: 5000 problemas; no se guardó nada." in page.text
    assert page.text.count("<tr><td>") == 100
    assert len(page.data) < 100_000
    job = db.session.scalar(db.select(Job))
    report = client.get(f"/entry/{consultation.slug}/import/jobs/{job.id}/problems.csv")
    lines = report.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 5001
    assert lines[-1].startswith("5001,sector,pirates,")
    assert len(job.report) < len(report.data) / 5  # kept compressed


def test_an_unexpected_error_fails_the_job_and_stores_nothing(client, auth, people,
                                                              make_consultation, monkeypatch):
    from app.services import imports

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "import_file", broken)
    consultation = make_consultation()
    auth.login(people.gdl1.email)
    page = upload(client, consultation.slug, csv_bytes(serials(2)))
    assert "El trabajo se detuvo por un error inesperado (RuntimeError)" in page.text
    assert db.session.scalar(db.select(Job.state)) == "failed"
    assert count(Response) == 0
