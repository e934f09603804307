"""The demo: the 2016 amplified consultation (closed, with synthetic responses) and an open copy."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

from app.database import write_transaction
from app.extensions import db
from app.models import Consultation, Municipality
from app.services.consultations import load_definition, response_count
from app.services.responses import new_receipt_code, new_response
from app.util import local_today

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "consulta-ampliada-2016.json"
OPEN_SLUG = "consulta-demo-abierta"

# Relative weights of the synthetic vote; roughly the 2016 report's order of themes.
THEME_WEIGHTS = {
    "security": 30, "employment_inequality": 18, "health": 14, "education": 12,
    "corruption": 12, "public_services": 8, "poverty": 8, "environment": 6, "mobility": 5,
    "water": 4, "human_rights": 3, "public_spaces": 2,
}
SECTOR_WEIGHTS = {"private": 35, "academia": 25, "public": 14, "civil_society": 8, "other": 18}
TEXTS = [
    "Falta alumbrado y vigilancia en mi colonia.",
    "No hay medicinas en el centro de salud.",
    "Los jóvenes no encuentran trabajo bien pagado.",
    "El transporte público tarda mucho y es inseguro.",
    "Falta agua varios días a la semana.",
]


def demo_definition() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def load_demo(responses: int = 400, open_responses: int = 60, seed: int = 2016) -> dict:
    """Load both demo consultations and their synthetic responses; a second run adds nothing."""
    closed, _ = load_definition(demo_definition())
    today = local_today()
    open_definition = demo_definition()
    open_definition.update(
        slug=OPEN_SLUG,
        title={"es": "Consulta de demostración (abierta)", "en": "Demo consultation (open)"},
        opens_on=(today - timedelta(days=3)).isoformat(),
        closes_on=(today + timedelta(days=60)).isoformat(),
    )
    existing = db.session.scalar(db.select(Consultation).where(Consultation.slug == OPEN_SLUG))
    if existing is not None:
        # Keep the open demo open, but never move dates that were set before.
        open_definition["opens_on"] = existing.opens_on.isoformat()
        open_definition["closes_on"] = max(existing.closes_on, today).isoformat()
    opened, _ = load_definition(open_definition)
    added = {
        closed.slug: _add_responses(closed, responses, seed, date(2016, 10, 17), 5),
        opened.slug: _add_responses(opened, open_responses, seed + 1, opened.opens_on, 4),
    }
    from app.services.plan_demo import load_plan_demo

    load_plan_demo()  # the action plan built from the closed demo, with its follow-up
    return added


def _add_responses(consultation: Consultation, count: int, seed: int, first_day: date,
                   days: int) -> int:
    if response_count(consultation):
        return 0
    rng = random.Random(seed)
    municipalities = list(db.session.scalars(db.select(Municipality).order_by(Municipality.code)))
    # About a third from the metropolitan zone, the rest spread by the square root of population.
    weights = [
        (m.population ** 0.5) * (3.0 if m.metro else 1.0) for m in municipalities
    ]
    theme_codes = [theme.code for theme in consultation.themes]
    theme_weights = [THEME_WEIGHTS.get(code, 1) for code in theme_codes]
    with write_transaction() as session:
        consultation = session.get(Consultation, consultation.id)
        for i in range(count):
            municipality = rng.choices(municipalities, weights)[0]
            online = rng.random() < (0.6 if municipality.metro else 0.25)
            how_many = rng.choice([1, 2, 3, 3, 3])
            chosen: list[str] = []
            while len(chosen) < how_many:
                code = rng.choices(theme_codes, theme_weights)[0]
                if code not in chosen:
                    chosen.append(code)
            answers = {
                "sector": rng.choices(list(SECTOR_WEIGHTS), list(SECTOR_WEIGHTS.values()))[0],
                "heard_via": rng.sample(["social_media", "town_hall", "school", "radio_tv"],
                                        rng.choice([0, 1, 1, 2])),
                "age": rng.randint(16, 80) if rng.random() < 0.8 else None,
                "problem": rng.choice(TEXTS) if rng.random() < 0.3 else None,
            }
            channel = "online" if online else "paper"
            extra = {"receipt_code": new_receipt_code()} if online else {
                "form_serial": f"{municipality.code}-D{i + 1:05d}"
            }
            session.add(new_response(
                consultation,
                channel=channel,
                source="online" if online else "import",
                municipality_code=municipality.code,
                theme_codes=chosen,
                answers=answers,
                submitted_on=first_day + timedelta(days=rng.randrange(days)),
                **extra,
            ))
    return count
