"""Generate N synthetic responses to the demo consultation, bulk-loaded into the real schema.

    python bench/generate.py --db sqlite --responses 1000000
    python bench/generate.py --db postgres --responses 100000
    python bench/generate.py --csv bench/data/import_100k.csv --responses 100000

The database is created from scratch (SQLite file under bench/data/, or the PostgreSQL
database consulta_bench_analysis_<size>), migrated with the project's migrations, given the
geography and the demo consultation (app/demo/consulta-ampliada-2016.json: 12 themes, ranked
choice of 1 to 3, questions sector / heard_via / age / problem), then filled with COPY
(PostgreSQL) or executemany in one transaction (SQLite).

The distribution (seeded, numpy PCG64, seed 2016 by default; the same seed gives the same
rows on both databases):
- municipality: probability proportional to the 2020 census population, times 1.5 inside the
  Guadalajara metropolitan zone (so the zone, ~60% of Jalisco's people, gives ~69% of answers);
- channel: online with probability 0.6 inside the metropolitan zone, 0.25 outside; the rest
  paper (source "import", with a form serial);
- themes: how many = 1, 2 or 3 with probabilities 0.10 / 0.15 / 0.75; the ranked choice is a
  Plackett-Luce draw without replacement with the weights of THEME_WEIGHTS (the 2016 report's
  order); outside the metropolitan zone water, public services and poverty weigh twice as much
  and mobility half, so regions really differ;
- sector: SECTOR_WEIGHTS; heard_via: each option independently with HEARD_VIA_P; age: given
  by 80%, uniform 16..80; problem: a short text for 10%;
- submitted_on: uniform over the consultation's five days (2016-10-17 .. 2016-10-21).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent))  # for common; it puts the root first
import common  # noqa: E402

THEME_WEIGHTS = {
    "security": 30, "employment_inequality": 18, "health": 14, "education": 12,
    "corruption": 12, "public_services": 8, "poverty": 8, "environment": 6, "mobility": 5,
    "water": 4, "human_rights": 3, "public_spaces": 2,
}
OUTSIDE_METRO_FACTOR = {"water": 2.0, "public_services": 2.0, "poverty": 2.0, "mobility": 0.5}
SECTOR_WEIGHTS = {"private": 35, "academia": 25, "public": 14, "civil_society": 8, "other": 18}
HEARD_VIA_P = {"social_media": 0.45, "town_hall": 0.25, "school": 0.12, "radio_tv": 0.15,
               "other": 0.03}
THEME_COUNT_P = (0.10, 0.15, 0.75)
METRO_FACTOR = 1.5
ONLINE_P = {True: 0.6, False: 0.25}
TEXTS = [
    "Falta alumbrado y vigilancia en mi colonia.",
    "No hay medicinas en el centro de salud.",
    "Los jóvenes no encuentran trabajo bien pagado.",
    "El transporte público tarda mucho y es inseguro.",
    "Falta agua varios días a la semana.",
]
FIRST_DAY = date(2016, 10, 17)
DAYS = 5
CHUNK = 50_000


def municipalities() -> list[dict]:
    """Return the 125 municipalities of the project's geography file, in code order."""
    rows = []
    path = common.ROOT / "app" / "data" / "jalisco_municipalities.csv"
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append({"code": row["inegi_code"], "region": int(row["region_number"]),
                         "metro": row["metro_guadalajara"] == "1",
                         "population": int(row["population_2020"])})
    return sorted(rows, key=lambda r: r["code"])


