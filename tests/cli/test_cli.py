"""The command line does its job or exits non-zero with a clear message."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.models import Consultation
from tests.conftest import DEMO_FILE, demo_definition


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "en")


def test_geo_load_is_idempotent_and_show_prints_it(runner):
    result = runner.invoke(args=["geo", "load"])
    assert result.exit_code == 0, result.output
    assert "0 region(s) and 0 municipality(ies) added, 0 updated" in result.output
    shown = runner.invoke(args=["geo", "show"])
    assert shown.exit_code == 0
    assert "14039 Guadalajara" in shown.output
    assert "12 regions, 125 municipalities, population 2020: 8,348,151" in shown.output


def test_consultations_load_list_export(runner, tmp_path):
    result = runner.invoke(args=["consultations", "load", str(DEMO_FILE)])
    assert result.exit_code == 0, result.output
    assert 'Consultation "consulta-ampliada-2016" created.' in result.output
    again = runner.invoke(args=["consultations", "load", str(DEMO_FILE)])
    assert 'updated' in again.output
    listed = runner.invoke(args=["consultations", "list"])
    assert "consulta-ampliada-2016\tclosed\t2016-10-17..2016-10-21\t0" in listed.output
    exported = runner.invoke(args=["consultations", "export", "consulta-ampliada-2016"])
    assert json.loads(exported.output) == demo_definition()


def test_invalid_file_lists_every_problem_and_exits_non_zero(runner, tmp_path):
    data = demo_definition()
    data["title"].pop("en")
    data["theme_question"]["min"] = 9
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["consultations", "load", str(path)])
    assert result.exit_code != 0
    assert "2 problem(s); nothing was stored" in result.output
    assert 'title: the text in language "en" is missing' in result.output
    assert "min (9) is greater than max (3)" in result.output
    assert db.session.scalar(db.select(db.func.count(Consultation.id))) == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "The file is not valid JSON."),
        ("[1, 2]", "The top level must be a JSON object."),
        (b"\xff\xfe\x00", "Cannot read"),
    ],
)
def test_unreadable_files_are_refused(runner, tmp_path, content, expected):
    path = tmp_path / "file.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["consultations", "load", str(path)])
    assert result.exit_code != 0
    assert expected in result.output


def test_missing_file_and_unknown_slug(runner, tmp_path):
    assert runner.invoke(args=["consultations", "load", str(tmp_path / "no.json")]).exit_code != 0
    result = runner.invoke(args=["consultations", "export", "nope"])
    assert result.exit_code != 0
    assert 'No consultation with slug "nope"' in result.output


def test_demo_load_is_idempotent(runner):
    first = runner.invoke(args=["demo", "load", "--responses", "50"])
    assert first.exit_code == 0, first.output
    assert "consulta-ampliada-2016: 50 demo response(s) added." in first.output
    second = runner.invoke(args=["demo", "load", "--responses", "50"])
    assert "consulta-ampliada-2016: 0 demo response(s) added." in second.output
    assert db.session.scalar(db.select(db.func.count(Consultation.id))) == 2


def test_cli_speaks_spanish_by_default(runner, monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "es")
    result = runner.invoke(args=["consultations", "export", "nope"])
    assert 'No hay ninguna consulta con el identificador "nope"' in result.output


def test_unreachable_database_gives_a_message_not_a_traceback(tmp_path):
    from app import create_app
    from tests.conftest import _config

    app = create_app(_config("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    result = app.test_cli_runner().invoke(args=["consultations", "list"], env={"CONSULTA_LANG":
                                                                                "en"})
    assert result.exit_code == 1
    assert "Cannot use the database at postgresql+psycopg://postgres@127.0.0.1:1/nowhere" in (
        result.output)
    assert "Traceback" not in result.output


def test_unmigrated_database_says_to_upgrade(tmp_path):
    from app import create_app
    from tests.conftest import _config

    app = create_app(_config(f"sqlite:///{tmp_path}/empty.db"))
    result = app.test_cli_runner().invoke(args=["geo", "show"], env={"CONSULTA_LANG": "en"})
    assert result.exit_code == 1
    assert "db upgrade" in result.output


def test_geo_show_one_municipality_and_unknown_code(runner):
    shown = runner.invoke(args=["geo", "show", "14039"])
    assert shown.exit_code == 0
    assert shown.output.startswith("14039 Guadalajara\t12 Centro\t1,385,629\tAMG")
    unknown = runner.invoke(args=["geo", "show", "14999"])
    assert unknown.exit_code == 1
    assert '"14999" is not the INEGI code of a municipality of Jalisco' in unknown.output


def test_geo_load_refuses_a_file_with_unknown_codes(runner, tmp_path):
    from app.services.geography import DATA_FILE

    lines = DATA_FILE.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("14001", "15001")
    lines[2] = lines[2].replace(",11,", ",13,")
    bad = tmp_path / "geo.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["geo", "load", "--file", str(bad)])
    assert result.exit_code == 1
    assert "geo.csv has 2 problem(s); nothing was loaded." in result.output
    assert 'row 2: "15001" is not an INEGI municipality code of Jalisco' in result.output
    assert "row 3: region 13 is not between 1 and 12" in result.output
