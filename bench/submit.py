"""Online submissions under load: the real app against a bare ceiling, on SQLite and PostgreSQL.

    python bench/submit.py --db sqlite --db postgres --clients 16 --seconds 30

For each database and target (the real app, wsgi:app; the ceiling, bench/ceiling_app.py):
create a fresh database (the app's: migrations, geography and an open copy of the demo
consultation), serve it with gunicorn (`-w <cores>` sync workers, the same for both), then
drive the targets in turn, --rounds times each for seconds/rounds (so that a change in the
machine's speed weighs on both alike), from separate load processes: each client loops GET
the form -> parse csrf_token and submission_token (and every other hidden field) -> POST a
valid answer -> expect 303 -> GET the thank-you page. A submission counts as successful only
when all three steps succeeded. Then count the rows stored and compare (nothing lost, nothing
doubled).

Reports, per target: submissions/s and HTTP requests/s, latency p50/p95/p99 of every request
and of the POSTs, errors (any non-expected status, a missing token, a connection error) and
stored vs successful submissions. gunicorn sync workers close each connection, so every
request opens a new TCP connection on both targets. Also the CPU time per submission of the
server's workers, of the load processes and of the local PostgreSQL server (from /proc, on
Linux): the load processes share the machine's cores, so the ratio of throughputs is that of
whole-machine CPU per submission, and these say whose it is.

The app runs with APP_ENV=production, its own CSRF and one-time tokens, and the rate limiter
OFF (RATELIMIT_ENABLED=0): all clients come from 127.0.0.1, which a per-address limit would
throttle after a few requests; in production they come from many addresses.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402

SLUG = "bench-submit"
FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*>', re.I)
INPUT = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)
ATTR = re.compile(r'([\w:-]+)\s*=\s*"([^"]*)"')
OPTION_VALUE = re.compile(r'<option\b[^>]*?\bvalue="([^"]*)"', re.I)


# ---------------------------------------------------------------- load generator (client side)


def parse_form(page: str) -> tuple[str | None, list[tuple[str, str]], dict[str, list[str]]]:
    """Return the form's action, its hidden fields and the options of each select/radio/checkbox.

    Plain searches and one regular expression per kind of tag: the load processes share the
    server's cores, so what they spend parsing is taken from the server (a lazy `(.*?)</form>`
    over the app's 20 KB page cost 0.2 ms a form, about a tenth of a submission's CPU).
    """
    form = FORM.search(page)
    action = None
    body = page
    if form:
        end = page.find("</form>", form.end())
        body = page[form.start():end if end >= 0 else len(page)]
        action = _unescape(dict(ATTR.findall(form.group(0))).get("action", "")) or None
    hidden: list[tuple[str, str]] = []
    choices: dict[str, list[str]] = {}
    for match in INPUT.finditer(body):
        tag, attrs = match.group(1).lower(), dict(ATTR.findall(match.group(2)))
        name = attrs.get("name")
        if not name:
            continue
        kind = attrs.get("type", "text").lower()
        if tag == "input" and kind == "hidden":
            hidden.append((name, _unescape(attrs.get("value", ""))))
        elif tag == "input" and kind in ("radio", "checkbox"):
            choices.setdefault(name, []).append(_unescape(attrs.get("value", "on")))
        elif tag == "select":
            end = body.find("</select>", match.end())
            choices[name] = [_unescape(value) for value in OPTION_VALUE.findall(
                body, match.end(), end if end >= 0 else len(body)) if value]
    return action, hidden, choices


def _unescape(value: str) -> str:
    return html.unescape(value) if "&" in value else value


def answer_fields(choices: dict[str, list[str]], rng: random.Random) -> list[tuple[str, str]]:
    """Return a valid answer for the demo consultation's form (fields as in the brief)."""
    fields: list[tuple[str, str]] = []
    municipalities = choices.get("municipality") or ["14039"]
    fields.append(("municipality", rng.choice(municipalities)))
    theme_fields = sorted(n for n in choices if re.fullmatch(r"theme_\d+", n))
    if theme_fields:
        pool = [v for v in choices[theme_fields[0]] if v]
        picked = rng.sample(pool, min(len(theme_fields), len(pool)))
        fields += list(zip(theme_fields, picked, strict=False))
    elif "themes" in choices:
        fields += [("themes", v) for v in rng.sample(choices["themes"], 3)]
    for name, values in choices.items():
        if name.startswith("q_") and values:
            fields.append((name, rng.choice(values)))
    fields += [("q_age", str(rng.randint(16, 80))), ("q_problem", "Falta agua en mi colonia."),
               ("consent", "y"), ("website", "")]
    return fields