class Generator:
    """Draw synthetic responses chunk by chunk, as numpy arrays (memory flat in N)."""

    def __init__(self, themes: list[str], seed: int = 2016):
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.munis = municipalities()
        weights = np.array([m["population"] * (METRO_FACTOR if m["metro"] else 1.0)
                            for m in self.munis], dtype=float)
        self.muni_p = weights / weights.sum()
        self.metro = np.array([m["metro"] for m in self.munis])
        self.codes = np.array([m["code"] for m in self.munis])
        self.themes = themes
        base = np.array([THEME_WEIGHTS.get(t, 1) for t in themes], dtype=float)
        outside = base * np.array([OUTSIDE_METRO_FACTOR.get(t, 1.0) for t in themes])
        self.log_w = {True: np.log(base), False: np.log(outside)}

    def chunk(self, n: int) -> dict:
        rng = self.rng
        muni = rng.choice(len(self.munis), size=n, p=self.muni_p)
        metro = self.metro[muni]
        online = rng.random(n) < np.where(metro, ONLINE_P[True], ONLINE_P[False])
        k = rng.choice([1, 2, 3], size=n, p=THEME_COUNT_P)
        # Plackett-Luce without replacement: the top-k of log-weight + Gumbel noise.
        keys = np.where(metro[:, None], self.log_w[True], self.log_w[False])
        keys = keys + rng.gumbel(size=(n, len(self.themes)))
        ranked = np.argsort(-keys, axis=1)[:, :3]
        sectors = list(SECTOR_WEIGHTS)
        sector_p = np.array(list(SECTOR_WEIGHTS.values()), dtype=float)
        sector = rng.choice(len(sectors), size=n, p=sector_p / sector_p.sum())
        heard = rng.random((n, len(HEARD_VIA_P))) < np.array(list(HEARD_VIA_P.values()))
        has_age = rng.random(n) < 0.8
        age = rng.integers(16, 81, size=n)
        has_text = rng.random(n) < 0.1
        text = rng.integers(0, len(TEXTS), size=n)
        day = rng.integers(0, DAYS, size=n)
        second = rng.integers(8 * 3600, 22 * 3600, size=n)
        return {"muni": muni, "online": online, "k": k, "ranked": ranked, "sector": sector,
                "heard": heard, "has_age": has_age, "age": age, "has_text": has_text,
                "text": text, "day": day, "second": second}


def _rows(gen: Generator, ids: dict, n: int, consultation_id: int):
    """Yield (responses, response_themes, answers) row lists per chunk, with explicit ids."""
    response_id = 0
    answer_id = 0
    sectors = list(SECTOR_WEIGHTS)
    heard_codes = list(HEARD_VIA_P)
    theme_ids = [ids["theme"][t] for t in gen.themes]
    q = ids["question"]
    opt = ids["option"]
    sector_opt = [opt[("sector", s)] for s in sectors]
    heard_opt = [opt[("heard_via", h)] for h in heard_codes]
    days = [(FIRST_DAY + timedelta(days=d)) for d in range(DAYS)]
    day_text = [d.isoformat() for d in days]
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        c = gen.chunk(size)
        responses, themes, answers = [], [], []
        codes = gen.codes[c["muni"]].tolist()
        online = c["online"].tolist()
        k = c["k"].tolist()
        ranked = c["ranked"].tolist()
        sector = c["sector"].tolist()
        heard = c["heard"].tolist()
        has_age, age = c["has_age"].tolist(), c["age"].tolist()
        has_text, text = c["has_text"].tolist(), c["text"].tolist()
        day, second = c["day"].tolist(), c["second"].tolist()
        for i in range(size):
            response_id += 1
            rid = response_id
            d = day[i]
            s = second[i]
            at = f"{day_text[d]} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000"
            r = ranked[i]
            chosen = [theme_ids[r[p]] for p in range(k[i])]
            pattern = ",".join(map(str, chosen))
            if online[i]:
                responses.append((rid, consultation_id, "online", codes[i], at, day_text[d],
                                  "online", None, f"BENCH{rid:010d}", "accepted", pattern))
            else:
                responses.append((rid, consultation_id, "paper", codes[i], at, day_text[d],
                                  "import", f"P{rid:09d}", None, "accepted", pattern))
            for p, theme_id in enumerate(chosen, start=1):
                themes.append((rid, theme_id, p))
            answer_id += 1
            answers.append((answer_id, rid, q["sector"], sector_opt[sector[i]], None, None))
            h = heard[i]
            for j in range(len(heard_opt)):
                if h[j]:
                    answer_id += 1
                    answers.append((answer_id, rid, q["heard_via"], heard_opt[j], None, None))
            if has_age[i]:
                answer_id += 1
                answers.append((answer_id, rid, q["age"], None, None, float(age[i])))
            if has_text[i]:
                answer_id += 1
                answers.append((answer_id, rid, q["problem"], None, TEXTS[text[i]], None))
        done += size
        yield responses, themes, answers


RESPONSE_COLUMNS = ("id", "consultation_id", "channel", "municipality_code", "submitted_at",
                    "submitted_on", "source", "form_serial", "receipt_code", "state",
                    "theme_pattern")
THEME_COLUMNS = ("response_id", "theme_id", "position")
ANSWER_COLUMNS = ("id", "response_id", "question_id", "option_id", "text_value", "number_value")


def schema_ids(app) -> tuple[int, list[str], dict]:
    """Return the consultation id, its theme codes in order, and code -> id maps."""
    from app.extensions import db
    from app.models import Consultation

    with app.app_context():
        consultation = db.session.scalar(
            db.select(Consultation).where(Consultation.slug == common.SLUG))
        ids = {"theme": {t.code: t.id for t in consultation.themes},
               "question": {q.code: q.id for q in consultation.questions},
               "option": {(q.code, o.code): o.id for q in consultation.questions
                          for o in q.options}}
        return consultation.id, [t.code for t in consultation.themes], ids


