"""Creating a consultation on the web: drafts, translations, every bad input refused whole."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.util import local_today
from tests.admin.conftest import audit_events, consultation_count, get, settings_form


def test_only_administrators_build(client, auth, make_user):
    assert client.get("/admin/").status_code == 302  # to the sign-in page
    make_user("analyst", email="analyst@example.org")
    auth.login("analyst@example.org")
    assert client.get("/admin/").status_code == 403
    assert client.post("/admin/new", data=settings_form()).status_code == 403
    assert consultation_count() == 0


def test_create_a_draft(admin):
    response = admin.post("/admin/new", data=settings_form())
    assert response.status_code == 302
    consultation = get("consulta-2027")
    assert consultation.is_draft
    assert consultation.title == {"es": "Consulta 2027", "en": "Consultation 2027"}
    assert consultation.channels == ["online", "paper"]
    assert consultation.double_entry
    assert not consultation.publish_free_text
    assert (consultation.theme_min, consultation.theme_max, consultation.theme_ranked) == (1, 2,
                                                                                            True)
    assert [e.object_id for e in audit_events("consultation.create")] == ["consulta-2027"]
    # Drafts are not on the public site.
    assert admin.get("/c/consulta-2027").status_code == 404
    listing = admin.get("/admin/").get_data(as_text=True)
    assert "consulta-2027" in listing
    assert "Borrador" in listing


def test_missing_translation_is_flagged_and_blocks_publishing(admin):
    response = admin.post("/admin/new", data=settings_form(title_en=""))
    assert response.status_code == 302
    consultation = get("consulta-2027")
    assert consultation.title == {"es": "Consulta 2027", "en": ""}
    page = admin.get("/admin/c/consulta-2027").get_data(as_text=True)
    assert "Falta 1 traducción" in page
    assert "title: Inglés" in page
    settings = admin.get("/admin/c/consulta-2027/settings").get_data(as_text=True)
    assert 'id="title_en-missing"' in settings
    response = admin.post("/admin/c/consulta-2027/publish",
                          data={"version": consultation.version}, follow_redirects=True)
    page = response.get_data(as_text=True).replace("&#34;", '"')
    assert "no se puede publicar" in page
    assert 'title: falta el texto en el idioma "en"' in page
    assert get("consulta-2027").is_draft
    assert audit_events("consultation.publish") == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"slug": "Mi Consulta"}, "slug: must be 2 to 80 lowercase letters"),
        ({"slug": "consulta_2027"}, "slug: must be 2 to 80 lowercase letters"),
        ({"closes_on": (local_today() - timedelta(days=1)).isoformat()},
         "closes_on: the closing date"),
        ({"theme_min": "3", "theme_max": "2"}, "min (3) is greater than max (2)"),
        ({"theme_min": "1", "theme_max": "1", "theme_ranked": "y"},
         "a ranked question needs max of at least 2"),
        ({"channels": None}, "channels: must list at least one of"),
        ({"title_es": "", "title_en": ""}, 'title: the text in language "es" is missing'),
    ],
)
def test_bad_settings_are_refused_and_nothing_stored(admin, overrides, expected):
    response = admin.post("/admin/new?lang=en", data=settings_form(**overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')
    assert expected in page
    assert "nothing was stored" in page
    assert consultation_count() == 0


def test_unparseable_fields_are_named(admin):
    response = admin.post("/admin/new?lang=en", data=settings_form(opens_on="17/10/2027",
                                                                    theme_max="many"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="opens_on-error"' in page
    assert 'id="theme_max-error"' in page
    assert consultation_count() == 0


def test_slug_taken_is_refused(admin, make_consultation):
    make_consultation("open", slug="consulta-2027")
    response = admin.post("/admin/new?lang=en", data=settings_form())
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#34;", '"')
    assert 'slug: "consulta-2027" is already used by another consultation' in page
    assert consultation_count() == 1


def test_settings_of_a_draft_change_with_audit(admin, draft):
    response = admin.post("/admin/c/consulta-2027/settings", data=settings_form(
        slug="consulta-2028", title_en="Consultation 2028", publish_free_text="y",
        channels=["online"], version=draft.version))
    assert response.status_code == 302
    assert get("consulta-2027") is None
    changed = get("consulta-2028")
    assert changed.title["en"] == "Consultation 2028"
    assert changed.channels == ["online"]
    assert changed.publish_free_text
    event = audit_events("consultation.settings")[-1]
    assert event.details["before"]["title.en"] == "Consultation 2027"
    assert event.details["after"]["title.en"] == "Consultation 2028"
    assert event.details["before"]["slug"] == "consulta-2027"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/new"), ("get", "/admin/import"), ("get", "/admin/c/abierta"),
        ("get", "/admin/c/abierta/settings"), ("get", "/admin/c/abierta/themes/new"),
        ("get", "/admin/c/abierta/questions/sector"), ("get", "/admin/c/abierta/preview/en"),
        ("get", "/admin/c/abierta/export.json"), ("get", "/admin/c/abierta/printed/es.pdf"),
        ("post", "/admin/c/abierta/publish"),
        ("post", "/admin/c/abierta/close"), ("post", "/admin/c/abierta/move"),
        ("post", "/admin/c/abierta/remove"), ("post", "/admin/c/abierta/duplicate"),
        ("post", "/admin/c/abierta/extend"), ("post", "/admin/c/abierta/unpublish"),
    ],
)
def test_every_builder_page_is_for_administrators(client, auth, make_user, make_consultation,
                                                  method, path):
    consultation = make_consultation("open", slug="abierta")
    make_user("analyst", "supervisor", "staff", email="staff@example.org",
              all_municipalities=True)
    auth.login("staff@example.org")
    response = getattr(client, method)(path, data={"version": consultation.version})
    assert response.status_code == 403
    assert get("abierta").closed_early_on is None


def test_duplicate_with_a_bad_slug_names_it(admin, make_consultation):
    make_consultation("closed", slug="consulta-2016")
    response = admin.post("/admin/c/consulta-2016/duplicate?lang=en", data={"slug": "Año 2017"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="slug-error"' in page
    assert "slug: must be 2 to 80 lowercase letters" in page
    assert consultation_count() == 1


def test_a_choice_question_without_options_blocks_publishing(admin, draft):
    response = admin.post("/admin/c/consulta-2027/questions/new", data={
        "code": "heard", "type": "multiple", "label_es": "¿Cómo se enteró?",
        "label_en": "How did you hear of it?", "version": draft.version})
    assert response.status_code == 302
    consultation = get("consulta-2027")
    response = admin.post("/admin/c/consulta-2027/publish?lang=en",
                          data={"version": consultation.version}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "questions[2].options: a multiple question needs at least one option" in page
    assert get("consulta-2027").is_draft
