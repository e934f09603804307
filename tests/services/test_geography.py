from app.extensions import db
from app.models import Municipality, Region
from app.services.geography import load_geography, read_rows


def test_geography_has_jalisco(app):
    assert db.session.scalar(db.select(db.func.count(Region.number))) == 12
    assert db.session.scalar(db.select(db.func.count(Municipality.code))) == 125
    metro = set(db.session.scalars(db.select(Municipality.code).where(Municipality.metro)))
    assert len(metro) == 10
    assert {"14039", "14120", "14097", "14098", "14101", "14002"} <= metro
    total = db.session.scalar(db.select(db.func.sum(Municipality.population)))
    assert total == 8_348_151


def test_region_sizes_follow_the_2014_regionalisation(app):
    counts = dict(db.session.execute(
        db.select(Municipality.region_number, db.func.count()).group_by(Municipality.region_number)
    ).all())
    assert [counts[n] for n in range(1, 13)] == [10, 8, 12, 9, 10, 12, 14, 6, 8, 12, 12, 12]
    assert db.session.get(Region, 12).name == "Centro"
    assert db.session.get(Municipality, "14039").name == "Guadalajara"
    assert db.session.get(Municipality, "14088").name == "Tecolotlán"


def test_loading_again_changes_nothing(app):
    result = load_geography()
    assert (result.regions_added, result.municipalities_added, result.municipalities_updated) == (
        0, 0, 0)
    assert db.session.scalar(db.select(db.func.count(Municipality.code))) == 125


def test_geojson_and_csv_describe_the_same_municipalities():
    import json

    from app.services.geography import GEOJSON_FILE

    features = json.loads(GEOJSON_FILE.read_text(encoding="utf-8"))["features"]
    geo = {f["properties"]["inegi_code"]: f["properties"]["name"] for f in features}
    assert geo == {row["code"]: row["name"] for row in read_rows()}
