"""CPU per online submission inside the app process, without HTTP or load generator.

    python bench/submit_cpu.py --db sqlite --db postgres --submissions 3000

For each database: a fresh database with an open copy of the demo consultation (as
bench/submit.py), the app built with production settings (its own CSRF and one-time tokens,
rate limiter off), then `submissions` times: GET the form, parse its tokens, POST a valid
answer, follow the 303 to the thank-you page, calling the WSGI app directly. Reports the CPU
time of this process (`time.process_time`) spent inside each of the three requests, per
request, after 200 submissions of warm-up. With PostgreSQL the server's own CPU is not in
these figures (bench/submit.py measures the whole). The same submissions drive bench/submit.py
over HTTP; this one isolates the app's share and moves much less from run to run, so it is
the one to compare two versions of the code with (run them alternately). --profile prints
cProfile's 40 most expensive functions by their own time (--profile cumulative: with what
they call).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402
import submit  # noqa: E402

WARM_UP = 200


def measure(db: str, submissions: int, profile: str | None) -> dict:
    """Run in a process of its own per database (the app reads its settings at import)."""
    workdir = Path(tempfile.mkdtemp(prefix="submit-cpu-"))
    url = submit.prepare_app_database(db, workdir)
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "bench-secret-key",
           "DATABASE_URL": url, "SESSION_COOKIE_SECURE": "0", "RATELIMIT_ENABLED": "0",
           "INSTANCE_PATH": str(workdir / "instance")}
    done = subprocess.run(
        [sys.executable, __file__, "--child", db, "--submissions", str(submissions)]
        + (["--profile", profile] if profile else []),
        env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    lines = done.stdout.splitlines()
    if profile:
        print("\n".join(line for line in lines if not line.startswith("{")))
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


class Visitor:
    """Calls the WSGI app as gunicorn would, keeping the cookies of one visit."""

    def __init__(self, app):
        self.app = app
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, body: bytes = b"") -> tuple[str, dict, bytes]:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000", "HTTP_ACCEPT_LANGUAGE": "es-MX",
            "HTTP_CONNECTION": "close"}
        if body:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started: dict = {}

        def start_response(status, headers, exc_info=None):  # noqa: ARG001
            started.update(status=status, headers=headers)

        chunks = self.app(environ, start_response)
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        for header, value in started["headers"]:
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return started["status"], dict(started["headers"]), data


def child(db: str, submissions: int, profile: str | None) -> None:
    from wsgi import app

    path = f"/c/{submit.SLUG}/answer"
    rng = random.Random(1)
    spent = {"form": 0.0, "post": 0.0, "thanks": 0.0}
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()

    def timed(kind: str, count: bool, call):
        if profiler and count:
            profiler.enable()
        before = time.process_time()
        result = call()
        after = time.process_time()
        if profiler and count:
            profiler.disable()
        if count:
            spent[kind] += after - before
        return result

    def one(count: bool) -> None:
        visitor = Visitor(app)
        status, _, page = timed("form", count, lambda: visitor.call("GET", path))
        assert status.startswith("200"), status
        action, hidden, choices = submit.parse_form(page.decode("utf-8"))
        body = urllib.parse.urlencode(hidden + submit.answer_fields(choices, rng)).encode()
        status, headers, page = timed("post", count,
                                      lambda: visitor.call("POST", action or path, body))
        assert status.startswith("303"), (status, page[:300])
        thanks = urllib.parse.urlsplit(headers["Location"]).path
        status, _, _ = timed("thanks", count, lambda: visitor.call("GET", thanks))
        assert status.startswith("200"), status

    for _ in range(WARM_UP):
        one(False)
    for _ in range(submissions):
        one(True)
    if profiler:
        import pstats

        pstats.Stats(profiler).sort_stats(profile).print_stats(40)
    per_ms = {kind: round(seconds / submissions * 1000, 3) for kind, seconds in spent.items()}
    print(json.dumps({"db": db, "submissions": submissions, "status": "ok",
                      "form_ms": per_ms["form"], "post_ms": per_ms["post"],
                      "thanks_ms": per_ms["thanks"],
                      "submission_ms": round(sum(spent.values()) / submissions * 1000, 3)}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--profile", nargs="?", const="tottime", choices=["tottime", "cumulative"],
                        help="print cProfile's 40 most expensive functions (by their own time, "
                             "or with what they call: --profile cumulative)")
    parser.add_argument("--json", help="append the rows to this JSON-lines file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.submissions, args.profile)
        return 0
    rows = []
    for db in args.db or ["sqlite"]:
        row = measure(db, args.submissions, args.profile)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
    print()
    print(common.fmt_table(rows, ["db", "status", "submissions", "form_ms", "post_ms",
                                  "thanks_ms", "submission_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
