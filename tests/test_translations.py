"""The es and en catalogs are complete and match the messages in the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("es", "en")


def catalog(lang: str):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_has_no_empty_or_fuzzy_entry(lang):
    problems = []
    for message in catalog(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"empty: {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_compiles_without_errors(lang):
    # pybabel compile reports these (e.g. "placeholders are incompatible") and make stops.
    errors = [f"{message.id!r}: {error}" for message, problems in catalog(lang).check()
              for error in problems]
    assert not errors, "\n".join(errors)


def test_catalogs_contain_every_message_of_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "--no-location",
         "--omit-header", "-o", str(pot), "app"],
        cwd=ROOT, check=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for lang in LANGS:
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(lang) if m.id}
        missing = sorted(wanted - have)
        assert not missing, f"{lang} lacks (run make i18n-update and translate): {missing}"


def test_spanish_is_actually_translated():
    # A catalog copied from English would pass the emptiness check.
    es = catalog("es")
    assert es.get("Consultations").string == "Consultas"
    same = [m.id for m in es if m.id and m.string == m.id and len(str(m.id)) > 12]
    assert len(same) < 10, same
