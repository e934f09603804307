"""Measure the open data CSV export: time and peak Python memory for N synthetic responses.

Usage: .venv/bin/python bench/opendata_export.py [N ...]   (default: 50000 200000)
Uses a throw-away SQLite database; prints one line per N. Results: bench/opendata_export.md.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Answer, Response, ResponseTheme  # noqa: E402
from config import TestingConfig  # noqa: E402


def fill(consultation, n: int) -> None:
    """Insert n accepted responses with 1-3 themes and a sector answer, by bulk Core inserts."""
    rng = random.Random(1)
    themes = [theme.id for theme in consultation.themes]
    sector = consultation.question_by_code()["sector"]
    options = [option.id for option in sector.options]
    codes = ["14039", "14120", "14097", "14001", "14013", "14063"]
    batch = 10_000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        db.session.execute(insert(Response), [
            {"id": start + i + 1, "consultation_id": consultation.id, "channel": "online",
             "municipality_code": rng.choice(codes), "submitted_on": date(2016, 10, 18),
             "source": "online", "state": "accepted"} for i in range(size)])
        rows, answers = [], []
        for i in range(size):
            rid = start + i + 1
            for position, theme in enumerate(rng.sample(themes, rng.randint(1, 3)), start=1):
                rows.append({"response_id": rid, "theme_id": theme, "position": position})
            answers.append({"response_id": rid, "question_id": sector.id,
                            "option_id": rng.choice(options)})
        db.session.execute(insert(ResponseTheme), rows)
        db.session.execute(insert(Answer), answers)
    db.session.commit()


def run(n: int) -> str:
    from flask_migrate import upgrade

    from app.services import opendata
    from app.services.consultations import load_definition
    from app.services.geography import load_geography
    from tests.conftest import demo_definition

    with tempfile.TemporaryDirectory() as tmp:
        config = type("BenchConfig", (TestingConfig,),
                      {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        app = create_app(config)
        with app.app_context():
            upgrade()
            load_geography()
            consultation, _ = load_definition(demo_definition(slug="bench"))
            fill(consultation, n)
            db.session.expire_all()
            tracemalloc.start()
            began = time.perf_counter()
            size = rows = 0
            for part in opendata.csv_stream(consultation):
                size += len(part)
                rows += part.count("\n")
            elapsed = time.perf_counter() - began
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.engine.dispose()
    return (f"N={n:>9,} rows={rows - 1:>9,} csv={size / 1e6:7.1f} MB time={elapsed:6.1f} s "
            f"peak_python_memory={peak / 1e6:6.1f} MB")


if __name__ == "__main__":
    import logging

    logging.disable(logging.INFO)
    for n in [int(arg) for arg in sys.argv[1:]] or [50_000, 200_000]:
        print(run(n), flush=True)
