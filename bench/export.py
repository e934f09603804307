"""Open data at scale: stream responses.csv and .xlsx of N responses; time and peak memory.

    python bench/export.py --db sqlite --db postgres --responses 100000 --responses 1000000

Uses the databases of bench/generate.py (generate them first, or pass --generate). Each export
runs in a new process that GETs /api/v1/consultations/<slug>/responses.<format> through the
test client without buffering and counts the bytes as they stream, so the peak RSS reported
is the app's own while it writes the file. cpu_s is that process's CPU time (user + system) during
the request: on a shared machine it is steadier than the wall time; the database server's CPU
(PostgreSQL) is not in it. Goal: CSV of 1,000,000 under 20 s and 300 MB,
memory flat in the number of rows (compare the sizes side by side).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402

PATH = "/api/v1/consultations/{slug}/responses.{format}"


def child(url: str, fmt: str) -> dict:
    app = common.make_app(url, RATELIMIT_ENABLED=False)
    path = PATH.format(slug=common.SLUG, format=fmt)
    with app.app_context():
        from werkzeug.exceptions import NotFound

        try:
            app.url_map.bind("localhost").match(path, method="GET")
        except NotFound:
            return {"format": fmt, "status": "n/a (route not in this checkout)"}
    client = app.test_client()
    baseline = common.peak_rss_mb()
    started = time.perf_counter()
    cpu_started = time.process_time()
    size = 0
    lines = 0
    first_byte = None
    # An app context around the streamed body, as a WSGI server's iteration has one.
    with app.app_context():
        response = client.get(path, buffered=False)
        for chunk in response.response:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            if isinstance(chunk, str):
                chunk = chunk.encode()
            size += len(chunk)
            if fmt == "csv":
                lines += chunk.count(b"\n")
        response.close()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if response.status_code != 200:
        return {"format": fmt, "status": f"error: HTTP {response.status_code}"}
    return {"format": fmt, "status": "ok", "seconds": round(elapsed, 2), "cpu_s": round(cpu, 2),
            "first_byte_s": round(first_byte or elapsed, 2), "mb": round(size / 2**20, 1),
            "rows": lines - 1 if fmt == "csv" else None,
            "peak_rss_mb": round(common.peak_rss_mb()), "baseline_rss_mb": round(baseline)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--responses", type=int, action="append")
    parser.add_argument("--format", choices=["csv", "xlsx"], action="append")
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tag", default="", help="databases TAG_<size> (default analysis)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    formats = args.format or ["csv", "xlsx"]
    if args.child:
        print(json.dumps(child(args.child, formats[0])))
        return 0
    rows, failed = [], False
    for db in args.db or ["sqlite"]:
        for n in args.responses or [1000]:
            url = common.database_url(db, n, args.tag)
            if args.generate:
                import generate

                generate.generate_database(db, n, url=url)
            for fmt in formats:
                done = subprocess.run([sys.executable, __file__, "--child", url, "--format", fmt],
                                      capture_output=True, text=True, check=False)
                if done.returncode:
                    row = {"format": fmt, "status": "error", "error": done.stderr[-800:]}
                else:
                    row = json.loads(done.stdout.strip().splitlines()[-1])
                row = {"db": db, "responses": n, **row}
                failed = failed or row["status"].startswith("error")
                if row["status"] == "ok" and fmt == "csv" and row["rows"] != n:
                    row["status"] = f"error: {row['rows']} rows for {n} responses"
                    failed = True
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
    print()
    print(common.fmt_table(rows, ["db", "responses", "format", "status", "seconds", "cpu_s",
                                  "first_byte_s", "mb", "rows", "peak_rss_mb"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
