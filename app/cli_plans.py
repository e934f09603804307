"""flask --app wsgi plans load|export|list|board|approve: action plans from the shell."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.cli_support import command
from app.services import plans as plan_service
from app.services.plan_board import board, board_table
from app.util import local_today

plans_cli = AppGroup("plans", help="Action plans and their public follow-up.")


def plan_or_fail(slug: str):
    """Return the plan with this slug, or stop the command with a clear message."""
    plan = plan_service.get_by_slug(slug)
    if plan is None:
        raise click.ClickException(_("No action plan with slug \"%(slug)s\".", slug=slug))
    return plan


@plans_cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command
def plans_load(file: Path) -> None:
    """Create or update an action plan from a JSON FILE (refused whole if anything is wrong)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(_("Cannot read %(file)s: %(reason)s", file=str(file),
                                     reason=str(error))) from None
    data = plan_service.parse_json(text)
    result = plan_service.load_plan(data)
    for warning in result.warnings:
        click.echo(_("Warning: %(warning)s", warning=warning), err=True)
    message = _("Action plan \"%(slug)s\" created.") if result.created else _(
        "Action plan \"%(slug)s\" updated.")
    click.echo(message % {"slug": result.plan.slug})


@plans_cli.command("export")
@click.argument("slug")
@command
def plans_export(slug: str) -> None:
    """Print an action plan as the JSON file that loads it back."""
    click.echo(json.dumps(plan_service.export_plan(plan_or_fail(slug)), ensure_ascii=False,
                          indent=2))


@plans_cli.command("list")
@command
def plans_list() -> None:
    """List action plans: slug, status, period and commitments."""
    rows = plan_service.listed()
    if not rows:
        click.echo(_("No action plans yet."))
    for plan in rows:
        click.echo(f"{plan.slug}\t{plan.status}\t{plan.starts_on}..{plan.ends_on}\t"
                   f"{plan_service.commitment_count(plan)}")


@plans_cli.command("approve")
@click.argument("slug")
@command
def plans_approve(slug: str) -> None:
    """Approve a plan: its commitments' origin in the consultation's ranking is frozen."""
    plan = plan_service.approve_plan(plan_or_fail(slug))
    click.echo(_("Action plan \"%(slug)s\" approved.", slug=plan.slug))


def _day(value: str | None) -> date:
    if value is None:
        return local_today()
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise click.ClickException(_("--as-of must be a date written YYYY-MM-DD, not "
                                     "\"%(value)s\".", value=value)) from None


@plans_cli.command("board")
@click.argument("slug")
@click.option("--as-of", "as_of", help="YYYY-MM-DD (default: today in Mexico City)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--lang", type=click.Choice(["es", "en"]), help="language of titles")
@command
def plans_board(slug: str, as_of: str | None, fmt: str, lang: str | None) -> None:
    """Print the public board of a plan: each commitment's light, progress and origin."""
    from app.cli_support import cli_locale

    plan = plan_or_fail(slug)
    lang = lang or cli_locale()[:2]
    payload = board(plan, _day(as_of), lang)
    if fmt == "json":
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(board_table(payload))


@plans_cli.command("remind")
@click.option("--as-of", "as_of", help="YYYY-MM-DD (default: today in Mexico City)")
@command
def plans_remind(as_of: str | None) -> None:
    """E-mail milestones due soon, overdue milestones and evidence to review (once each)."""
    from app.services import reminders

    counts = reminders.send(_day(as_of))
    click.echo(_("%(messages)d message(s) sent with %(reminders)d new reminder(s).",
                 messages=counts["messages"], reminders=counts["reminders"]))
    if counts["failed"]:
        raise click.ClickException("\n".join(
            [_("%(num)d message(s) could not be sent; they will be tried again on the next "
               "run:", num=len(counts["failed"]))] + [f"  - {line}" for line in counts["failed"]]))
