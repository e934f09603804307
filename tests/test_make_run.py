"""`make run` serves the app with a job worker beside it, and Ctrl-C stops both."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_starts_a_worker_and_ctrl_c_stops_it(tmp_path, database_url):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = _free_port()
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"),
           "DATABASE_URL": database_url, "FLASK_RUN_PORT": str(port)}
    env.pop("TEST_DATABASE_URL", None)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        # -o: the set-up targets are taken as done (the test database is migrated already).
        make = subprocess.Popen(["make", "-o", "setup", "-o", "install", "run"], cwd=ROOT,
                                env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert make.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            text = log.read_text(errors="replace")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            except OSError:
                time.sleep(0.3)
                continue
            if "Huey consumer started" in text:
                break
            time.sleep(0.3)
        assert (tmp_path / "instance" / "tasks.db").exists()
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        make.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _group_alive(make.pid):
            assert time.monotonic() < deadline, "a process of make run outlived it"
            time.sleep(0.2)
        assert "Consumer exiting" in log.read_text(errors="replace")
    finally:
        if _group_alive(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
