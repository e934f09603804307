"""Command line: flask --app wsgi geo …, consultations …, demo …, users …"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.cli_support import command, consultation_or_fail
from app.extensions import db
from app.models import ROLES, Municipality, Region
from app.services import consultations as consultation_service
from app.services import geography
from app.util import local_today

geo_cli = AppGroup("geo", help="Jalisco's regions and municipalities.")
consultations_cli = AppGroup("consultations", help="Consultation definitions.")
demo_cli = AppGroup("demo", help="Demo data.")
users_cli = AppGroup("users", help="Staff accounts.")


@geo_cli.command("load")
@click.option("--file", "path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Another data file with the same columns (default: app/data).")
@command
def geo_load(path: Path | None) -> None:
    """Load the 12 regions and 125 municipalities (idempotent)."""
    result = geography.load_geography(path or geography.DATA_FILE)
    click.echo(_("Geography loaded: %(regions)d region(s) and %(added)d municipality(ies) "
                 "added, %(updated)d updated.", regions=result.regions_added,
                 added=result.municipalities_added, updated=result.municipalities_updated))


@geo_cli.command("show")
@click.argument("code", required=False)
@command
def geo_show(code: str | None) -> None:
    """Print the regions with their municipalities, or one municipality by INEGI CODE."""
    if code is not None:
        municipality = db.session.get(Municipality, code)
        if municipality is None:
            raise click.ClickException(_("\"%(code)s\" is not the INEGI code of a municipality "
                                         "of Jalisco (14001 to 14125).", code=code))
        click.echo(f"{municipality.code} {municipality.name}\t{municipality.region.label}\t"
                   f"{municipality.population:,}\t{'AMG' if municipality.metro else ''}".rstrip())
        return
    regions = geography.municipalities_by_region()
    if not regions:
        raise click.ClickException(_("No geography loaded: run \"flask --app wsgi geo load\"."))
    total = 0
    for region in regions:
        population = sum(m.population for m in region.municipalities)
        total += population
        click.echo(f"{region.number:>2} {region.name} ({len(region.municipalities)}, "
                   f"{population:,})")
        for m in region.municipalities:
            metro = " AMG" if m.metro else ""
            click.echo(f"     {m.code} {m.name} {m.population:,}{metro}")
    count = db.session.scalar(db.select(db.func.count(Municipality.code)))
    click.echo(_("%(regions)d regions, %(count)d municipalities, population 2020: %(total)s",
                 regions=len(regions), count=count, total=f"{total:,}"))


@consultations_cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command
def consultations_load(file: Path) -> None:
    """Create or update a consultation from a JSON definition FILE."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(_("Cannot read %(file)s: %(reason)s", file=str(file),
                                     reason=str(error))) from None
    data = consultation_service.parse_json(text)
    consultation, created = consultation_service.load_definition(data)
    message = _("Consultation \"%(slug)s\" created.") if created else _(
        "Consultation \"%(slug)s\" updated.")
    click.echo(message % {"slug": consultation.slug})


@consultations_cli.command("export")
@click.argument("slug")
@command
def consultations_export(slug: str) -> None:
    """Print a consultation's definition as JSON."""
    consultation = consultation_or_fail(slug)
    click.echo(json.dumps(consultation_service.export_definition(consultation),
                          ensure_ascii=False, indent=2))


@consultations_cli.command("list")
@command
def consultations_list() -> None:
    """List consultations with their status, dates and responses."""
    today = local_today()
    rows = consultation_service.listed(include_drafts=True)
    if not rows:
        click.echo(_("No consultations yet."))
    for c in rows:
        click.echo(f"{c.slug}\t{c.status(today)}\t{c.opens_on}..{c.effective_closes_on}\t"
                   f"{consultation_service.response_count(c)}")


@demo_cli.command("load")
@click.option("--responses", default=400, show_default=True, help="Responses of the closed demo.")
@command
def demo_load(responses: int) -> None:
    """Load the demo consultations and their synthetic responses (idempotent)."""
    from app.services.demo import load_demo

    if not db.session.scalar(db.select(db.func.count(Region.number))):
        raise click.ClickException(_("No geography loaded: run \"flask --app wsgi geo load\"."))
    added = load_demo(responses=responses)
    for slug, count in added.items():
        click.echo(_("%(slug)s: %(count)d demo response(s) added.", slug=slug, count=count))


@users_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              help=f"One of {', '.join(ROLES)}; repeat for several.")
@click.option("--agency", "agencies", multiple=True,
              help="A lead agency an implementer reports for; repeat for several.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@command
def users_create(email: str, roles: tuple[str, ...], agencies: tuple[str, ...],
                 generate_password: bool) -> None:
    """Create a staff account; the password is asked twice unless generated."""
    from app.services import accounts

    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise click.ClickException(_("Unknown role %(role)s; roles are: %(roles)s",
                                     role=", ".join(unknown), roles=", ".join(ROLES)))
    if generate_password:
        password = accounts.generate_password()
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    problems = accounts.agency_problems(set(roles), accounts.clean_agencies(agencies))
    if problems:
        raise click.ClickException(" ".join(problems))
    user = accounts.create_user(email, password, set(roles), actor=None,
                                agencies=set(agencies))
    click.echo(_("Account %(email)s created with role(s) %(roles)s.", email=user.email,
                 roles=", ".join(sorted(user.roles))))
    if generate_password:
        click.echo(_("Password (shown only once): %(password)s", password=password))


@users_cli.command("list")
@command
def users_list() -> None:
    """List accounts: email, roles, scope, two-factor and status."""
    from app.services import accounts

    users = accounts.listed_users()
    if not users:
        click.echo(_("No accounts yet."))
    for user in users:
        codes = user.municipality_codes()
        scope = "*" if codes is None else ",".join(sorted(codes)) or "-"
        status = _("active") if user.active else _("deactivated")
        two_factor = "totp" if user.totp_secret else "-"
        click.echo(f"{user.email}\t{','.join(sorted(user.roles))}\t{scope}\t{two_factor}\t"
                   f"{status}")


def _user_by_email(email: str):
    from app.services import accounts

    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(_("No account with email %(email)s.", email=email))
    return user


@users_cli.command("deactivate")
@click.argument("email")
@command
def users_deactivate(email: str) -> None:
    """Deactivate an account (kept, never deleted); its sessions end at once."""
    from app.services import accounts

    user = accounts.set_active(_user_by_email(email).id, False, actor=None)
    click.echo(_("Account %(email)s deactivated; its sessions have ended.", email=user.email))


@users_cli.command("reset-2fa")
@click.argument("email")
@command
def users_reset_two_factor(email: str) -> None:
    """Remove an account's two-factor secret (a lost phone); it enrols again at sign-in."""
    from app.services import accounts

    user = accounts.disable_totp(_user_by_email(email).id, actor=None)
    click.echo(_("Two-factor sign-in of %(email)s removed: it enrols again at its next "
                 "sign-in.", email=user.email))


def init_app(app: Flask) -> None:
    from app.entry.cli import responses_cli

    for group in (geo_cli, consultations_cli, demo_cli, users_cli, responses_cli):
        app.cli.add_command(group)
    from app.cli_analysis import analysis_cli, results_cli

    app.cli.add_command(analysis_cli)
    app.cli.add_command(results_cli)
    from app.cli_plans import plans_cli

    app.cli.add_command(plans_cli)



