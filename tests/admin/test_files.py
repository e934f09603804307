"""Export and import the definition file on the web; preview the online form."""

from __future__ import annotations

import io
import json

from app.services.consultations import export_definition
from tests.admin.conftest import audit_events, consultation_count, get
from tests.conftest import demo_definition


def _upload(client, data: bytes, name: str = "consulta.json", lang: str = "en"):
    return client.post(f"/admin/import?lang={lang}",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"')


def test_export_then_import_gives_an_identical_consultation(admin, make_consultation):
    make_consultation("open", slug="original", publish_free_text=True, double_entry=False)
    response = admin.get("/admin/c/original/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    exported = json.loads(response.get_data(as_text=True))
    assert exported == export_definition(get("original"))
    exported["slug"] = "importada"
    response = _upload(admin, json.dumps(exported).encode())
    assert response.status_code == 302
    imported = get("importada")
    assert imported.is_draft
    again = export_definition(imported)
    assert again == exported
    assert audit_events("consultation.import")[-1].object_id == "importada"


def test_importing_an_existing_slug_updates_it(admin, make_consultation):
    consultation = make_consultation("open", slug="original")
    data = export_definition(consultation)
    data["title"]["en"] = "Corrected title"
    response = _upload(admin, json.dumps(data).encode())
    assert response.status_code == 302
    assert get("original").title["en"] == "Corrected title"
    assert consultation_count() == 1
    # The same file again changes nothing.
    version = get("original").version
    events = len(audit_events("consultation.import"))
    assert _upload(admin, json.dumps(data).encode()).status_code == 302
    assert export_definition(get("original")) == data
    assert get("original").version == version
    assert len(audit_events("consultation.import")) == events


def test_an_invalid_file_lists_every_problem_and_stores_nothing(admin):
    data = demo_definition(slug="Mala Dirección", closes_on="2016-10-01")
    data["theme_question"].update(min=4, max=3)
    data["questions"][0]["options"].append(dict(data["questions"][0]["options"][0]))
    response = _upload(admin, json.dumps(data).encode())
    assert response.status_code == 400
    page = _text(response)
    for expected in ("slug: must be 2 to 80", "closes_on: the closing date 2016-10-01",
                     "min (4) is greater than max (3)",
                     'questions[1].options[6].code: code "private" is used twice'):
        assert expected in page
    assert "4 problems; nothing was stored" in page
    assert consultation_count() == 0


def test_a_file_that_is_not_json_is_refused(admin):
    response = _upload(admin, b"slug: nope")
    assert response.status_code == 400
    assert "The file is not valid JSON." in _text(response)
    response = _upload(admin, "{}".encode("utf-16"))
    assert response.status_code == 400
    assert "not UTF-8" in _text(response)
    response = admin.post("/admin/import?lang=en", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert consultation_count() == 0


def test_a_draft_with_a_missing_translation_is_not_importable_elsewhere(admin, draft):
    # A draft may lack a translation; the file contract may not.
    admin.post("/admin/c/consulta-2027/themes/health", data={
        "code": "health", "name_es": "Salud", "name_en": "", "version": draft.version})
    data = json.loads(admin.get("/admin/c/consulta-2027/export.json").get_data(as_text=True))
    data["slug"] = "otra"
    response = _upload(admin, json.dumps(data).encode())
    assert response.status_code == 400
    assert 'themes[2].name: the text in language "en" is missing' in _text(response)


def test_preview_in_either_language(admin, draft):
    response = admin.get("/admin/c/consulta-2027/preview/en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Consultation 2027" in page
    assert "Insecurity" in page
    assert "Private" in page
    assert "Priority 2" in page
    assert "Guadalajara" in page
    assert "disabled" in page
    assert "<form" in page
    assert 'method="post"' not in page.split(
        '<article class="preview"')[1]
    page = admin.get("/admin/c/consulta-2027/preview/es").get_data(as_text=True)
    assert "Inseguridad" in page
    assert "Prioridad 1" in page
    assert "Privado" in page
    assert admin.get("/admin/c/consulta-2027/preview/fr").status_code == 404


def test_printed_questionnaire_preview_in_either_language(admin, draft):
    from pypdf import PdfReader

    page = admin.get("/admin/c/consulta-2027").get_data(as_text=True)
    assert "/admin/c/consulta-2027/printed/en.pdf" in page
    for lang, expected in (("en", ("Consultation 2027", "Insecurity", "Private")),
                           ("es", ("Consulta 2027", "Inseguridad", "Privado"))):
        response = admin.get(f"/admin/c/consulta-2027/printed/{lang}.pdf")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
        for word in expected:
            assert word in text
    assert admin.get("/admin/c/consulta-2027/printed/fr.pdf").status_code == 404


def test_printed_preview_of_an_empty_draft(admin):
    from tests.admin.conftest import settings_form

    admin.post("/admin/new", data=settings_form())
    response = admin.get("/admin/c/consulta-2027/printed/es.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
