"""The benchmark scripts still work: each runs once at a tiny size (figures are not checked
against goals here; bench/RESULTS.md holds the measured ones)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def run(script: str, *args: str, tmp_path: Path, timeout: int = 300) -> list[dict]:
    """Run bench/<script> with args; return the JSON lines it printed (it must exit 0)."""
    env = {**os.environ, "BENCH_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("bench")
    run("generate.py", "--db", "sqlite", "--responses", "1000", tmp_path=tmp_path)
    return tmp_path


def test_generate_loads_the_real_schema(generated):
    with sqlite3.connect(generated / "analysis_1k.sqlite") as connection:
        responses = connection.execute("SELECT count(*) FROM response").fetchone()[0]
        themes = connection.execute(
            "SELECT min(n), max(n) FROM (SELECT count(*) n FROM response_theme "
            "GROUP BY response_id)").fetchone()
        municipalities = connection.execute(
            "SELECT count(DISTINCT municipality_code) FROM response").fetchone()[0]
    assert responses == 1000
    assert themes == (1, 3)
    assert municipalities > 20


def test_generate_writes_an_import_csv(tmp_path):
    path = tmp_path / "import.csv"
    run("generate.py", "--csv", str(path), "--responses", "50", tmp_path=tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "form_serial,channel,municipality,themes,sector,heard_via,age,problem," \
                       "submitted_on"
    assert len(lines) == 51


def test_analysis_times_each_operation(generated):
    rows = run("analysis.py", "--db", "sqlite", "--responses", "1000", "--repeat", "1",
               "--op", "respondent_count", "--op", "all_count_tables", "--op", "api_ranking",
               tmp_path=generated)
    by_op = {row["op"]: row for row in rows}
    # Each op twice: without the closed consultation's result snapshots, then with them.
    assert [row["cold_mode"] for row in rows if row["op"] == "api_ranking"] == [
        "first", "snapshot"]
    assert by_op["api_ranking"]["snapshots_at_start"] > 0
    assert by_op["respondent_count"]["result"] == 1000
    assert by_op["all_count_tables"]["result"][0] == 1000
    for row in rows:
        assert row["status"] == "ok" or row["status"].startswith("n/a"), row
        if row["status"] == "ok":
            assert 0 < row["warm_s"] <= row["cold_s"] + 1
            assert 30 < row["peak_rss_mb"] < 1000


def test_submit_drives_the_form_without_losing_anything(tmp_path):
    rows = run("submit.py", "--db", "sqlite", "--clients", "4", "--seconds", "2",
               "--processes", "1", tmp_path=tmp_path)
    assert rows
    for row in rows:
        if row["status"].startswith("n/a"):
            assert row["target"] == "app"  # the online form is not in this checkout
            continue
        assert row["status"] == "ok", row
        assert row["errors"] == 0, row
        assert row["submissions"] > 0
        assert row["stored"] == row["submissions"]
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        if sys.platform == "linux":  # the CPU per submission is read from /proc
            assert row["server_cpu_ms"] > 0, row
            assert row["load_cpu_ms"] > 0, row
        assert row["database_cpu_ms"] is None, row  # PostgreSQL's processes only


def test_submit_cpu_times_the_three_requests_in_process(tmp_path):
    rows = run("submit_cpu.py", "--db", "sqlite", "--submissions", "20", tmp_path=tmp_path)
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "ok", row
    assert row["submissions"] == 20
    for kind in ("form_ms", "post_ms", "thanks_ms"):
        assert row[kind] > 0, row
    assert row["submission_ms"] == pytest.approx(
        row["form_ms"] + row["post_ms"] + row["thanks_ms"], abs=0.01)


@pytest.mark.parametrize(("script", "args"), [
    ("export.py", ("--db", "sqlite", "--responses", "1000")),
    ("import_.py", ("--db", "sqlite", "--rows", "200")),
])
def test_export_and_import_run(generated, script, args):
    rows = run(script, *args, tmp_path=generated)
    assert rows
    for row in rows:
        assert row["status"] == "ok" or row["status"].startswith("n/a"), row
        if row["status"] == "ok":
            assert row["seconds"] > 0
            assert row["peak_rss_mb"] > 0


def test_the_load_generator_reads_the_form_as_posted():
    """bench/submit.py's parser: the post form's action, hidden fields (unescaped) and the
    values to choose from, and nothing from outside the form."""
    sys.path.insert(0, str(BENCH))
    try:
        import submit
    finally:
        sys.path.remove(str(BENCH))
    page = """<form method="get" action="/search"><input type="hidden" name="q" value="x"></form>
<form method="post" action="/c/a?b=1&amp;c=2" class="f">
<input type="hidden" name="csrf_token" value="a&amp;b">
<input type="hidden" name="submission_token" value="tok">
<select name="municipality" id="m" required>
  <option value="">Choose</option><optgroup label="R"><option value="14039" selected>GDL</option>
  <option value="14120">Zapopan</option></optgroup></select>
<input type="radio" name="q_sector" value="public">
<input type="radio" name="q_sector" value="other">
<input type="checkbox" name="consent" value="y"><input type="text" name="q_age" value="">
<button>Send</button></form><input type="hidden" name="after" value="no">"""
    action, hidden, choices = submit.parse_form(page)
    assert action == "/c/a?b=1&c=2"
    assert hidden == [("csrf_token", "a&b"), ("submission_token", "tok")]
    assert choices == {"municipality": ["14039", "14120"], "q_sector": ["public", "other"],
                       "consent": ["y"]}
