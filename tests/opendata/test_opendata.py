"""Open data downloads: content, anonymity, access, streaming, formula injection."""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.services import datasets, opendata, opendata_reader
from app.services.responses import new_response

# (municipality, channel, themes in order, sector, heard_via, problem)
ROWS = [
    ("14039", "online", ["security", "health", "education"], "private", ["school"],
     "=HYPERLINK(\"http://evil\")"),
    ("14039", "paper", ["security"], "public", [], "Soy Ana López, escribe a ana@example.org"),
    ("14120", "online", ["health", "security"], "private", ["school", "other"], "+1 mala idea"),
    ("14001", "paper", ["security", "health", "education"], "academia", ["other"], "@cmd"),
    ("14001", "paper", ["corruption"], "private", [], "-2+3"),
    ("14001", "online", ["health", "corruption"], "public", [], "\tTab y \x07BEL"),
]


def add_responses(consultation, rows=ROWS, start=0):
    for number, (municipality, channel, themes, sector, heard, problem) in enumerate(
            rows, start=start):
        db.session.add(new_response(
            consultation, channel=channel, source="online", municipality_code=municipality,
            theme_codes=themes, answers={"sector": sector, "heard_via": heard, "age": 30 + number,
                                         "problem": problem},
            submitted_on=date(2016, 10, 17 + number % 3),
            form_serial=f"S-{number:05d}" if channel == "paper" else None,
            receipt_code=f"RCPT-{number:04d}-XYZW"))
    voided = new_response(consultation, channel="online", source="online",
                          municipality_code="14039", theme_codes=["water"], answers={})
    voided.state = "voided"
    db.session.add(voided)
    db.session.commit()


@pytest.fixture
def app_config() -> dict:
    """These tests read every cell of a few rows: disclosure control (tests/opendata/
    test_disclosure.py) would blank them all, so its threshold is 1 here."""
    return {"MIN_CELL_SIZE": 1}


@pytest.fixture
def closed(make_consultation):
    consultation = make_consultation("closed")
    add_responses(consultation)
    return consultation


def read_csv(client, slug) -> pd.DataFrame:
    response = client.get(f"/api/v1/consultations/{slug}/responses.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype=str,
                       keep_default_na=False)


def test_csv_one_row_per_accepted_response(client, closed):
    frame = read_csv(client, closed.slug)
    assert list(frame.columns) == ["id", "submitted_on", "channel", "municipality", "region",
                                   "metro", "themes", "sector", "heard_via", "source"]
    assert len(frame) == len(ROWS)  # the voided response is not published
    assert frame["id"].is_unique
    assert set(frame["submitted_on"]) == {"2016-10-17", "2016-10-18", "2016-10-19"}
    zapopan = frame[frame["municipality"] == "14120"].iloc[0]
    assert (zapopan["channel"], zapopan["region"], zapopan["metro"]) == ("online", "12", "1")
    assert zapopan["themes"] == "health;security"
    assert zapopan["heard_via"] == "school;other"
    assert set(frame[frame["municipality"] == "14001"]["metro"]) == {"0"}


def test_csv_never_carries_identifying_data(client, closed):
    text = client.get(f"/api/v1/consultations/{closed.slug}/responses.csv").get_data(
        as_text=True)
    ids = {str(rid) for rid in db.session.scalars(db.select(datasets.Response.id))}
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    assert not set(frame["id"]) & ids
    for secret in ("S-0000", "RCPT-", "ana@example.org", "HYPERLINK", "T0", ":"):
        assert secret not in text
    assert "age" not in frame.columns
    assert "problem" not in frame.columns


def test_anonymous_id_is_stable(client, closed):
    first = read_csv(client, closed.slug)
    second = read_csv(client, closed.slug)
    assert list(first["id"]) == list(second["id"])
    ids = db.session.scalars(db.select(datasets.Response.id).where(
        datasets.Response.state == "accepted")).all()
    assert set(first["id"]) == {opendata.anonymous_id(closed, rid) for rid in ids}


def test_votes_recomputed_from_csv_with_pandas_match(client, closed):
    frame = read_csv(client, closed.slug)
    chosen = frame["themes"].str.split(";").explode().to_frame("theme")
    chosen["position"] = chosen.groupby(level=0).cumcount() + 1
    recomputed = chosen.groupby(["theme", "position"]).size().rename("count").reset_index()
    expected = datasets.theme_position_counts(closed)
    key = ["theme", "position"]
    pd.testing.assert_frame_equal(
        recomputed.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True), check_dtype=False)
    votes = chosen["theme"].value_counts()
    assert votes["security"] == 4
    assert votes["health"] == 4
    assert votes["corruption"] == 2


