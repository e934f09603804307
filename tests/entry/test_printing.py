"""Batches of serials, the printable questionnaire and the tally sheet."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import AuditEvent, PaperBatch
from app.services import paper, printing
from app.services.errors import DomainError, OutOfScope


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_batches_continue_from_the_last_sequence(make_consultation, people):
    consultation = make_consultation()
    first = paper.create_batch(consultation, "14039", 3, actor=people.gdl1)
    second = paper.create_batch(consultation, "14039", 2, actor=people.gdl2)
    other = paper.create_batch(consultation, "14097", 1, actor=people.boss)
    assert first.serials() == ["14039-000001", "14039-000002", "14039-000003"]
    assert second.serials() == ["14039-000004", "14039-000005"]
    assert other.serials() == ["14097-000001"]
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "paper.batch_created").order_by(AuditEvent.id))
    assert event.details["first"] == "14039-000001"


def test_sequences_are_per_consultation(make_consultation, people):
    one, two = make_consultation(), make_consultation()
    paper.create_batch(one, "14039", 5, actor=people.gdl1)
    assert paper.create_batch(two, "14039", 1, actor=people.gdl1).first_sequence == 1


def test_the_database_refuses_a_reused_sequence(make_consultation, people):
    consultation = make_consultation()
    paper.create_batch(consultation, "14039", 3, actor=people.gdl1)
    db.session.add(PaperBatch(consultation_id=consultation.id, municipality_code="14039",
                              first_sequence=1, last_sequence=1, count=1))
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(("code", "count", "message"), [
    ("14039", 0, "de 1 a 5000"),
    ("14039", 5001, "de 1 a 5000"),
    ("99999", 10, "Municipio desconocido: 99999"),
])
def test_bad_batches(make_consultation, people, code, count, message):
    consultation = make_consultation()
    with pytest.raises(DomainError, match=message):
        paper.create_batch(consultation, code, count, actor=people.boss)
    assert db.session.scalar(db.select(db.func.count(PaperBatch.id))) == 0


def test_batch_outside_scope(make_consultation, people):
    with pytest.raises(OutOfScope):
        paper.create_batch(make_consultation(), "14039", 5, actor=people.tlajo)


def test_questionnaire_pdf_has_serials_qr_and_translated_questions(make_consultation, people):
    consultation = make_consultation()
    batch = paper.create_batch(consultation, "14039", 3, actor=people.gdl1)
    spanish = text_of(printing.questionnaire_pdf(consultation, "es", batch.serials()))
    for serial in batch.serials():
        assert serial in spanish
    assert "¿Cómo te enteraste de la consulta?" in spanish
    assert "Marca todas las que apliquen." in spanish
    assert "Inseguridad" in spanish
    assert "Guadalajara" in spanish
    english = text_of(printing.questionnaire_pdf(consultation, "en", batch.serials()[:1]))
    assert "How did you hear about the consultation?" in english
    assert "Mark all that apply." in english
    assert "14039-000001" in english
    reader = PdfReader(io.BytesIO(printing.questionnaire_pdf(consultation, "es",
                                                             batch.serials())))
    assert len(reader.pages) == 3
    assert reader.pages[0].images  # the QR code


def _qr_payload_matches(image, serial: str) -> bool:
    """Tell whether a page's QR image is the one segno draws for this serial (no decoder here)."""
    import segno
    from PIL import Image, ImageChops

    expected = io.BytesIO()
    segno.make(serial, error="m").save(expected, kind="png", scale=4, border=1)
    expected.seek(0)
    drawn = Image.open(expected).convert("L")
    found = image.convert("L")
    return found.size == drawn.size and ImageChops.difference(found, drawn).getbbox() is None


