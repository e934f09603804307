"""Charts and maps drawn by a freshly started server for several people at once.

matplotlib is imported on the first chart. Two threads of a fresh process importing it at the
same moment used to see a partially initialized module ("cannot import name 'Path' from
partially initialized module 'matplotlib.path'"), and every chart and map then answered 500
until the process restarted. Each test starts a server process of its own (fresh: matplotlib
not imported yet) and asks for charts and maps in parallel as its very first requests.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ServerProcesses
from tests.maps.helpers import add_responses

ROOT = Path(__file__).resolve().parent.parent.parent
PARALLEL = 12


def _paths(slug: str) -> list[str]:
    return [f"/maps/{slug}/map.png", f"/c/{slug}/results/ranking.png",
            f"/maps/{slug}/map.svg", f"/maps/{slug}/map.png?level=region"]


def _get(url: str, start: threading.Barrier) -> tuple[str, int]:
    start.wait()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return url, response.status
    except urllib.error.HTTPError as error:
        return url, error.code


def _all_at_once(base: str, slug: str) -> list[tuple[str, int]]:
    paths = _paths(slug)
    urls = [base + paths[i % len(paths)] for i in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda url: _get(url, start), urls))


@pytest.fixture
def closed_slug(make_consultation):
    consultation = make_consultation("closed")
    add_responses(consultation, "14039", 7, themes=["security", "health"])
    add_responses(consultation, "14120", 6, themes=["health"])
    return consultation.slug


@pytest.fixture
def flask_run_server(app, database_url: str, tmp_path: Path):
    """Start `flask run` (werkzeug's threaded server, as `make run` serves) in a process of
    its own; return its base URL."""
    servers = ServerProcesses(database_url, tmp_path)

    def start() -> str:
        return servers.start([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host",
                              "127.0.0.1", "--port", "{port}", "--with-threads", "--no-reload",
                              "--no-debugger"], "flask", {})

    yield start
    servers.stop()


DRAW_AT_ONCE = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
from analysis import charts, maps

GEOJSON = sys.argv[1]
start = threading.Barrier(12)

def ranking():
    start.wait()
    return len(charts.render(charts.ranking_chart(["a", "b"], [0.6, 0.4], None, None, "t", "x"),
                             "png"))

def pareto():
    start.wait()
    return len(charts.render(charts.pareto_chart(["a", "b"], [0.6, 0.4], "t", "y", "c"), "svg"))

def geometry():
    start.wait()
    return len(maps.load_geometry(GEOJSON).paths)

# The map first: a thread importing matplotlib.path while another imports the Agg canvas.
with ThreadPoolExecutor(12) as pool:
    futures = [pool.submit((geometry, ranking, pareto)[i % 3]) for i in range(12)]
    failures = []
    for future in futures:
        try:
            future.result()
        except Exception as error:
            failures.append(repr(error))
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


@pytest.mark.parametrize("attempt", range(3))
def test_threads_drawing_their_first_charts_and_maps_at_once(attempt):
    # A fresh interpreter each time: matplotlib is not imported yet when the threads start.
    from app.maps.present import GEOJSON

    done = subprocess.run([sys.executable, "-c", DRAW_AT_ONCE, str(GEOJSON)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _check(base: str, slug: str) -> None:
    first = _all_at_once(base, slug)
    assert [result for result in first if result[1] != 200] == []
    # And the process stays healthy afterwards.
    again = _all_at_once(base, slug)
    assert [result for result in again if result[1] != 200] == []


def test_fresh_threaded_dev_server_draws_parallel_first_charts_and_maps(flask_run_server,
                                                                         closed_slug):
    _check(flask_run_server(), closed_slug)


def test_fresh_gunicorn_threads_draw_parallel_first_charts_and_maps(gunicorn_server,
                                                                     closed_slug):
    # One worker with threads (gthread): its threads share one fresh interpreter.
    base = gunicorn_server(workers=1, GUNICORN_CMD_ARGS=f"--threads {PARALLEL}")
    _check(base, closed_slug)
