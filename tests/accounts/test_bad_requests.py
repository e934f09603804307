"""Hostile input gets a clear 400 (or a safe redirect), never a 500."""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.models import Consultation
from tests.accounts.conftest import SECRET, sign_in


@pytest.mark.parametrize("depth", [100_000, 40])
def test_a_deeply_nested_definition_file_is_a_clear_400(app, make_admin, depth):
    """json.loads raised RecursionError on 100,000 brackets: an unhandled 500."""
    admin = make_admin()
    client = app.test_client()
    assert sign_in(client, admin.email, secret=SECRET).status_code == 302
    nested = '{"slug": "x", "title": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/admin/import?lang=en",
                           data={"file": (io.BytesIO(nested.encode()), "consulta.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "nested more than 32 levels deep" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Consultation.id))) == 0


def test_the_command_line_names_a_nested_file_too(app, runner, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = runner.invoke(args=["consultations", "load", str(path)], env={"CONSULTA_LANG": "en"})
    assert result.exit_code != 0
    assert "nested more than 32 levels deep" in result.output