def test_free_text_published_only_when_chosen_and_scrubbed(client, make_consultation):
    consultation = make_consultation("closed", publish_free_text=True)
    add_responses(consultation)
    frame = read_csv(client, consultation.slug)
    assert "problem" in frame.columns
    texts = list(frame["problem"])
    assert "'=HYPERLINK(\"http://evil\")" not in texts  # the URL is scrubbed too
    assert any(text.startswith("'=HYPERLINK") for text in texts)
    assert "'+1 mala idea" in texts
    assert "'-2+3" in texts
    assert "Tab y BEL" in texts  # whitespace normalized, control character removed
    assert "[usuario]" in texts  # an @handle is contact data
    joined = " ".join(texts)
    assert "ana@example.org" not in joined
    assert "Ana López" not in joined


def test_xlsx_cells_are_safe_when_opened(client, make_consultation):
    consultation = make_consultation("closed", publish_free_text=True)
    add_responses(consultation)
    response = client.get(f"/api/v1/consultations/{consultation.slug}/responses.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["responses", "dictionary"]
    rows = list(workbook["responses"].iter_rows(values_only=True))
    assert rows[0][:7] == ("id", "submitted_on", "channel", "municipality", "region", "metro",
                           "themes")
    assert len(rows) == len(ROWS) + 1
    for row in workbook["responses"].iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))
    dictionary = list(workbook["dictionary"].iter_rows(values_only=True))
    assert dictionary[0] == ("field", "type", "values", "description_es", "description_en")


def test_csv_is_streamed_in_chunks(client, closed, monkeypatch):
    monkeypatch.setattr(opendata, "CHUNK_SIZE", 2)
    chunks = list(opendata.csv_stream(closed, chunk_size=2))
    assert len(chunks) == 1 + 3  # header, then three chunks of two rows
    response = client.get(f"/api/v1/consultations/{closed.slug}/responses.csv")
    assert response.is_streamed


def test_chunking_does_not_change_the_rows(closed):
    whole = [row for row in opendata.iter_rows(closed, chunk_size=1000)]
    small = [row for row in opendata.iter_rows(closed, chunk_size=1)]
    assert sorted(map(tuple, whole[1:])) == sorted(map(tuple, small[1:]))
    assert len(whole) == len(ROWS) + 1


def test_datapackage_describes_the_csv(client, closed):
    response = client.get(f"/api/v1/consultations/{closed.slug}/datapackage.json")
    assert response.status_code == 200
    package = response.get_json()
    assert package["profile"] == "tabular-data-package"
    resource = package["resources"][0]
    assert resource["path"] == "responses.csv"  # relative to the package: no PUBLIC_BASE_URL
    fields = {field["name"]: field for field in resource["schema"]["fields"]}
    frame = read_csv(client, closed.slug)
    assert list(fields) == list(frame.columns)
    assert fields["region"]["type"] == "integer"
    assert fields["submitted_on"]["type"] == "date"
    assert fields["metro"]["trueValues"] == ["1"]
    assert set(fields["sector"]["constraints"]["enum"]) >= {"private", "public", "academia"}
    assert all(field["descriptions"]["es"] and field["descriptions"]["en"]
               for field in fields.values())
    assert fields["channel"]["descriptions"]["es"] != fields["channel"]["descriptions"]["en"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_dictionary_in_both_languages(client, closed, fmt):
    response = client.get(f"/api/v1/consultations/{closed.slug}/dictionary?format={fmt}")
    assert response.status_code == 200
    if fmt == "json":
        data = response.get_json()
        assert data["themes"][0] == {"code": "security",
                                     "name": {"es": "Inseguridad", "en": "Insecurity"}}
        assert [field["name"] for field in data["fields"]][:3] == ["id", "submitted_on",
                                                                   "channel"]
    else:
        frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype=str)
        assert list(frame.columns) == ["field", "type", "values", "description_es",
                                       "description_en"]
        assert "security" in frame.set_index("field").loc["themes", "values"]


def test_dictionary_bad_format_is_400(client, closed):
    response = client.get(f"/api/v1/consultations/{closed.slug}/dictionary?format=pdf")
    assert response.status_code == 400
    assert "pdf" in response.get_json()["message"]


