"""Charts render to PNG and SVG without pyplot; tables export safely to CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from matplotlib.figure import Figure
from openpyxl import load_workbook

from analysis import charts
from analysis.__main__ import main
from analysis.export import neutralize, to_csv, to_xlsx


def test_charts_render_png_and_svg():
    figures = [
        charts.ranking_chart(["Inseguridad", "Salud"], [0.6, 0.4], [0.5, 0.3], [0.7, 0.5],
                             "Ranking", "Proporción del voto"),
        charts.pareto_chart(["Inseguridad", "Salud"], [0.6, 0.4], "Pareto", "Proporción",
                            "Acumulada"),
        charts.heatmap_chart(pd.DataFrame([[0.5, 0.5]], index=["12 Centro"],
                                          columns=["Inseguridad", "Salud"]), "Mapa", "Proporción"),
        charts.participation_chart(["03 Altos Sur"], [5], "Participación", "Personas"),
        charts.heatmap_chart(pd.DataFrame(), "Mapa", "Proporción", "Sin votos"),
        charts.ranking_chart([], [], [], [], "Vacío", "Proporción"),
    ]
    for figure in figures:
        assert isinstance(figure, Figure)
        assert charts.render(figure, "png").startswith(b"\x89PNG")
        svg = charts.render(figure, "svg")
        assert b"<svg" in svg
    with pytest.raises(ValueError, match="png or svg"):
        charts.render(figures[0], "gif")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\0x"])
def test_formula_prefixes_are_neutralized(value):
    assert neutralize(value) == "'" + value


def test_plain_values_are_kept():
    assert neutralize("Salud") == "Salud"
    assert neutralize(-3) == -3


def test_csv_and_xlsx_are_safe_and_keep_numbers():
    frame = pd.DataFrame({"Tema": ["=HYPERLINK(\"x\")", "Salud"], "Votos": [3, 2],
                          "Proporción": [0.6, 0.4]})
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8-sig"))))
    assert rows[1] == ["'=HYPERLINK(\"x\")", "3", "0.6"]
    sheet = load_workbook(io.BytesIO(to_xlsx(frame, "ranking"))).active
    assert sheet.title == "ranking"
    assert sheet["A2"].value == "'=HYPERLINK(\"x\")"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3
    assert sheet["C3"].value == pytest.approx(0.4)


def test_command_line_on_an_open_data_csv(tmp_path, capsys):
    path = tmp_path / "responses.csv"
    path.write_text(
        "channel,municipality,region,metro,themes\n"
        "online,14039,12,1,security;health;education\n"
        "paper,14039,12,1,security\n"
        "online,14120,12,1,health;security\n"
        "paper,14001,3,0,security;health;education\n"
        "paper,14001,3,0,corruption\n", encoding="utf-8")
    assert main([str(path), "--theme-max", "3", "--format", "json", "--replicates", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["respondents"] == 5
    assert [(t["theme"], t["votes"], t["borda"]) for t in out["themes"]] == [
        ("security", 4, 11), ("health", 3, 7), ("education", 2, 2), ("corruption", 1, 3)]
    assert out["concentration"]["themes_for_80pct"] == 3
    assert main([str(path), "--weight", "population", "--replicates", "50"]) == 0
    assert "security" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.csv")]) == 2
