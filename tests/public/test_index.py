"""The home page lists consultations by status, in Spanish by default and in English on request."""

from __future__ import annotations

import re


def test_home_lists_consultations_by_status(client, make_consultation):
    make_consultation("open", slug="abierta")
    make_consultation("upcoming", slug="proxima")
    make_consultation("closed", slug="cerrada")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="es-MX">' in html
    open_at, upcoming_at, closed_at = (html.index(s) for s in
                                       ("Abiertas ahora", "Próximas", "Cerradas"))
    assert open_at < html.index("/c/abierta") < upcoming_at < html.index("/c/proxima") \
        < closed_at < html.index("/c/cerrada")


def test_dates_are_formatted_for_the_locale(client, make_consultation):
    make_consultation("closed", slug="vieja", opens_on="2016-10-17", closes_on="2016-10-21")
    spanish = client.get("/").get_data(as_text=True)
    assert "Del 17 de octubre de 2016 al 21 de octubre de 2016" in spanish
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "From October 17, 2016 to October 21, 2016" in english


def test_language_switch_is_kept_in_the_session(client):
    response = client.get("/language/en?next=/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Citizen consultations" in html
    assert client.get("/language/es_MX").status_code == 302
    assert "Consultas ciudadanas" in client.get("/").get_data(as_text=True)


def test_accept_language_is_used_when_nothing_was_chosen(client):
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="es-MX">' in html


def test_language_switch_never_redirects_outside(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/"
    assert client.get("/language/fr").status_code == 404


def test_every_page_has_the_switch(client, make_consultation):
    make_consultation("open", slug="abierta")
    for path in ("/", "/c/abierta", "/auth/login", "/no-such-page"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'href="/language/en\?next=[^"]*"', html), path


def test_consultation_page_shows_texts_in_the_chosen_language(client, make_consultation):
    make_consultation("open", slug="abierta")
    html = client.get("/c/abierta?lang=en").get_data(as_text=True)
    assert "Amplified open-government consultation 2016" in html
    assert "Employment and inequality" in html
    assert client.get("/c/unknown").status_code == 404


def test_drafts_are_not_public(client, make_consultation):
    from app.extensions import db

    draft = make_consultation("open", slug="borrador")
    draft.is_draft = True
    db.session.commit()
    assert "/c/borrador" not in client.get("/").get_data(as_text=True)
    assert client.get("/c/borrador").status_code == 404