URLS = ["responses.csv", "responses.xlsx", "datapackage.json", "dictionary"]


@pytest.mark.parametrize("suffix", URLS)
def test_open_consultation_is_403_json_for_the_public(client, make_consultation, suffix):
    consultation = make_consultation("open")
    response = client.get(f"/api/v1/consultations/{consultation.slug}/{suffix}")
    assert response.status_code == 403
    assert response.is_json
    assert response.get_json()["message"]


@pytest.mark.parametrize("role", ["facilitator", "staff"])
def test_open_consultation_is_403_for_other_roles(client, auth, make_consultation, make_user,
                                                   role):
    consultation = make_consultation("open")
    auth.login(make_user(role).email)
    response = client.get(f"/api/v1/consultations/{consultation.slug}/responses.csv")
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_open_consultation_readable_by_analysts(client, auth, make_consultation, make_user,
                                                role):
    consultation = make_consultation("open")
    add_responses(consultation)
    auth.login(make_user(role).email)
    assert len(read_csv(client, consultation.slug)) == len(ROWS)


@pytest.mark.parametrize("suffix", URLS)
def test_unknown_slug_is_404_json(client, suffix):
    response = client.get(f"/api/v1/consultations/nope/{suffix}")
    assert response.status_code == 404
    assert response.is_json


def test_empty_consultation_exports_the_header(client, make_consultation):
    consultation = make_consultation("closed")
    frame = read_csv(client, consultation.slug)
    assert len(frame) == 0
    assert "themes" in frame.columns
    assert json.loads(client.get(
        f"/api/v1/consultations/{consultation.slug}/datapackage.json").data)["name"] == \
        consultation.slug


def count_queries(run) -> int:
    from sqlalchemy import event

    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(statements)


def test_queries_do_not_grow_with_rows(closed):
    """No query per response (N+1): one chunk costs the same whatever its size."""
    db.session.expire_all()
    few = count_queries(lambda: list(opendata.csv_stream(closed)))
    add_responses(closed, ROWS * 5, start=100)
    db.session.expire_all()
    many = count_queries(lambda: list(opendata.csv_stream(closed)))
    assert many == few


def test_borda_and_ranks_recomputed_from_csv(client, closed):
    from app.services import workshops

    frame = read_csv(client, closed.slug)
    chosen = frame["themes"].str.split(";").explode().to_frame("theme")
    chosen["position"] = chosen.groupby(level=0).cumcount() + 1
    chosen["score"] = closed.theme_max - chosen["position"] + 1
    recomputed = chosen.groupby("theme").agg(votes=("position", "size"),
                                              borda=("score", "sum"))
    table = workshops.theme_table(closed).set_index("theme")
    for theme, row in recomputed.iterrows():
        assert table.loc[theme, "votes"] == row["votes"]
        assert table.loc[theme, "borda"] == row["borda"]
    assert table.attrs["respondents"] == len(frame)


def test_api_ranking_recomputed_from_csv_with_pandas(client, closed):
    frame = read_csv(client, closed.slug)
    chosen = frame["themes"].str.split(";").explode().to_frame("theme")
    chosen["position"] = chosen.groupby(level=0).cumcount() + 1
    chosen["score"] = closed.theme_max - chosen["position"] + 1
    mine = chosen.groupby("theme").agg(votes=("position", "size"), borda=("score", "sum"))
    mine["vote_share"] = mine["votes"] / mine["votes"].sum()
    mine["respondent_share"] = mine["votes"] / len(frame)
    api = client.get(f"/api/v1/consultations/{closed.slug}/ranking").get_json()
    assert api["respondents"] == len(frame)
    assert api["votes"] == int(mine["votes"].sum())
    for theme in api["themes"]:
        if theme["code"] not in mine.index:
            assert theme["votes"] == 0
            continue
        row = mine.loc[theme["code"]]
        assert theme["votes"] == row["votes"]
        assert theme["borda"] == row["borda"]
        assert theme["vote_share"] == pytest.approx(row["vote_share"])
        assert theme["respondent_share"] == pytest.approx(row["respondent_share"])


