"""Time the participation map for N responses: the SQL counts, then the drawing.

Usage: .venv/bin/python bench/map_render.py 1000 100000 1000000
Builds a throwaway SQLite database per N (bulk INSERT … SELECT, no ORM objects), then times
participation_table (the SQL aggregates) and the PNG rendering separately. The drawing works on
125 rows whatever N is; only the aggregate queries grow with N.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import maps  # noqa: E402
from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from config import TestingConfig  # noqa: E402


def fill(consultation_id: int, count: int) -> None:
    """Insert count accepted responses spread over the municipalities, one theme each."""
    with db.engine.begin() as connection:
        connection.execute(text(
            "CREATE TEMP TABLE m AS SELECT code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS k "
            "FROM municipality"))
        connection.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            "INSERT INTO response (consultation_id, channel, municipality_code, submitted_at, "
            "submitted_on, source, state) "
            "SELECT :cid, CASE i % 3 WHEN 0 THEN 'paper' ELSE 'online' END, m.code, "
            "'2026-01-01 10:00:00', '2026-01-01', 'online', 'accepted' "
            "FROM n JOIN m ON m.k = (i * 7) % 97"), {"count": count, "cid": consultation_id})
        connection.execute(text(
            "INSERT INTO response_theme (response_id, theme_id, position) "
            "SELECT r.id, (SELECT MIN(id) FROM theme WHERE consultation_id = :cid) + r.id % 12, "
            "1 FROM response r WHERE r.consultation_id = :cid"), {"cid": consultation_id})


def run(count: int) -> None:
    directory = tempfile.mkdtemp(prefix="bench-map-")
    url = f"sqlite:///{directory}/bench.db"
    app = create_app(type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        from flask_migrate import upgrade

        from app.maps import present
        from app.services.consultations import load_definition
        from app.services.coverage import Filters, MapQuery, participation_table
        from app.services.geography import load_geography
        from tests.conftest import demo_definition

        upgrade()
        load_geography()
        consultation, _ = load_definition(demo_definition(slug="bench"))
        start = time.perf_counter()
        consultation_id = consultation.id
        db.session.commit()  # end the session's read snapshot so it sees the bulk insert
        fill(consultation_id, count)
        filled = time.perf_counter() - start
        with app.test_request_context("/"):
            for query in (MapQuery(filters=Filters()), MapQuery(filters=Filters(),
                                                               theme="security")):
                present.draw(consultation, participation_table(consultation, query), query,
                             True)  # warm the geometry cache and the database pages
                start = time.perf_counter()
                table = participation_table(consultation, query)
                counted = time.perf_counter() - start
                start = time.perf_counter()
                figure, _frame = present.draw(consultation, table, query, True)
                maps.figure_png(figure)
                drawn = time.perf_counter() - start
                print(f"{count:>9} responses (inserted in {filled:5.1f} s), "
                      f"theme={query.theme or '-':8} SQL counts {counted:6.3f} s, "
                      f"drawing {drawn:6.3f} s, respondents {int(table['respondents'].sum())}")


if __name__ == "__main__":
    for argument in sys.argv[1:] or ["1000", "100000"]:
        run(int(argument))
