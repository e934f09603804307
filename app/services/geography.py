"""Load Jalisco's regions and municipalities from the project's data file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from app.database import write_transaction
from app.extensions import db
from app.models import Municipality, Region

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "jalisco_municipalities.csv"
GEOJSON_FILE = DATA_FILE.with_suffix(".geojson")


@dataclass(frozen=True)
class LoadResult:
    regions_added: int
    municipalities_added: int
    municipalities_updated: int


def read_rows(path: Path = DATA_FILE) -> list[dict]:
    """Read the municipality rows of the data file, typed."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "code": row["inegi_code"],
                "name": row["name"],
                "region_number": int(row["region_number"]),
                "region_name": row["region_name"],
                "metro": row["metro_guadalajara"] == "1",
                "population": int(row["population_2020"]),
            }
            for row in csv.DictReader(handle)
        ]


def load_geography(path: Path = DATA_FILE) -> LoadResult:
    """Insert or update every region and municipality; running it twice changes nothing."""
    rows = read_rows(path)
    regions_added = added = updated = 0
    with write_transaction() as session:
        regions = {region.number: region for region in session.scalars(db.select(Region))}
        for row in rows:
            if row["region_number"] not in regions:
                region = Region(number=row["region_number"], name=row["region_name"])
                session.add(region)
                regions[region.number] = region
                regions_added += 1
            else:
                regions[row["region_number"]].name = row["region_name"]
        session.flush()
        existing = {m.code: m for m in session.scalars(db.select(Municipality))}
        for row in rows:
            values = {k: row[k] for k in ("name", "region_number", "metro", "population")}
            municipality = existing.get(row["code"])
            if municipality is None:
                session.add(Municipality(code=row["code"], **values))
                added += 1
            elif any(getattr(municipality, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(municipality, key, value)
                updated += 1
    return LoadResult(regions_added, added, updated)


def municipalities_by_region() -> list[Region]:
    """Return the regions in order, each with its municipalities loaded."""
    return list(
        db.session.scalars(
            db.select(Region).options(db.selectinload(Region.municipalities)).order_by(Region.number)
        )
    )