# The exact bytes of responses.csv for ROWS with free text published, in insertion order and
# without the id column (a public contract: column order, quoting, scrubbing, neutralizing).
PINNED = [
    '2016-10-17,online,14039,12,1,security;health;education,private,school,'
    '"\'=HYPERLINK(""[enlace]"")",online',
    '2016-10-18,paper,14039,12,1,security,public,,"Soy [nombre], escribe a [correo]",online',
    "2016-10-19,online,14120,12,1,health;security,private,school;other,'+1 mala idea,online",
    "2016-10-17,paper,14001,3,0,security;health;education,academia,other,[usuario],online",
    "2016-10-18,paper,14001,3,0,corruption,private,,'-2+3,online",
    "2016-10-19,online,14001,3,0,health;corruption,public,,Tab y BEL,online",
]
PINNED_HEADER = ("id,submitted_on,channel,municipality,region,metro,themes,sector,heard_via,"
                 "problem,source\n")


def pinned_csv(app, consultation, chunk_size: int) -> str:
    """Return the expected CSV: HMAC ids, rows by day then id inside each chunk of responses."""
    import hashlib
    import hmac

    key = app.config["SECRET_KEY"].encode()
    ids = db.session.scalars(db.select(datasets.Response.id).where(
        datasets.Response.consultation_id == consultation.id,
        datasets.Response.state == "accepted").order_by(datasets.Response.id)).all()
    rows = [(hmac.new(key, f"opendata:{consultation.slug}:{rid}".encode(),
                      hashlib.sha256).hexdigest()[:16], line)
            for rid, line in zip(ids, PINNED, strict=True)]
    out = PINNED_HEADER
    for start in range(0, len(rows), chunk_size):
        chunk = sorted(rows[start:start + chunk_size], key=lambda row: (row[1][:10], row[0]))
        out += "".join(f"{anonymous},{line}\n" for anonymous, line in chunk)
    return out


@pytest.mark.parametrize(("chunk_size", "fetch_size"),
                         [(opendata.CHUNK_SIZE, opendata.FETCH_SIZE), (2, 2), (2, 4), (4, 3)])
def test_csv_bytes_are_pinned(app, client, make_consultation, monkeypatch, chunk_size,
                              fetch_size):
    """Same bytes whatever the chunk and fetch sizes (several chunks per round of queries)."""
    monkeypatch.setattr(opendata_reader, "FETCH_SIZE", fetch_size)
    consultation = make_consultation("closed", publish_free_text=True)
    add_responses(consultation)
    expected = pinned_csv(app, consultation, chunk_size)
    assert "".join(opendata.csv_stream(consultation, chunk_size=chunk_size)) == expected
    if chunk_size == opendata.CHUNK_SIZE:
        response = client.get(f"/api/v1/consultations/{consultation.slug}/responses.csv")
        assert response.get_data(as_text=True) == expected


def test_xlsx_cells_are_pinned(app, client, make_consultation):
    consultation = make_consultation("closed", publish_free_text=True)
    add_responses(consultation)
    import csv

    expected = list(csv.reader(io.StringIO(pinned_csv(app, consultation,
                                                      opendata.CHUNK_SIZE))))
    for row in expected[1:]:
        row[4], row[5] = int(row[4]), int(row[5])  # region and metro are numbers
    expected = [tuple(cell if cell != "" else None for cell in row) for row in expected]
    response = client.get(f"/api/v1/consultations/{consultation.slug}/responses.xlsx")
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert list(workbook["responses"].iter_rows(values_only=True)) == expected
    assert [tuple(cell if cell != "" else None for cell in row)
            for row in opendata.dictionary_rows(consultation)] == \
        list(workbook["dictionary"].iter_rows(values_only=True))


@pytest.mark.parametrize("key", ["k", "bench-secret-key", "x" * 64, "ñ" * 40, "y" * 200])
def test_anonymous_id_is_the_hmac_of_slug_and_id(app, make_consultation, key):
    import hashlib
    import hmac

    consultation = make_consultation("closed")
    app.config["SECRET_KEY"] = key
    for response_id in (1, 42, 10**9):
        assert opendata.anonymous_id(consultation, response_id) == hmac.new(
            key.encode(), f"opendata:{consultation.slug}:{response_id}".encode(),
            hashlib.sha256).hexdigest()[:16]


def test_multiple_choice_cells_follow_the_order_of_options(client, closed):
    """Options reordered after creation: cells follow the new positions (not the ids)."""
    heard = next(question for question in closed.questions if question.code == "heard_via")
    by_code = {option.code: option for option in heard.options}
    assert read_csv(client, closed.slug)["heard_via"].str.contains("school;other").any()
    by_code["school"].position, by_code["other"].position = (by_code["other"].position,
                                                             by_code["school"].position)
    db.session.commit()
    cells = set(read_csv(client, closed.slug)["heard_via"])
    assert "other;school" in cells
    assert "school;other" not in cells


