"""flask --app wsgi responses import SLUG FILE: the contract of DESIGN.md."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ImportBatch, Response
from tests.entry.helpers import csv_bytes, row, serials, xlsx_bytes


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "en")


def responses() -> int:
    return db.session.scalar(db.select(db.func.count(Response.id)))


def test_import_csv_then_again(runner, make_consultation, tmp_path):
    consultation = make_consultation()
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes(serials(1200), bom=True))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 1200 response(s) from forms.csv as batch" in result.output
    assert responses() == 1200
    again = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert again.exit_code != 0
    assert "this file was already imported" in again.output
    assert "duplicate serial: a response with this serial is already stored" in again.output
    assert responses() == 1200
    assert db.session.scalar(db.select(db.func.count(ImportBatch.id))) == 1


def test_import_xlsx(runner, make_consultation, tmp_path):
    consultation = make_consultation()
    path = tmp_path / "forms.xlsx"
    path.write_bytes(xlsx_bytes(serials(5)))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 0, result.output
    assert responses() == 5


def test_bad_file_lists_every_row_and_exits_non_zero(runner, make_consultation, tmp_path):
    consultation = make_consultation()
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes([row("14039-900001", themes="x"), row("14039-900002"),
                                row("14039-900001", age="3")]))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 1
    assert "The file was refused: 3 problems; nothing was stored." in result.output
    assert 'row 2, themes "x": unknown theme code' in result.output
    assert 'row 4, form_serial "14039-900001": duplicate serial: also in row 2' in result.output
    assert 'row 4, age "3": must be between 12 and 120' in result.output
    assert responses() == 0


def test_spanish_report(runner, make_consultation, tmp_path, monkeypatch):
    monkeypatch.setenv("CONSULTA_LANG", "es")
    consultation = make_consultation()
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes([row("14039-900001", themes="x")]))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 1
    assert "fila 2, themes \"x\": código o nombre de tema desconocidos" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["responses", "import", "nope", "x.csv"], 'No consultation with slug "nope".'),
        (["responses", "import", "{slug}", "missing.csv"], "Cannot read"),
        (["responses", "import", "{slug}", "forms.ods"], "Only .csv and .xlsx files"),
    ],
)
def test_command_errors(runner, make_consultation, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    consultation = make_consultation()
    args = [a.replace("{slug}", consultation.slug) for a in args]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output


def test_template_command(runner, make_consultation):
    consultation = make_consultation()
    result = runner.invoke(args=["responses", "template", consultation.slug])
    assert result.exit_code == 0
    assert result.output.startswith("form_serial,channel,municipality,themes,sector,")


def test_a_draft_takes_no_import(runner, make_consultation, tmp_path):
    consultation = make_consultation()
    consultation.is_draft = True
    db.session.commit()
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes(serials(2)))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 1
    assert f'The consultation "{consultation.slug}" is a draft' in result.output
    assert responses() == 0


def test_citizens_words_and_unissued_serials(runner, make_consultation, tmp_path):
    consultation = make_consultation()
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_bytes([row("14039-900001", problem="=SUM(A1) corrupción"),
                                row("14039-900002", problem="@todos")]))
    result = runner.invoke(args=["responses", "import", consultation.slug, str(path)])
    assert result.exit_code == 0, result.output
    assert ('  notice: row 2, form_serial "14039-900001": the app did not issue this serial'
            in result.output)
    assert responses() == 2


def test_template_notes_command(runner, make_consultation):
    consultation = make_consultation()
    result = runner.invoke(args=["responses", "template", consultation.slug, "--notes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "column,code,label_es,label_en,note"
    assert "sector,private,Sector privado,Private sector," in lines
    assert "municipality,14039,Guadalajara,Guadalajara," in lines
