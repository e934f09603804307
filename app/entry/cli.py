"""Command line: flask --app wsgi responses import SLUG FILE, responses void-batch ID."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.cli_support import command, consultation_or_fail
from app.services import imports

responses_cli = AppGroup("responses", help="Responses: import spreadsheets, void batches.")


@responses_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command
def responses_import(slug: str, file: Path) -> None:
    """Import the responses of a CSV or XLSX FILE into consultation SLUG (all rows or none)."""
    consultation = consultation_or_fail(slug)
    imports.file_kind(file.name)
    try:
        stream = file.open("rb")
    except OSError as error:
        raise click.ClickException(_("Cannot read %(file)s: %(reason)s", file=str(file),
                                     reason=str(error))) from None
    bars: dict[str, click.progressbar] = {}
    labels = {"check": _("Checking"), "store": _("Storing")}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in bars:
            for bar in bars.values():
                bar.render_finish()
            bars[phase] = click.progressbar(length=max(total, 1), label=labels[phase],
                                            file=sys.stderr)
        bar = bars[phase]
        bar.update(max(0, min(done, bar.length) - bar.pos))

    with stream:
        try:
            result = imports.import_file(consultation, stream, file.name, actor=None,
                                         progress=progress)
        finally:
            for bar in bars.values():
                bar.render_finish()
    click.echo(_("Imported %(rows)d response(s) from %(file)s as batch %(id)d.",
                 rows=result.row_count, file=file.name, id=result.batch.id))
    for notice in result.notices:
        click.echo(_("  notice: %(notice)s", notice=str(notice)))


@responses_cli.command("template")
@click.argument("slug")
@click.option("--notes", is_flag=True,
              help="Print what each column accepts (codes and labels) instead of the template.")
@command
def responses_template(slug: str, notes: bool) -> None:
    """Print the CSV import template of consultation SLUG (importable as it is)."""
    consultation = consultation_or_fail(slug)
    if notes:
        click.echo(imports.template_notes_csv(consultation), nl=False)
    else:
        click.echo(imports.template_csv(consultation), nl=False)