def load_sqlite(url: str, rows) -> None:
    import sqlite3

    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    for responses, themes, answers in rows:
        connection.executemany(
            f"INSERT INTO response ({', '.join(RESPONSE_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(RESPONSE_COLUMNS))})", responses)
        connection.executemany(
            "INSERT INTO response_theme (response_id, theme_id, position) VALUES (?, ?, ?)",
            themes)
        connection.executemany(
            f"INSERT INTO answer ({', '.join(ANSWER_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
            answers)
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def _copy_text(rows: list[tuple]) -> str:
    def cell(value):
        if value is None:
            return "\\N"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    return "".join("\t".join(cell(v) for v in row) + "\n" for row in rows)


def load_postgres(url: str, rows) -> None:
    import psycopg

    with psycopg.connect(common.psycopg_url(url)) as connection:
        with connection.cursor() as cursor:
            for responses, themes, answers in rows:
                for table, columns, data in (("response", RESPONSE_COLUMNS, responses),
                                             ("response_theme", THEME_COLUMNS, themes),
                                             ("answer", ANSWER_COLUMNS, answers)):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(_copy_text(data))
            for table in ("response", "answer"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        connection.commit()
    with psycopg.connect(common.psycopg_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def generate_database(db: str, n: int, seed: int = 2016, url: str | None = None) -> str:
    """Create the benchmark database of n responses; return its URL."""
    url = url or common.database_url(db, n)
    common.recreate_database(url)
    app = common.make_app(url)
    common.prepare_schema(app)
    consultation_id, themes, ids = schema_ids(app)
    with app.app_context():
        from app.extensions import db as sa_db

        sa_db.engine.dispose()
    rows = _rows(Generator(themes, seed), ids, n, consultation_id)
    if url.startswith("sqlite"):
        load_sqlite(url, rows)
    else:
        load_postgres(url, rows)
    return url


def write_csv(path: Path, n: int, seed: int = 2016,
              first_day: date = FIRST_DAY, days: int = DAYS) -> None:
    """Write n generated responses in the import format (DESIGN.md), all paper, streamed.

    Serials have the shape the import requires: the municipality's code and its own sequence
    (14039-000001, …), never issued by the app (the import stores them and lists a notice).
    """
    definition = common.demo_definition()
    themes = [t["code"] for t in definition["themes"]]
    gen = Generator(themes, seed)
    sectors = list(SECTOR_WEIGHTS)
    heard_codes = list(HEARD_VIA_P)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["form_serial", "channel", "municipality", "themes", "sector",
                         "heard_via", "age", "problem", "submitted_on"])
        done = 0
        sequences: dict[str, int] = {}
        while done < n:
            size = min(CHUNK, n - done)
            c = gen.chunk(size)
            buffer = io.StringIO()
            out = csv.writer(buffer)
            for i in range(size):
                municipality = gen.codes[c["muni"][i]]
                sequences[municipality] = sequences.get(municipality, 0) + 1
                ranked = [themes[t] for t in c["ranked"][i][: c["k"][i]]]
                heard = [h for j, h in enumerate(heard_codes) if c["heard"][i][j]]
                out.writerow([
                    f"{municipality}-{sequences[municipality]:06d}", "paper", municipality,
                    ";".join(ranked), sectors[c["sector"][i]], ";".join(heard),
                    int(c["age"][i]) if c["has_age"][i] else "",
                    TEXTS[c["text"][i]] if c["has_text"][i] else "",
                    (first_day + timedelta(days=int(c["day"][i]) % days)).isoformat(),
                ])
            f.write(buffer.getvalue())
            done += size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--responses", type=int, action="append")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--csv", type=Path, help="write an import CSV instead of a database")
    args = parser.parse_args(argv)
    sizes = args.responses or [1000]
    if args.csv:
        for n in sizes:
            started = time.perf_counter()
            write_csv(args.csv, n, args.seed)
            print(f"csv {args.csv}: {n} rows in {time.perf_counter() - started:.1f} s")
        return
    for db in args.db or ["sqlite"]:
        for n in sizes:
            started = time.perf_counter()
            url = generate_database(db, n, args.seed)
            print(f"{db} {n} responses in {time.perf_counter() - started:.1f} s "
                  f"(peak RSS {common.peak_rss_mb():.0f} MB): "
                  f"{url.split('@')[-1]}", flush=True)


if __name__ == "__main__":
    main()
