"""Two administrators edit the same consultation: the second, stale save is refused."""

from __future__ import annotations

import pytest

from tests.admin.conftest import audit_events, get, settings_form
from tests.conftest import AuthActions


@pytest.fixture
def second(app, make_user, admin):
    """A second administrator, signed in on another client."""
    make_user("admin", email="other@example.org")
    client = app.test_client()
    AuthActions(client).login("other@example.org")
    return client


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"')


def test_a_stale_settings_save_is_refused(admin, second, draft):
    # Both open the settings page at the same version.
    version = draft.version
    assert f'value="{version}"' in admin.get("/admin/c/consulta-2027/settings").get_data(
        as_text=True)
    assert second.get("/admin/c/consulta-2027/settings").status_code == 200
    first = admin.post("/admin/c/consulta-2027/settings", data=settings_form(
        title_en="First administrator's title", version=version))
    assert first.status_code == 302
    late = second.post("/admin/c/consulta-2027/settings?lang=en", data=settings_form(
        title_en="Second administrator's title", version=version))
    assert late.status_code == 409
    page = _text(late)
    assert "Another administrator changed this consultation" in page
    assert "Second administrator&#39;s title" in page  # what they typed is still on the page
    stored = get("consulta-2027")
    assert stored.title["en"] == "First administrator's title"
    assert len(audit_events("consultation.settings")) == 1
    # The refused form now carries the newer version: submitting it again is a decision.
    assert f'value="{stored.version}"' in page


def test_a_stale_questionnaire_edit_is_refused(admin, second, draft):
    version = draft.version
    assert admin.post("/admin/c/consulta-2027/move", data={
        "kind": "theme", "code": "health", "direction": "up", "version": version,
    }).status_code == 302
    response = second.post("/admin/c/consulta-2027/remove?lang=en", data={
        "kind": "theme", "code": "security", "version": version}, follow_redirects=True)
    assert "Another administrator changed this consultation" in _text(response)
    assert [t.code for t in get("consulta-2027").themes] == ["health", "security"]
    response = second.post("/admin/c/consulta-2027/themes/new?lang=en", data={
        "code": "education", "name_es": "Educación", "name_en": "Education",
        "version": version})
    assert response.status_code == 409
    assert len(get("consulta-2027").themes) == 2


def test_a_stale_lifecycle_action_is_refused(admin, second, draft):
    version = draft.version
    admin.post("/admin/c/consulta-2027/themes/health", data={
        "code": "health", "name_es": "Salud pública", "name_en": "Public health",
        "version": version})
    response = second.post("/admin/c/consulta-2027/publish?lang=en",
                           data={"version": version}, follow_redirects=True)
    assert "Another administrator changed this consultation" in _text(response)
    assert get("consulta-2027").is_draft


def test_every_edit_moves_the_version(admin, draft):
    version = draft.version
    admin.post("/admin/c/consulta-2027/questions/sector/options/private", data={
        "code": "private", "label_es": "Sector privado", "label_en": "Private sector",
        "version": version})
    assert get("consulta-2027").version == version + 1


def test_a_form_without_version_is_refused(admin, draft):
    response = admin.post("/admin/c/consulta-2027/publish", data={})
    assert response.status_code == 400
    assert get("consulta-2027").is_draft
