"""The personal-data scrubber: each family of detail, and recall/precision on a hand-made set.

tests/services/data/pii_statements*.jsonl hold Spanish statements written by hand for this test
(none is a real person's): each with the exact personal details it contains, by kind, and many
with none (complaints naming streets, places, years, percentages, municipalities).
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.services.anonymize import PLACEHOLDER, find, scrub

DATA = Path(__file__).parent / "data"
# pii_statements.jsonl (130) was written with the rules, which were tuned on it. The held-out
# sets were written after the rules were frozen and measured once before any change:
# pii_statements_heldout.jsonl (55): recall 31/32, precision 31/32 (its two errors then fixed);
# pii_statements_heldout2.jsonl (50): recall 29/29, precision 29/29 (no change made);
# pii_statements_heldout3.jsonl (40; capitals, English, no accents): recall 16/16, precision
# 16/17, characters 0.853 (a text in capitals, an English sentence after a street: fixed);
# pii_statements_heldout4.jsonl (40): recall 20/21, precision 20/20, characters 0.982 ("un tal
# ramiro" missed, a name ran over a line break: fixed).
SETS = ("pii_statements.jsonl", "pii_statements_heldout.jsonl", "pii_statements_heldout2.jsonl",
        "pii_statements_heldout3.jsonl", "pii_statements_heldout4.jsonl")
# What the sets measured when this test was written, rounded down (README): a statement added
# that the rules get wrong needs a fix, or a lower floor stated in the README.
MIN_RECALL = 1.00
MIN_PRECISION = 1.00
MIN_CHAR_PRECISION = 1.00


def load() -> list[dict]:
    return [json.loads(line) for name in SETS
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]


def labelled_spans(item: dict) -> list[tuple[int, int, str]]:
    """The (start, end, kind) of each labelled detail, found in the text in order."""
    spans, searched = [], {}
    for kind, detail in item["pii"]:
        start = item["text"].index(detail, searched.get(detail, 0))
        searched[detail] = start + len(detail)
        spans.append((start, start + len(detail), kind))
    return spans


def measure(items: list[dict]) -> dict:
    details = found = removals = correct = right_kind = removed_chars = removed_in_pii = 0
    misses, wrong = [], []
    for item in items:
        truth = labelled_spans(item)
        spans = find(item["text"])
        details += len(truth)
        for start, end, kind in truth:
            covering = [s for s in spans if s.start < end and start < s.end]
            covered = set()
            for span in covering:
                covered.update(range(span.start, span.end))
            if all(i in covered or item["text"][i].isspace() for i in range(start, end)):
                found += 1
                right_kind += any(span.kind == kind for span in covering)
            else:
                misses.append((item["text"], item["text"][start:end]))
        inside = {i for start, end, _ in truth for i in range(start, end)}
        for span in spans:
            letters = [i for i in range(span.start, span.end) if not item["text"][i].isspace()]
            removed_chars += len(letters)
            removed_in_pii += sum(1 for i in letters if i in inside)
            removals += 1
            if any(span.start < end and start < span.end for start, end, _ in truth):
                correct += 1
            else:
                wrong.append((item["text"], item["text"][span.start:span.end]))
    return {"statements": len(items), "details": details, "found": found, "removals": removals,
            "correct": correct, "right_kind": right_kind, "misses": misses, "wrong": wrong,
            "recall": found / details, "precision": correct / removals if removals else 1.0,
            # Characters: a removal that runs past the detail ("Mario dice") costs here.
            "char_precision": removed_in_pii / removed_chars if removed_chars else 1.0}


def test_the_set_is_large_and_varied():
    items = load()
    assert len(items) >= 100
    kinds = {kind for item in items for kind, _ in item["pii"]}
    assert kinds >= {"name", "phone", "email", "curp", "rfc", "ine", "address", "url", "handle",
                     "account", "nss"}
    assert sum(1 for item in items if not item["pii"]) >= 40
    for item in items:
        labelled_spans(item)  # every labelled detail is really in its text


def test_recall_and_precision_on_the_hand_made_set(capsys):
    result = measure(load())
    with capsys.disabled():
        print(f"\nPII scrubber on {result['statements']} statements: "
              f"recall {result['found']}/{result['details']} = {result['recall']:.3f}, "
              f"precision {result['correct']}/{result['removals']} = {result['precision']:.3f}, "
              f"right kind {result['right_kind']}/{result['found']}, "
              f"characters removed that were personal {result['char_precision']:.3f}")
        for text, detail in result["misses"]:
            print(f"  missed {detail!r} in {text!r}")
        for text, removed in result["wrong"]:
            print(f"  removed {removed!r} from {text!r}")
    assert math.floor(result["recall"] * 100) / 100 >= MIN_RECALL
    assert math.floor(result["precision"] * 100) / 100 >= MIN_PRECISION
    assert math.floor(result["char_precision"] * 100) / 100 >= MIN_CHAR_PRECISION


# -- one family at a time; the first cases are those issue 18 listed as let through -------------

@pytest.mark.parametrize(("text", "gone", "placeholder"), [
    ("juan pérez me robó la bicicleta", "juan pérez", "[nombre]"),
    ("me llamo maría de la luz hernández", "hernández", "[nombre]"),
    ("Me llamo María de la Luz Pérez y pido agua", "María", "[nombre]"),
    ("El Lic. Ramírez no contesta", "Ramírez", "[nombre]"),
    ("la señora lourdes vende en la esquina", "lourdes", "[nombre]"),
    ("Soy Ana López, y no hay agua", "Ana López", "[nombre]"),
    ("Atentamente: Óscar Núñez", "Óscar Núñez", "[nombre]"),
    ("Atte: Ing. Salvador Cárdenas", "Salvador Cárdenas", "Atte: Ing. [nombre]"),
    ("mi hijo Daniel fue asaltado", "Daniel", "[nombre]"),
    ("ME LLAMO RICARDO ESTRADA Y NO HAY AGUA", "RICARDO ESTRADA", "[nombre] Y NO HAY AGUA"),
    ("MARIO DICE QUE NO", "MARIO", "[nombre] DICE QUE NO"),
    ("Soy Karla Jiménez de Ocotlán", "Karla", "[nombre] de Ocotlán"),
    ("Ana Díaz de León y Luis de la Torre", "León", "[nombre] y [nombre]"),
    ("Juan Manuel Pérez me robó", "Juan Manuel", "[nombre] me robó"),
    ("un tal ramiro cobra 300", "ramiro", "un tal [nombre] cobra 300"),
    ("Atentamente\nEmilio Rosales\nVecino de Tala", "Emilio", "[nombre] Vecino de Tala"),
    ("Jesús María Pérez vive en Jesús María", "Pérez", "[nombre] vive en Jesús María"),
])
def test_names(text, gone, placeholder):
    cleaned = scrub(text)
    assert gone not in cleaned
    assert placeholder in cleaned


@pytest.mark.parametrize("text", [
    "soy maestra y falta agua", "Soy de Zapopan", "San Pedro Tlaquepaque no tiene luz",
    "la colonia Lázaro Cárdenas no tiene agua", "Escuela Primaria Benito Juárez",
    "la luz de la calle no sirve", "El domingo asaltaron el parque", "Queremos más Cruz Verde",
    "En San Juan de los Lagos hay basura", "Jesús María necesita un hospital",
    "La avenida López Mateos se inunda", "el director de Obras Públicas no contesta",
])
def test_places_and_words_that_look_like_names_stay(text):
    assert scrub(text) == text


@pytest.mark.parametrize(("text", "number"), [
    ("cel 33/1587/4420 para lo del drenaje", "33/1587/4420"),
    ("Mi tel es 33 1234 5678, llámenme", "33 1234 5678"),
    ("Llamar al +52 (33) 3614-0000", "+52 (33) 3614-0000"),
    ("whats 33.18.27.36.45", "33.18.27.36.45"),
    ("al 3331234567 o al 3339876543", "3339876543"),
    ("tel. 3615-2233", "3615-2233"),
    ("044 33 1020 3040", "044 33 1020 3040"),
    ("marca al 52 33 1234 5678", "52 33 1234 5678"),
    ("(392) 925-1010", "925-1010"),
])
def test_phones_in_every_common_writing(text, number):
    cleaned = scrub(text)
    assert number not in cleaned
    assert "[teléfono]" in cleaned


@pytest.mark.parametrize("text", [
    "De 2016-2018 bajó la inversión", "el 12/10/2016 cerraron la calle", "el 30% no tiene agua",
    "hay 1 500 000 personas sin seguro", "la ruta 380 tarda 40 minutos",
    "en 2015 2016 y 2017 hubo recortes", "cobran $5,000 por la licencia",
])
def test_numbers_that_are_not_phones_stay(text):
    assert scrub(text) == text


@pytest.mark.parametrize(("text", "gone"), [
    ("Escríbeme a juan.perez@example.com por favor", "juan.perez@"),
    ("escríbanme a lupita arroba hotmail punto com, gracias", "lupita"),
    ("correo: vecinos (arroba) yahoo (punto) com (punto) mx", "vecinos"),
    ("rosa.mtz @ outlook . com", "rosa.mtz"),
    ("juan[at]gmail[dot]com", "juan"),
    ("mi correo juan punto perez arroba gmail punto com", "perez"),
])
def test_emails_also_spelled_out(text, gone):
    cleaned = scrub(text)
    assert gone not in cleaned
    assert "[correo]" in cleaned


@pytest.mark.parametrize(("text", "placeholder"), [
    ("Mi CURP es GOMJ850312HJCRRN08 y nada", "[CURP]"),
    ("curp lopa900715mjcpnn03", "[CURP]"),
    ("RFC SAMR-780920-H45", "[RFC]"),
    ("rfc: hega7505215r7", "rfc: [RFC]"),
    ("Mi RFC es MEVR-850101-2A9, y", "Mi RFC es [RFC], y"),
    ("clave de elector GRHRJN80010114H400", "[INE]"),
    ("INE folio 1234567890123", "[INE]"),
    ("seguro social 04 16 85 1234 5", "[NSS]"),
    ("tarjeta 4152 3136 1234 5678", "[cuenta]"),
    ("clabe 012320001234567891", "[cuenta]"),
])
def test_identity_and_account_numbers(text, placeholder):
    cleaned = scrub(text)
    assert placeholder in cleaned
    assert not any(char.isdigit() for char in cleaned)


@pytest.mark.parametrize(("text", "address"), [
    ("Vivo en calle Hidalgo 123, col. Centro, C.P. 44100 y hay asaltos",
     "calle Hidalgo 123, col. Centro, C.P. 44100"),
    ("av. Revolución #2540 interior 4", "av. Revolución #2540 interior 4"),
    ("Vivo en Morelos 45 esquina con Allende", "Morelos 45 esquina con Allende"),
    ("calle 5 de Mayo número 18", "calle 5 de Mayo número 18"),
    ("Mz 12 Lt 4", "Mz 12 Lt 4"),
    ("El C.P. es 45010 y no llegan", "45010"),
    ("vivo en Hidalgo esquina con Morelos, hay asaltos", "Hidalgo esquina con Morelos"),
    ("Independencia #88, Col. Analco", "Independencia #88, Col. Analco"),
])
def test_street_addresses(text, address):
    cleaned = scrub(text)
    assert address not in cleaned
    assert "[domicilio]" in cleaned


@pytest.mark.parametrize("text", [
    "En la avenida Juárez hay baches desde 2016", "La calle que va al panteón tiene 3 baches",
    "La calle Hidalgo y la calle Morelos son estacionamiento", "En Juárez la calle está rota",
    "la avenida Vallarta tiene 20 baches", "Trabajo en Av. Vallarta y tardo 2 horas",
    "The potholes on Avenida Vallarta have been there since 2017.",
    "EN LA CALLE HIDALGO NO HAY LUZ",
    "El bache de Hidalgo esquina Morelos sigue ahí", "vivo en Zapopan y trabajo en Tonalá",
])
def test_streets_named_as_places_stay(text):
    assert scrub(text) == text


def test_links_and_handles():
    assert scrub("ver https://example.org/x, y @vecino_gdl") == "ver [enlace], y [usuario]"
    assert scrub("facebook.com/juan.perez.77") == "[enlace]"
    assert scrub("ver https://transparencia.jalisco.gob.mx/x") == (
        "ver https://transparencia.jalisco.gob.mx/x")  # a government site names no one


def test_theme_words_and_whitespace():
    assert scrub("  seguridad,   salud\ty  empleo  ") == "seguridad, salud y empleo"
    assert scrub(None) == scrub("") == ""


def test_every_kind_has_a_placeholder():
    assert {span.kind for item in load() for span in find(item["text"])} <= set(PLACEHOLDER)


def test_no_catastrophic_backtracking():
    """An e-mail part with many '_' or '-' once made the pattern try every way to split it."""
    started = time.process_time()  # CPU time: a busy machine does not make it fail
    for text in ["a_" * 22 + "! @x", "a-" * 22 + "! @x", "a punto " * 200 + "arroba x",
                 "1 " * 1000 + "x", "calle " + "Hidalgo " * 250 + "x", "Juan " * 400]:
        scrub(text)
    assert time.process_time() - started < 2  # about 0.02 s; the old pattern took minutes


def test_the_benchmark_script_runs():
    """bench/scrub.py (figures in bench/RESULTS.md) still works; its speed is not checked here."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "bench" / "scrub.py"), "--repeat", "1"],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[0])
    assert result["statements"] == len(load())