class Client(threading.Thread):
    """One simulated citizen after another: form, POST, thank-you page; cookies kept."""

    def __init__(self, host: str, port: int, path: str, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.host, self.port, self.path, self.deadline = host, port, path, deadline
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {"form": [], "post": [], "thanks": []}
        self.ok = 0
        self.errors: dict[str, int] = {}

    def request(self, kind: str, method: str, path: str, body: str | None = None,
                cookies: dict | None = None) -> http.client.HTTPResponse:
        headers = {"Connection": "close", "Accept-Language": "es-MX"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.data = response.read()
        finally:
            connection.close()
        self.latencies[kind].append(time.perf_counter() - started)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and cookies is not None:
                name, _, rest = value.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def run(self) -> None:
        while time.perf_counter() < self.deadline:
            cookies: dict[str, str] = {}
            try:
                form = self.request("form", "GET", self.path, cookies=cookies)
                if form.status != 200:
                    self.error(f"form {form.status}")
                    continue
                action, hidden, choices = parse_form(form.data.decode("utf-8", "replace"))
                names = {name for name, _ in hidden}
                if not {"csrf_token", "submission_token"} <= names:
                    self.error("form without csrf_token/submission_token")
                    continue
                fields = hidden + answer_fields(choices, self.rng)
                post = self.request("post", "POST", action or self.path,
                                    urllib.parse.urlencode(fields), cookies=cookies)
                location = post.getheader("Location", "")
                if post.status != 303 or "/thanks" not in location:
                    self.error(f"post {post.status} {post.data[:120]!r}")
                    continue
                thanks = self.request("thanks", "GET", urllib.parse.urlsplit(location).path
                                      or location, cookies=cookies)
                if thanks.status != 200:
                    self.error(f"thanks {thanks.status}")
                    continue
                self.ok += 1
            except (OSError, http.client.HTTPException) as error:
                self.error(f"{error.__class__.__name__}: {error}"[:100])


def load(url: str, clients: int, seconds: float, seed: int) -> dict:
    """Drive url with `clients` threads for `seconds`; return counts and raw latencies."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.perf_counter() + seconds
    threads = [Client(parts.hostname, parts.port, parts.path, deadline, seed * 1000 + i)
               for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    errors: dict[str, int] = {}
    for thread in threads:
        for key, value in thread.errors.items():
            errors[key] = errors.get(key, 0) + value
    return {"elapsed": elapsed, "ok": sum(t.ok for t in threads), "errors": errors,
            "latencies": {kind: [x for t in threads for x in t.latencies[kind]]
                          for kind in ("form", "post", "thanks")}}


def drive(url: str, clients: int, seconds: float, processes: int) -> dict:
    """Run the load from `processes` separate processes sharing `clients`; merge their results."""
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = []
    for i, count in enumerate(c for c in per if c):
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--load", url, "--clients", str(count),
             "--seconds", str(seconds), "--seed", str(i + 1)],
            stdout=subprocess.PIPE, text=True))
    results = [json.loads(p.communicate()[0]) for p in procs]
    merged = empty_result()
    for r in results:
        add_result(merged, r)
    merged["elapsed"] = max(r["elapsed"] for r in results)  # the processes ran side by side
    return merged


def empty_result() -> dict:
    return {"elapsed": 0.0, "ok": 0, "errors": {},
            "latencies": {"form": [], "post": [], "thanks": []}}


def add_result(into: dict, part: dict) -> None:
    """Add part's successful submissions, errors and latencies to into (not its elapsed time:
    parts run side by side or one after the other, the caller knows which)."""
    into["ok"] += part["ok"]
    for key, value in part["errors"].items():
        into["errors"][key] = into["errors"].get(key, 0) + value
    for kind, values in part["latencies"].items():
        into["latencies"][kind] += values


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotMerged(Exception):
    """The real app has no online form yet."""


def wait_ready(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return
            if status == 404:
                raise NotMerged(f"n/a (GET {path} answered 404: no online form in this checkout)")
            raise RuntimeError(f"GET {path} answered {status}")
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


def gunicorn(app: str, port: int, workers: int, env: dict, log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers),
               "-k", "sync", "-b", f"127.0.0.1:{port}", "--backlog", "2048", app]
    return subprocess.Popen(command, cwd=common.ROOT, env={**os.environ, **env},
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def prepare_app_database(db: str, workdir: Path) -> str:
    """Create the benchmark's database with an open demo consultation; return its URL."""
    return common.open_consultation_database(db, workdir, "submit_app", SLUG)


def stored_app(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text(
            "SELECT count(*) FROM response JOIN consultation ON consultation.id = "
            "response.consultation_id WHERE consultation.slug = :slug AND source = 'online'"),
            {"slug": SLUG}).scalar()
    engine.dispose()
    return count


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Target:
    """One server under test (the real app or the ceiling) on its own fresh database."""

    def __init__(self, target: str, db: str, args, workdir: Path):
        self.name, self.db = target, db
        self.port = free_port()
        log = workdir / f"gunicorn-{target}-{db}.log"
        if target == "app":
            url = prepare_app_database(db, workdir)
            env = {"APP_ENV": "production", "SECRET_KEY": "bench-secret-key",
                   "DATABASE_URL": url, "SESSION_COOKIE_SECURE": "0", "RATELIMIT_ENABLED": "0",
                   "INSTANCE_PATH": str(workdir / "instance")}
            self.server = gunicorn("wsgi:app", self.port, args.workers, env, log)
            self.count = lambda: stored_app(url)
        else:
            url = (str(workdir / "ceiling.sqlite") if db == "sqlite" else common.psycopg_url(
                common.pg_url("submit_ceiling")))
            common.recreate_database(url if url.startswith("postgresql") else f"sqlite:///{url}")
            env = {"CEILING_DATABASE": url}
            subprocess.run([sys.executable, "-c",
                            "import ceiling_app; ceiling_app.create_schema()"],
                           cwd=common.BENCH_DIR, env={**os.environ, **env}, check=True)
            self.server = gunicorn("bench.ceiling_app:app", self.port, args.workers, env, log)
            self.count = lambda: _stored_ceiling(url)
        self.path = f"/c/{SLUG}/answer"
        self.result = empty_result()
        self.cpu = {"server": 0.0, "load": 0.0, "database": 0.0}
        try:
            wait_ready(self.port, self.path, self.server)
        except BaseException:
            stop(self.server)
            raise

    def drive(self, args, seconds: float) -> None:
        """Drive the server for `seconds` more and add the results to the earlier ones."""
        before = cpu_seconds(self.server.pid)
        part = drive(f"http://127.0.0.1:{self.port}{self.path}", args.clients, seconds,
                     args.processes)
        for key, value in cpu_seconds(self.server.pid).items():
            self.cpu[key] += value - before[key]
        add_result(self.result, part)
        self.result["elapsed"] += part["elapsed"]  # the rounds run one after the other

    def row(self, args) -> dict:
        """Stop the server, count what it stored and return the figures of all its runs."""
        stop(self.server)
        stored = self.count()
        result = self.result
        lat = result["latencies"]
        every = lat["form"] + lat["post"] + lat["thanks"]
        ms = lambda v: round(v * 1000, 1)  # noqa: E731
        return {
            "target": self.name, "db": self.db, "status": "ok", "clients": args.clients,
            "workers": args.workers, "rounds": args.rounds,
            "seconds": round(result["elapsed"], 1),
            "submissions": result["ok"],
            "submissions_per_s": round(result["ok"] / result["elapsed"], 1),
            "requests_per_s": round(len(every) / result["elapsed"], 1),
            "p50_ms": ms(percentile(every, 50)), "p95_ms": ms(percentile(every, 95)),
            "p99_ms": ms(percentile(every, 99)),
            "post_p50_ms": ms(percentile(lat["post"], 50)),
            "post_p99_ms": ms(percentile(lat["post"], 99)),
            "mean_ms": ms(statistics.fmean(every)) if every else None,
            # CPU time per successful submission (ms): the server's workers, the load
            # processes (on the same cores here) and the local PostgreSQL server's processes.
            **{f"{key}_cpu_ms": (round(seconds / result["ok"] * 1000, 2)
                                 if result["ok"] and (key != "database" or self.db == "postgres")
                                 else None) for key, seconds in self.cpu.items()},
            "errors": sum(result["errors"].values()), "error_kinds": result["errors"],
            "stored": stored, "lost_or_doubled": stored - result["ok"],
        }


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """Return the CPU seconds (user + system) used so far by the server's worker processes
    (gunicorn's children), by this process's finished children (the load processes) and by
    the local PostgreSQL server's processes. Read from /proc: 0.0 where there is none."""
    clock = os.sysconf("SC_CLK_TCK")
    server = database = 0.0
    for parent, name, ticks in _processes():
        if parent == server_pid:
            server += ticks / clock
        elif name == "postgres":
            database += ticks / clock
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"server": server, "load": children.ru_utime + children.ru_stime,
            "database": database}