def test_each_sheet_shows_its_own_serial_only(make_consultation, people):
    """Issue 18, 7: the footer of sheet 000001 showed 14124-000002, the next sheet's serial."""
    consultation = make_consultation()
    batch = paper.create_batch(consultation, "14124", 4, actor=people.boss)
    serials = batch.serials()
    reader = PdfReader(io.BytesIO(printing.questionnaire_pdf(consultation, "es", serials)))
    assert len(reader.pages) == len(serials)
    pattern = re.compile(r"\d{5}-\d{6}")
    for page, serial in zip(reader.pages, serials, strict=True):
        shown = pattern.findall(page.extract_text())
        # Once in the header, once in the footer: always its own serial, never another one.
        assert shown == [serial, serial], (serial, shown)
        assert len(page.images) == 1
        assert _qr_payload_matches(page.images[0].image, serial)
        assert not any(_qr_payload_matches(page.images[0].image, other)
                       for other in serials if other != serial)


def test_blank_questionnaire(make_consultation):
    consultation = make_consultation()
    data = printing.questionnaire_pdf(consultation, "es")
    text = text_of(data)
    assert "Folio:" in text
    assert "14039-" not in text
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_unprintable_characters_do_not_break_printing(make_consultation):
    consultation = make_consultation(title={"es": "Consulta “2016” — ✓", "en": "Survey"})
    assert "Consulta \"2016\" - ?" in text_of(printing.questionnaire_pdf(consultation, "es"))


def test_tally_sheet(make_consultation, people):
    consultation = make_consultation()
    batch = paper.create_batch(consultation, "14039", 4, actor=people.gdl1)
    text = text_of(printing.tally_pdf(consultation, batch, "es"))
    assert f"Lote {batch.id}: 4 cuestionarios para 14039 Guadalajara" in text
    assert "gdl1@example.org" in text
    for serial in batch.serials():
        assert serial in text


def test_batches_page_creates_and_prints(client, login_as, people, make_consultation):
    consultation = make_consultation()
    login_as(people.gdl1)
    url = f"/entry/{consultation.slug}/batches"
    page = client.get(url)
    assert page.status_code == 200
    assert '<option value="14039"' in page.text
    assert '<option value="14097"' not in page.text  # only the account's municipalities
    page = client.post(url, data={"municipality": "14039", "count": "200"},
                       follow_redirects=True)
    assert "Lote 1 creado: 200 cuestionarios, folios 14039-000001 a 14039-000200." in page.text
    pdf = client.get(f"/entry/{consultation.slug}/batches/1/forms.pdf?lang=es")
    assert pdf.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 200
    tally = client.get(f"/entry/{consultation.slug}/batches/1/tally.pdf")
    assert "14039-000200" in text_of(tally.data)
    blank = client.get(f"/entry/{consultation.slug}/questionnaire.pdf?lang=en")
    assert "Serial:" in text_of(blank.data)


@pytest.mark.parametrize(("form", "message"), [
    ({"municipality": "14039", "count": "many"}, "Escribe cuántos cuestionarios imprimir"),
    ({"municipality": "14039", "count": "0"}, "Un lote tiene de 1 a 5000 cuestionarios."),
])
def test_batches_page_bad_input(client, login_as, people, make_consultation, form, message):
    consultation = make_consultation()
    login_as(people.gdl1)
    page = client.post(f"/entry/{consultation.slug}/batches", data=form)
    assert message in page.text
    assert db.session.scalar(db.select(db.func.count(PaperBatch.id))) == 0


def test_batch_of_another_municipality_is_403(client, login_as, people, make_consultation):
    consultation = make_consultation()
    batch = paper.create_batch(consultation, "14039", 2, actor=people.boss)
    login_as(people.tlajo)
    assert client.post(f"/entry/{consultation.slug}/batches",
                       data={"municipality": "14039", "count": "5"}).status_code == 403
    assert client.get(f"/entry/{consultation.slug}/batches/{batch.id}/forms.pdf"
                      ).status_code == 403
    assert client.get(f"/entry/{consultation.slug}/batches/{batch.id}/tally.pdf"
                      ).status_code == 403
    assert client.get(f"/entry/{consultation.slug}/batches/999/tally.pdf").status_code == 404
    assert db.session.scalar(db.select(db.func.count(PaperBatch.id))) == 1


def test_online_only_consultation_has_no_paper_pages(client, login_as, people,
                                                     make_consultation):
    consultation = make_consultation(channels=["online"])
    login_as(people.boss)
    assert client.get(f"/entry/{consultation.slug}/batches").status_code == 404
