"""Time the analysis (count tables, rankings, API, dashboard) at each size, cold and warm.

    python bench/generate.py --db sqlite --db postgres --responses 1000 --responses 100000 \
        --responses 1000000                           # once: the databases
    python bench/analysis.py --db sqlite --db postgres --responses 1000 --responses 100000 \
        --responses 1000000 [--op NAME ...] [--repeat 3] [--markdown bench/results/analysis.md]

Every operation runs in its own new Python process (so its peak RSS is its own): "cold" is
its first call in that process (new process, new database connection, nothing cached by the
app; the database server's and the OS's page caches are NOT dropped), "warm" the median of the
next --repeat calls. Peak RSS is the process's ru_maxrss after all calls (it includes the
~100 MB of an imported app with pandas and numpy). Operations whose feature is not in this
checkout yet (e.g. an API route) are reported as "n/a".

Closed consultations keep their count tables in result_snapshot (app/services/datasets.py),
so "cold" depends on whether a snapshot is stored. With --cold both (the default) each
operation runs in two new processes: "first" after deleting the consultation's snapshots (the
truly first computation, a scan of the responses; the snapshot it writes when its transaction
ends is timed apart as write_s), then "snapshot" in another new process that finds them.
--cold first or --cold snapshot runs only one of them. --tag NAME uses the databases
NAME_<size> (e.g. a copy with a migration applied) instead of analysis_<size>.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402
from flask.globals import _cv_app  # noqa: E402

ANALYST = "bench-analyst@example.org"
ANALYST_PASSWORD = "Tlaquepaque-Zapotlanejo-4812-Chapala"  # noqa: S105 - local benchmark account


def _datasets(name: str, **filters):
    def run(ctx):
        from app.services import datasets

        frame = getattr(datasets, name)(ctx["consultation"], datasets.Filters(**filters))
        return len(frame) if hasattr(frame, "__len__") else frame

    return run


def _all_count_tables(ctx):
    """What a ranking page needs: respondents, positions, regions, patterns, co-occurrence."""
    from app.services import datasets

    consultation = ctx["consultation"]
    return (datasets.respondent_count(consultation),
            len(datasets.theme_position_counts(consultation)),
            len(datasets.region_theme_counts(consultation)),
            len(datasets.pattern_counts(consultation)),
            len(datasets.cooccurrence_counts(consultation)))


def _get(path: str, login: bool = False, expect_json: bool = True):
    def run(ctx):
        client = ctx["analyst_client"] if login else ctx["client"]
        response = client.get(path.format(slug=common.SLUG))
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} -> {response.status_code}: "
                               f"{response.get_data(as_text=True)[:300]}")
        if expect_json:
            response.get_json()
        return len(response.get_data())

    run.path = path
    return run


def _patterns_setup(weighted: bool):
    """Fetch the pattern table (and weights) before the clock starts: bootstrap alone is timed."""

    def setup(ctx):
        from analysis import weighting
        from app.services import datasets, results

        consultation = ctx["consultation"]
        ctx["themes"] = [theme.code for theme in consultation.themes]
        ctx["patterns"] = datasets.pattern_counts(consultation)
        ctx["weights"] = None
        if weighted:
            table = results.region_weights(consultation, datasets.Filters())
            ctx["weights"] = weighting.pattern_weights(ctx["patterns"], table)

    return setup


def _bootstrap(weighted: bool):
    """Bootstrap intervals with 1,000 resamples on the pattern counts (analysis/uncertainty)."""

    def run(ctx):
        from analysis.uncertainty import bootstrap

        table = bootstrap(ctx["patterns"], ctx["themes"], weights=ctx["weights"],
                          stratify=weighted, replicates=1000)
        return len(table)

    run.setup = _patterns_setup(weighted)
    return run


def _service(name: str):
    def run(ctx):
        from app.services import results

        return len(getattr(results, name)(ctx["consultation"]))

    return run


OPERATIONS = {
    # The SQL count tables of app/services/datasets.py.
    "respondent_count": _datasets("respondent_count"),
    "theme_position_counts": _datasets("theme_position_counts"),
    "theme_position_counts_region": _datasets("theme_position_counts", region=12),
    "region_theme_counts": _datasets("region_theme_counts"),
    "pattern_counts": _datasets("pattern_counts"),
    "cooccurrence_counts": _datasets("cooccurrence_counts"),
    "municipality_channel_counts": _datasets("municipality_channel_counts"),
    "option_counts": _datasets("option_counts"),
    "all_count_tables": _all_count_tables,
    # The public contracts (DESIGN.md) through the test client.
    "api_ranking": _get("/api/v1/consultations/{slug}/ranking"),
    "api_ranking_population": _get("/api/v1/consultations/{slug}/ranking?weight=population"),
    "api_ranking_region": _get("/api/v1/consultations/{slug}/ranking?region=12"),
    "api_ranking_region_population": _get(
        "/api/v1/consultations/{slug}/ranking?weight=population&region=12"),
    "api_participation": _get("/api/v1/consultations/{slug}/participation"),
    "cooccurrence_table": _service("cooccurrence_table"),
    "bootstrap_1000": _bootstrap(weighted=False),
    "bootstrap_1000_population": _bootstrap(weighted=True),
    "dashboard_page": _get("/dashboard/{slug}", login=True, expect_json=False),
    "dashboard_page_population": _get("/dashboard/{slug}?weight=population", login=True,
                                      expect_json=False),
}
GROUPS = {
    "datasets": [k for k in OPERATIONS if not k.startswith(("api_", "dashboard", "bootstrap",
                                                             "cooccurrence_table"))],
    "app": [k for k in OPERATIONS if k.startswith(("api_", "dashboard", "bootstrap",
                                                   "cooccurrence_table"))],
    "goals": ["api_ranking", "api_ranking_population", "api_ranking_region",
              "api_ranking_region_population",
              "api_participation", "cooccurrence_table", "bootstrap_1000",
              "bootstrap_1000_population", "dashboard_page"],
}


def _route_exists(app, path: str) -> bool:
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?")[0].format(slug=common.SLUG), method="GET")
    except (NotFound, MethodNotAllowed):
        return False
    except Exception:  # noqa: BLE001 - e.g. a redirect: the route exists
        return True
    return True


def _ensure_analyst(app) -> None:
    from app.extensions import db
    from app.models import User
    from app.services.accounts import create_user

    with app.app_context():
        if db.session.scalar(db.select(User).where(User.email == ANALYST)) is None:
            create_user(ANALYST, ANALYST_PASSWORD, {"analyst"}, None)


def _snapshots(consultation_id: int, delete: bool) -> int | None:
    """Return how many result snapshots the consultation has (after deleting them if asked)."""
    from sqlalchemy import inspect

    from app.extensions import db

    if not inspect(db.engine).has_table("result_snapshot"):
        return None
    from app.models import ResultSnapshot

    where = ResultSnapshot.consultation_id == consultation_id
    if delete:
        db.session.execute(db.delete(ResultSnapshot).where(where))
        db.session.commit()
    return db.session.scalar(db.select(db.func.count()).select_from(ResultSnapshot).where(where))


def child(url: str, op: str, repeat: int, cold: str = "snapshot") -> dict:
    """Run one operation in this (new) process; return its timings and peak RSS.

    cold: "first" deletes the consultation's result snapshots before the first call.
    """
    started = time.perf_counter()
    app = common.make_app(url, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    startup = time.perf_counter() - started
    run = OPERATIONS[op]
    path = getattr(run, "path", None)
    if path is not None and not _route_exists(app, path):
        return {"op": op, "status": "n/a (route not in this checkout)"}
    with app.app_context():
        from app.extensions import db
        from app.models import Consultation

        ctx = {"client": app.test_client()}
        if op.startswith("dashboard"):
            _ensure_analyst(app)
            ctx["analyst_client"] = app.test_client()
            login = ctx["analyst_client"].post(
                "/auth/login", data={"email": ANALYST, "password": ANALYST_PASSWORD})
            if login.status_code not in (302, 303):
                return {"op": op, "status": f"login failed ({login.status_code})"}
        consultation_id = db.session.scalar(
            db.select(Consultation.id).where(Consultation.slug == common.SLUG))
        snapshots = _snapshots(consultation_id, delete=cold == "first")
        db.session.remove()
        db.engine.dispose()  # cold: the first call opens the connection
        timings = []
        cpu = []  # this process's CPU time (user + system): less noisy than wall time
        write_s = None
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            # Ends the previous call's transaction: a closed consultation's new snapshots are
            # written now (datasets._queue_snapshot), as at the end of a request.
            db.session.remove()
            if i == 1:
                write_s = round(time.perf_counter() - t0, 3)
            # As in production, each request starts with an empty `g` (no signed-in user or
            # locale cached from the previous one, which would be detached from the session).
            vars(_cv_app.get().g).clear()
            ctx["consultation"] = None
            t0 = time.perf_counter()
            c0 = time.process_time()
            ctx["consultation"] = db.session.scalar(
                db.select(Consultation).where(Consultation.slug == common.SLUG))
            if hasattr(run, "setup"):
                run.setup(ctx)
                t0 = time.perf_counter()
                c0 = time.process_time()
            result = run(ctx)
            timings.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return {"op": op, "status": "ok", "cold_mode": cold, "snapshots_at_start": snapshots,
            "write_s": write_s, "startup_s": round(startup, 3),
            "cold_s": round(timings[0], 3), "cold_cpu_s": round(cpu[0], 3),
            "warm_cpu_s": round(statistics.median(cpu[1:]), 3) if repeat else None,
            "warm_s": round(statistics.median(timings[1:]), 3) if repeat else None,
            "peak_rss_mb": round(common.peak_rss_mb()), "result": result}


def run_op(url: str, op: str, repeat: int, cold: str = "snapshot") -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", url, "--op", op, "--repeat", str(repeat),
         "--cold", cold],
        capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        return {"op": op, "status": "error", "error": completed.stderr.strip()[-800:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--responses", type=int, action="append")
    parser.add_argument("--op", action="append",
                        help=f"operation or group ({', '.join([*GROUPS, *OPERATIONS])})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate", action="store_true",
                        help="(re)generate each database first (bench/generate.py)")
    parser.add_argument("--json", type=Path, help="append the results to this JSON-lines file")
    parser.add_argument("--cold", choices=["both", "first", "snapshot"], default="both",
                        help="cold without stored snapshots (first), with them, or both")
    parser.add_argument("--tag", default="", help="databases TAG_<size> (default analysis)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.op[0], args.repeat, args.cold)))
        return 0
    ops: list[str] = []
    for name in args.op or list(OPERATIONS):
        ops.extend(GROUPS.get(name, [name]))
    unknown = [op for op in ops if op not in OPERATIONS]
    if unknown:
        parser.error(f"unknown operation(s): {', '.join(unknown)}")
    failed = False
    rows = []
    for db in args.db or ["sqlite"]:
        for n in args.responses or [1000]:
            url = common.database_url(db, n, args.tag)
            if args.generate:
                import generate

                generate.generate_database(db, n, url=url)
            modes = ["first", "snapshot"] if args.cold == "both" else [args.cold]
            for op in ops:
                for mode in modes:
                    result = {"db": db, "responses": n, **run_op(url, op, args.repeat, mode)}
                    rows.append(result)
                    if result["status"] == "error":
                        failed = True
                    print(json.dumps(result), flush=True)
                    if args.json:
                        with open(args.json, "a") as f:
                            f.write(json.dumps(result) + "\n")
    print()
    print(table(rows))
    return 1 if failed else 0


def table(rows: list[dict]) -> str:
    """Return the operations side by side for the sizes: cold / warm seconds and peak MB.

    With both cold modes: "cold first / cold with snapshot / warm s, MB" (warm and MB of the
    first-mode process).
    """
    sizes = sorted({r["responses"] for r in rows})
    out = []
    for db in dict.fromkeys(r["db"] for r in rows):
        modes = list(dict.fromkeys(r.get("cold_mode", "snapshot") for r in rows
                                   if r["db"] == db))
        what = "cold / warm s, MB" if len(modes) == 1 else "cold first / snapshot / warm s, MB"
        header = ["operation"] + [f"{common.size_label(n)}: {what}" for n in sizes]
        lines = []
        for op in dict.fromkeys(r["op"] for r in rows if r["db"] == db):
            line = {"operation": op}
            for n, column in zip(sizes, header[1:], strict=True):
                found = {r.get("cold_mode", "snapshot"): r for r in rows
                         if r["db"] == db and r["op"] == op and r["responses"] == n}
                if not found:
                    continue
                first = found[modes[0]] if modes[0] in found else next(iter(found.values()))
                if any(r["status"] != "ok" for r in found.values()):
                    line[column] = "; ".join(r["status"] for r in found.values())
                    continue
                colds = " / ".join(str(found[m]["cold_s"]) for m in modes if m in found)
                peak = max(r["peak_rss_mb"] for r in found.values())
                line[column] = f"{colds} / {first['warm_s']}, {peak}"
            lines.append(line)
        out.append(f"{db}\n\n{common.fmt_table(lines, header)}\n")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
