"""Fixtures of the follow-up tests: a small approved plan, its agency's implementer, monitors,
and sample files of every accepted kind (and some that must be refused)."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.extensions import db
from tests.plans import conftest as plans_conftest
from tests.plans.conftest import small_plan

demo_consultation = plans_conftest.demo_consultation  # the fixture, shared

AGENCY = "Secretaría de Prueba"
OTHER_AGENCY = "Otra Secretaría"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 40
CSV = b"colonia,vigilantes\nCentro,12\nOblatos,8\n"


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


XLSX = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"})
ODS = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
              "content.xml": b"<office:document-content/>"})
ODT = zipped({"mimetype": b"application/vnd.oasis.opendocument.text",
              "content.xml": b"<office:document-content/>"})
PLAIN_ZIP = zipped({"readme.txt": b"hello"})


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"EVIDENCE_FOLDER": str(tmp_path / "evidence")}


@pytest.fixture
def plan(demo_consultation):
    """The small test plan: commitment 1 of AGENCY (milestones from 2017-01 and 2017-04), and a
    commitment 2 of OTHER_AGENCY."""
    from app.services.plans import load_plan

    data = small_plan()
    other = {**data["commitments"][0], "number": 2, "lead_agency": OTHER_AGENCY,
             "title": {"es": "Otro compromiso", "en": "Another commitment"}}
    data["commitments"].append(other)
    return load_plan(data).plan


@pytest.fixture
def people(make_user):
    return {
        "implementer": make_user("implementer", email="enlace@example.org", agencies=[AGENCY]),
        "other": make_user("implementer", email="otra@example.org", agencies=[OTHER_AGENCY]),
        "monitor": make_user("monitor", email="monitor1@example.org"),
        "monitor2": make_user("monitor", email="monitor2@example.org"),
        "coordinator": make_user("coordinator", email="coord@example.org"),
    }


def milestone(plan, commitment: int = 1, number: int = 1):
    db.session.refresh(plan)
    return plan.commitment_by_number()[commitment].milestone_by_number()[number]


@pytest.fixture
def client(app):
    """A client asking for English pages (the messages the tests read)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture(autouse=True)
def english(app):
    """Service messages outside a request in English too."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield
