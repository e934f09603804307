"""Publishing, closing early, extending and duplicating, each audited."""

from __future__ import annotations

from datetime import timedelta

from app.util import local_today
from tests.admin.conftest import add_response, audit_events, get


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"')


def test_publish_a_complete_draft(admin, draft):
    response = admin.post("/admin/c/consulta-2027/publish", data={"version": draft.version})
    assert response.status_code == 302
    published = get("consulta-2027")
    assert not published.is_draft
    assert published.status(local_today()) == "open"
    assert admin.get("/c/consulta-2027").status_code == 200
    event = audit_events("consultation.publish")[-1]
    assert event.details == {"before": {"is_draft": True}, "after": {"is_draft": False}}
    listing = admin.get("/admin/").get_data(as_text=True)
    assert "Abierta" in listing
    # Back to draft while nobody has answered.
    admin.post("/admin/c/consulta-2027/unpublish", data={"version": published.version})
    assert get("consulta-2027").is_draft


def test_a_published_consultation_keeps_every_rule(admin, draft):
    admin.post("/admin/c/consulta-2027/publish", data={"version": draft.version})
    version = get("consulta-2027").version
    response = admin.post("/admin/c/consulta-2027/themes/health?lang=en", data={
        "code": "health", "name_es": "Salud", "name_en": "", "version": version})
    assert response.status_code == 400
    assert 'themes[2].name: the text in language "en" is missing' in _text(response)
    assert get("consulta-2027").themes[1].name["en"] == "Health"


def test_a_draft_with_responses_cannot_be_unpublished(admin, make_consultation):
    consultation = make_consultation("open", slug="abierta")
    add_response(consultation)
    response = admin.post("/admin/c/abierta/unpublish?lang=en",
                          data={"version": consultation.version}, follow_redirects=True)
    assert "cannot go back to draft" in _text(response)
    assert not get("abierta").is_draft


def test_close_early_then_extend(admin, make_consultation):
    consultation = make_consultation("open", slug="abierta")
    today = local_today()
    original_close = consultation.closes_on
    response = admin.post("/admin/c/abierta/close", data={"version": consultation.version})
    assert response.status_code == 302
    closed = get("abierta")
    assert closed.closed_early_on == today
    assert closed.status(today + timedelta(days=1)) == "closed"
    event = audit_events("consultation.close_early")[-1]
    assert event.details == {"before": {"closed_early_on": None},
                             "after": {"closed_early_on": today.isoformat()}}
    new_close = original_close + timedelta(days=5)
    response = admin.post("/admin/c/abierta/extend", data={
        "closes_on": new_close.isoformat(), "version": closed.version})
    assert response.status_code == 302
    extended = get("abierta")
    assert (extended.closes_on, extended.closed_early_on) == (new_close, None)
    event = audit_events("consultation.extend")[-1]
    assert event.details["before"] == {"closes_on": original_close.isoformat(),
                                       "closed_early_on": today.isoformat()}
    assert event.details["after"] == {"closes_on": new_close.isoformat(),
                                      "closed_early_on": None}


def test_extend_must_move_the_date_later(admin, make_consultation):
    consultation = make_consultation("open", slug="abierta")
    earlier = consultation.closes_on - timedelta(days=1)
    response = admin.post("/admin/c/abierta/extend?lang=en", data={
        "closes_on": earlier.isoformat(), "version": consultation.version})
    assert response.status_code == 400
    assert f"closes_on: {earlier.isoformat()} is not after" in _text(response)
    assert get("abierta").closes_on == consultation.closes_on
    assert audit_events("consultation.extend") == []


def test_only_an_open_consultation_closes_early(admin, make_consultation):
    consultation = make_consultation("upcoming", slug="pronto")
    response = admin.post("/admin/c/pronto/close?lang=en",
                          data={"version": consultation.version}, follow_redirects=True)
    assert "Only an open consultation can be closed early." in _text(response)
    assert get("pronto").closed_early_on is None


def test_duplicate_as_a_new_draft(admin, make_consultation):
    from app.services.consultations import export_definition

    source = make_consultation("closed", slug="consulta-2016")
    response = admin.post("/admin/c/consulta-2016/duplicate", data={"slug": "consulta-2017"})
    assert response.status_code == 302
    copy = get("consulta-2017")
    assert copy.is_draft
    original, copied = export_definition(get("consulta-2016")), export_definition(copy)
    assert copied.pop("slug") == "consulta-2017"
    original.pop("slug")
    assert copied == original
    assert audit_events("consultation.duplicate")[-1].object_id == "consulta-2017"
    response = admin.post("/admin/c/consulta-2016/duplicate?lang=en",
                          data={"slug": "consulta-2017"})
    assert response.status_code == 400
    assert '"consulta-2017" is already used by another consultation' in _text(response)
    assert source.slug == "consulta-2016"


def test_lifecycle_in_the_list(admin, make_consultation):
    make_consultation("upcoming", slug="pronto")
    make_consultation("closed", slug="cerrada")
    page = admin.get("/admin/?lang=en").get_data(as_text=True)
    assert "Scheduled" in page
    assert "Closed, results public" in page


def test_settings_texts_and_dates_after_responses(admin, make_consultation):
    from tests.admin.conftest import settings_form

    consultation = make_consultation("open", slug="abierta")
    add_response(consultation)
    version, later = consultation.version, consultation.closes_on + timedelta(days=3)
    form = settings_form(slug="abierta", theme_min="1", theme_max="3", version=version,
                         opens_on=consultation.opens_on.isoformat(), closes_on=later.isoformat())
    response = admin.post("/admin/c/abierta/settings", data=form)
    assert response.status_code == 302
    changed = get("abierta")
    assert changed.title["en"] == "Consultation 2027"
    assert changed.closes_on == later
    event = audit_events("consultation.settings")[-1]
    assert event.details["before"]["title.en"] == "Amplified open-government consultation 2016"
    assert event.details["after"]["title.en"] == "Consultation 2027"
    # The address of a published consultation is in links already given out.
    response = admin.post("/admin/c/abierta/settings?lang=en",
                          data={**form, "slug": "otra", "version": changed.version})
    assert response.status_code == 400
    assert "slug: the address of a published consultation cannot change" in _text(response)
    assert get("abierta") is not None
