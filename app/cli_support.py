"""What every command shares: the shell's language, and domain errors turned into messages.

Command modules (app/cli.py, app/cli_analysis.py, app/entry/cli.py) import from here, never
from each other, so registering them in app/cli.py makes no import circle.
"""

from __future__ import annotations

import functools

import click
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.services import consultations as consultation_service
from app.services.errors import DomainError


def cli_locale() -> str:
    """Speak the language of the shell: English when LANG says so, Spanish otherwise."""
    import os

    lang = os.environ.get("CONSULTA_LANG") or os.environ.get("LANG", "")
    return "en" if lang.lower().startswith("en") else "es_MX"


def command(func):
    """Run a command in the shell's language, turning domain and database errors into messages."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with force_locale(cli_locale()):
            try:
                return func(*args, **kwargs)
            except DomainError as error:
                db.session.rollback()
                lines = [error.message, *(f"  - {p}" for p in error.problems)]
                raise click.ClickException("\n".join(lines)) from None
            except OperationalError as error:
                db.session.rollback()
                url = db.engine.url.render_as_string(hide_password=True)
                raise click.ClickException(
                    _("Cannot use the database at %(url)s: %(reason)s. Check DATABASE_URL and "
                      "that the server is running, then run \"flask --app wsgi db upgrade\".",
                      url=url, reason=str(error.orig).strip().splitlines()[0])
                ) from None

    return wrapper


def consultation_or_fail(slug: str):
    """Return the consultation with this slug, or stop the command with a clear message."""
    consultation = consultation_service.get_by_slug(slug)
    if consultation is None:
        raise click.ClickException(_("No consultation with slug \"%(slug)s\".", slug=slug))
    return consultation
