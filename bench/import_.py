"""Paper batches: import a generated CSV through the CLI; rows per second and peak memory.

    python bench/import_.py --db sqlite --db postgres --rows 10000 --rows 100000

For each database and size: a fresh database (migrations, geography, an open copy of the demo
consultation), a CSV of that many paper rows in the import format of DESIGN.md written by
bench/generate.py (seeded), then `flask --app wsgi responses import SLUG FILE` in its own
process; reports its wall time, rows/s, the child's CPU time (user + system), its peak RSS
(ru_maxrss of the waited-for process) and the rows stored. The command's start-up (Python,
the app, one query) is timed apart by running it once on an unknown consultation first;
rows/s net of start-up = rows / (seconds - startup seconds). Goal: over 5,000 rows/s with full
validation, memory flat in the number of rows (compare the sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402
import generate  # noqa: E402

SLUG = "bench-import"


def prepare(db: str, workdir: Path) -> str:
    """Create the benchmark's database with an open demo consultation; return its URL."""
    return common.open_consultation_database(db, workdir, "import", SLUG)


def stored(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM response")).scalar()
    engine.dispose()
    return count


def run_one(db: str, rows: int, workdir: Path) -> dict:
    url = prepare(db, workdir)
    csv_path = workdir / f"import-{rows}.csv"
    from app.util import local_today

    # The rows' dates must fall inside the (open) consultation's: all today.
    generate.write_csv(csv_path, rows, first_day=local_today(), days=1)
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
           "CONSULTA_LANG": "en"}
    flask = str(Path(sys.executable).parent / "flask")
    # Start-up alone: the same command on a consultation that does not exist (exits 1).
    started = time.perf_counter()
    subprocess.run([flask, "--app", "wsgi", "responses", "import", "no-such-consultation",
                    str(csv_path)], cwd=common.ROOT, env=env, capture_output=True, check=False)
    startup = time.perf_counter() - started
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [flask, "--app", "wsgi", "responses", "import", SLUG, str(csv_path)], cwd=common.ROOT,
        env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = after.ru_maxrss / 1024
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        status = ("n/a (no 'responses import' command in this checkout)"
                  if "No such command" in output else f"error: {output[-600:]}")
        return {"db": db, "rows": rows, "status": status}
    count = stored(url)
    return {"db": db, "rows": rows, "status": "ok" if count == rows else
            f"error: {count} stored", "seconds": round(elapsed, 2),
            "rows_per_s": round(rows / elapsed), "cpu_s": round(cpu, 2),
            "startup_s": round(startup, 2),
            "net_rows_per_s": round(rows / max(elapsed - startup, 1e-3)),
            "peak_rss_mb": round(peak), "stored": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", metavar="WORKDIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.db[0], args.rows[0], Path(args.one))))
        return 0
    results, failed = [], False
    for db in args.db or ["sqlite"]:
        for rows in args.rows or [1000]:
            # Each size in its own process, so ru_maxrss of the children is this import's own.
            with tempfile.TemporaryDirectory(prefix="consulta-bench-import-") as tmp:
                done = subprocess.run(
                    [sys.executable, __file__, "--one", tmp, "--db", db, "--rows", str(rows)],
                    capture_output=True, text=True, check=False)
            if done.returncode:
                row = {"db": db, "rows": rows, "status": f"error: {done.stderr[-600:]}"}
            else:
                row = json.loads(done.stdout.strip().splitlines()[-1])
            failed = failed or row["status"].startswith("error")
            results.append(row)
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(row) + "\n")
    print()
    print(common.fmt_table(results, ["db", "rows", "status", "seconds", "rows_per_s", "cpu_s",
                                     "startup_s", "net_rows_per_s", "peak_rss_mb", "stored"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