def _processes():
    """Yield (parent pid, name, user + system clock ticks) of every process in /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name, _, rest = stat[stat.index("(") + 1:].rpartition(")")
        fields = rest.split()
        yield int(fields[1]), name, int(fields[11]) + int(fields[12])


def _stored_ceiling(url: str) -> int:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url) as c:
            return c.execute("SELECT count(*) FROM ceiling_response").fetchone()[0]
    import sqlite3

    with sqlite3.connect(url) as c:
        return c.execute("SELECT count(*) FROM ceiling_response").fetchone()[0]


def run_database(db: str, args, workdir: Path) -> list[dict]:
    """Serve every target on db at once and drive them in turn, `rounds` times each for
    `seconds / rounds`: a drift in the machine's speed then weighs on the ceiling and the
    app alike, instead of on whichever ran first (seen: the same code's ratio moved from 35%
    to 57% between single runs). Return one row per target."""
    targets: list[Target] = []
    rows: list[dict] = []
    try:
        for name in args.target or ["ceiling", "app"]:
            try:
                targets.append(Target(name, db, args, workdir))
            except NotMerged as error:
                rows.append({"target": name, "db": db, "status": str(error)})
        for _round in range(args.rounds):
            for target in targets:
                target.drive(args, args.seconds / args.rounds)
    except BaseException:
        for target in targets:
            stop(target.server)
        raise
    return rows + [target.row(args) for target in targets]


COLUMNS = ["db", "target", "status", "clients", "rounds", "seconds", "submissions",
           "submissions_per_s", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "post_p99_ms",
           "server_cpu_ms", "load_cpu_ms", "database_cpu_ms", "errors", "stored",
           "lost_or_doubled", "ratio"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--target", choices=["app", "ceiling"], action="append")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--rounds", type=int, default=4,
                        help="drive the targets in turn this many times, seconds/rounds each")
    parser.add_argument("--json", type=Path, help="append the results to this JSON-lines file")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(load(args.load, args.clients, args.seconds, args.seed)))
        return 0
    rows = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="consulta-bench-submit-") as tmp:
        workdir = Path(tmp)
        for db in args.db or ["sqlite"]:
            try:
                found = run_database(db, args, workdir)
            except RuntimeError as error:
                found = [{"target": "app", "db": db, "status": f"error: {error}"}]
            by_target = {row["target"]: row for row in found}
            ceiling = by_target.get("ceiling", {}).get("submissions_per_s")
            app_rate = by_target.get("app", {}).get("submissions_per_s")
            if ceiling and app_rate:
                by_target["app"]["ratio"] = f"{app_rate / ceiling:.0%}"
            for row in found:
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
                if row["status"].startswith("error") or (
                        row["status"] == "ok" and (row["errors"] or row["lost_or_doubled"])):
                    failed = True
    print()
    print(common.fmt_table(rows, COLUMNS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
