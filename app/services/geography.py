"""Load Jalisco's regions and municipalities from the project's data file."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.models import Municipality, Region
from app.services.errors import DomainError

CODE_RE = re.compile(r"^14(0\d\d|1[01]\d|12[0-5])$")

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "jalisco_municipalities.csv"
GEOJSON_FILE = DATA_FILE.with_suffix(".geojson")


@dataclass(frozen=True)
class LoadResult:
    regions_added: int
    municipalities_added: int
    municipalities_updated: int


COLUMNS = ("inegi_code", "name", "region_number", "region_name", "metro_guadalajara",
           "population_2020")


def read_rows(path: Path = DATA_FILE) -> list[dict]:
    """Read and check the municipality rows of a data file; every bad row is reported at once."""
    rows, problems = [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DomainError(_("%(file)s lacks the column(s) %(columns)s.", file=path.name,
                                columns=", ".join(missing)))
        seen: set[str] = set()
        for number, row in enumerate(reader, start=2):
            code = row["inegi_code"]
            if not CODE_RE.match(code or ""):
                problems.append(_("row %(row)d: \"%(value)s\" is not an INEGI municipality code "
                                  "of Jalisco (14001 to 14125)", row=number, value=code))
                continue
            if code in seen:
                problems.append(_("row %(row)d: code %(value)s appears twice", row=number,
                                  value=code))
            seen.add(code)
            try:
                region = int(row["region_number"])
                population = int(row["population_2020"])
            except ValueError:
                problems.append(_("row %(row)d: region_number and population_2020 must be whole "
                                  "numbers", row=number))
                continue
            if not 1 <= region <= 12:
                problems.append(_("row %(row)d: region %(value)s is not between 1 and 12",
                                  row=number, value=region))
            rows.append({
                "code": code,
                "name": row["name"].strip(),
                "region_number": region,
                "region_name": row["region_name"].strip(),
                "metro": row["metro_guadalajara"] == "1",
                "population": population,
            })
    if problems:
        raise DomainError(_("%(file)s has %(num)d problem(s); nothing was loaded.",
                            file=path.name, num=len(problems)), problems)
    return rows


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
    forget_choices()
    return LoadResult(regions_added, added, updated)


def municipalities_by_region() -> list[Region]:
    """Return the regions in order, each with its municipalities loaded."""
    return list(
        db.session.scalars(
            db.select(Region).options(db.selectinload(Region.municipalities)).order_by(Region.number)
        )
    )


# --- the municipality list of the public forms, kept per process ----------------------------
#
# The geography is reference data (INEGI 2020, IIEG 2014 regions): it changes only when
# `flask geo load` loads a new data file. Each process reads it once; `geo load` clears the
# copy of its own process, and other running processes keep theirs until they restart, which
# only matters for a renamed municipality (an added one is still accepted: is_municipality
# asks the database about a code it does not know).

CHOICES_KEY = "consulta.municipality_choices"


@dataclass(frozen=True)
class MunicipalityChoice:
    code: str
    name: str


@dataclass(frozen=True)
class RegionChoices:
    number: int
    label: str
    municipalities: tuple[MunicipalityChoice, ...]  # by name, as a reader sorts them


def _name_key(name: str) -> str:
    """Sort names as a reader would: accents and case do not move a name."""
    folded = unicodedata.normalize("NFD", name.casefold())
    return "".join(char for char in folded if not unicodedata.combining(char))


def municipality_choices() -> tuple[RegionChoices, ...]:
    """Return the regions in order, each with its municipalities by name (read once)."""
    return _choices()[0]


def is_municipality(code: str) -> bool:
    """Return whether code is a municipality of Jalisco."""
    return code in _choices()[1] or db.session.get(Municipality, code) is not None


def _choices() -> tuple[tuple[RegionChoices, ...], frozenset[str]]:
    cached = current_app.extensions.get(CHOICES_KEY)
    if cached is None:
        regions = tuple(
            RegionChoices(region.number, region.label, tuple(
                MunicipalityChoice(m.code, m.name)
                for m in sorted(region.municipalities, key=lambda m: _name_key(m.name))))
            for region in municipalities_by_region())
        cached = (regions, frozenset(m.code for r in regions for m in r.municipalities))
        if regions:  # an empty geography (not loaded yet) is not kept
            current_app.extensions[CHOICES_KEY] = cached
    return cached


def forget_choices() -> None:
    """Drop this process's copy of the municipality list (after the geography changed)."""
    current_app.extensions.pop(CHOICES_KEY, None)