@pytest.mark.parametrize(("chunk_size", "fetch_size"), [(opendata.CHUNK_SIZE, 20_000), (2, 4)])
def test_odd_codes_and_texts_are_written_as_csv_writer_would(make_consultation, monkeypatch,
                                                            chunk_size, fetch_size):
    """Codes to quote or to neutralize, a text in a single question: the CSV (joined by hand
    when no cell needs quotes) has the bytes csv.writer gives for the rows of the XLSX."""
    import csv

    from app.models import Answer

    monkeypatch.setattr(opendata_reader, "FETCH_SIZE", fetch_size)
    consultation = make_consultation("closed")
    add_responses(consultation)
    next(theme for theme in consultation.themes if theme.code == "security").code = \
        'se,cu"rity'
    heard = consultation.question_by_code()["heard_via"]
    next(option for option in heard.options if option.code == "school").code = "=school"
    first, second = db.session.scalars(db.select(datasets.Response.id).where(
        datasets.Response.consultation_id == consultation.id,
        datasets.Response.state == "accepted").order_by(datasets.Response.id).limit(2)).all()
    sector = consultation.question_by_code()["sector"]
    db.session.execute(db.delete(Answer).where(Answer.response_id == second,
                                               Answer.question_id == sector.id))
    db.session.add(Answer(response_id=second, question_id=sector.id,
                          text_value="Radio, TV y ana@example.org"))
    db.session.commit()
    text = "".join(opendata.csv_stream(consultation, chunk_size=chunk_size))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        opendata.iter_rows(consultation, chunk_size=chunk_size))
    assert text == buffer.getvalue()
    rows = {row[0]: row for row in csv.reader(io.StringIO(text))}
    assert rows[opendata.anonymous_id(consultation, first)][6:9] == [
        'se,cu"rity;health;education', "private", "'=school"]
    assert rows[opendata.anonymous_id(consultation, second)][6:9] == [
        'se,cu"rity', "Radio, TV y [correo]", ""]
    assert '"se,cu""rity;health;education",private,\'=school,online\n' in text


def test_every_character_that_csv_writer_quotes_is_known():
    """_csv_cell() writes a cell as it is unless it has one of _NEEDS_QUOTES: check them all."""
    import csv
    import sys

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:  # surrogates: not in any text from the database
            continue
        char = chr(code)
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([char, f" a{char}b ", ""])
        if buffer.getvalue() != f"{char}, a{char}b ,\n":
            assert opendata_reader._NEEDS_QUOTES.search(char), repr(char)
    for value in ['a,b', 'say "hi"', "two\nlines", "cr\r", "plain", " spaced "]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([value, ""])
        assert f"{opendata_reader._csv_cell(value)},\n" == buffer.getvalue()


def _fetch_threads() -> list:
    import threading

    return [thread for thread in threading.enumerate() if thread.name == "opendata-fetch"]


def test_rounds_read_ahead_stop_with_the_stream(app):
    """PostgreSQL's batches are read one ahead in a thread: it ends with the consumer."""
    read = []

    def rounds(connection):
        for number in range(100):
            read.append(number)
            yield number

    items = opendata_reader._ahead(db.engine, rounds)
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert not _fetch_threads()
    assert len(read) <= 3  # one ahead at most: never the whole table
    assert list(opendata_reader._ahead(db.engine, rounds)) == list(range(100))
    assert not _fetch_threads()


def test_rounds_read_ahead_raise_their_error(app):
    def rounds(connection):
        yield 1
        raise ValueError("boom")

    items = opendata_reader._ahead(db.engine, rounds)
    assert next(items) == 1
    with pytest.raises(ValueError, match="boom"):
        next(items)
    assert not _fetch_threads()


def test_closed_stream_leaves_no_reader(closed, monkeypatch):
    monkeypatch.setattr(opendata_reader, "FETCH_SIZE", 2)
    stream = opendata.csv_stream(closed, chunk_size=2)
    next(stream), next(stream)
    stream.close()
    assert not _fetch_threads()
    assert len("".join(opendata.csv_stream(closed, chunk_size=2)).splitlines()) == len(ROWS) + 1