# The nine details issue 18 found in published text, as one citizen might write them.
LEAKED = {
    "lowercase name": "juan pérez", "phone with slashes": "33/1587/4420",
    "e-mail spelled out": "lupita arroba hotmail punto com", "CURP": "GOMJ850312HJCRRN08",
    "RFC": "GOMJ850312AB1", "street address": "calle Hidalgo 123, col. Centro",
    "postal code": "C.P. 44100", "second name": "maría guadalupe hernández",
    "clave de elector": "GRHRJN80010114H400",
}


def test_open_data_served_by_gunicorn_carries_no_detail(gunicorn_server, make_consultation):
    """Through a real server, as a reader downloads it: the published text is scrubbed."""
    from app.extensions import db
    from app.services.responses import new_response

    consultation = make_consultation("closed", publish_free_text=True)
    text = ("soy {lowercase name}, cel {phone with slashes}, correo {e-mail spelled out}, "
            "curp {CURP}, rfc {RFC}, vivo en {street address}, {postal code}; mi vecina "
            "{second name} tiene clave {clave de elector}. En Guadalajara falta seguridad "
            "desde 2016 y el 30% no tiene agua.").format(**LEAKED)
    db.session.add(new_response(
        consultation, channel="online", source="online", municipality_code="14039",
        theme_codes=["security"], answers={"sector": "private", "heard_via": ["school"],
                                           "age": 30, "problem": text}))
    db.session.commit()
    base = gunicorn_server()
    # The XLSX: through gunicorn the CSV fails on its own (a lazy load after the request's
    # session ended, in app/services/opendata.py's csv_stream: another area's, reported).
    url = f"{base}/api/v1/consultations/{consultation.slug}/responses.xlsx"
    with urllib.request.urlopen(url) as response:
        book = load_workbook(io.BytesIO(response.read()), read_only=True)
    published = " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    for kind, detail in LEAKED.items():
        assert detail not in published, kind
    for placeholder in ("[nombre]", "[teléfono]", "[correo]", "[CURP]", "[RFC]", "[domicilio]",
                        "[INE]"):
        assert placeholder in published
    assert "En Guadalajara falta seguridad desde 2016 y el 30% no tiene agua." in published
