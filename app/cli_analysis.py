"""flask --app wsgi analysis ranking|participation SLUG: the API's results, for scripts."""

from __future__ import annotations

import io
import json

import click
import pandas as pd
from flask.cli import AppGroup
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from analysis.export import safe_frame
from app.cli_support import command, consultation_or_fail
from app.i18n import language
from app.services import datasets, results
from app.services.datasets import FilterError, parse_filters
from app.util import local_today

analysis_cli = AppGroup("analysis", help="Rankings and participation (the API's JSON).")
results_cli = AppGroup("results", help="Stored results of closed consultations.")


def filter_options(func):
    """Add the API's filters as options."""
    options = [
        click.option("--channel", help="online or paper"),
        click.option("--region", help="region number, 1-12"),
        click.option("--municipality", help="INEGI code, e.g. 14039"),
        click.option("--metro", help="1: metropolitan zone, 0: the rest"),
        click.option("--option", "options", multiple=True, metavar="QUESTION=OPTION",
                     help="a single-choice answer, e.g. sector=private (repeatable)"),
        click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                     default="table", show_default=True),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _resolve(slug: str, channel, region, municipality, metro, options):
    consultation = consultation_or_fail(slug)
    args = MultiDict()
    for key, value in (("channel", channel), ("region", region),
                       ("municipality", municipality), ("metro", metro)):
        if value is not None:
            args[key] = value
    for item in options:
        question, sep, option = item.partition("=")
        if not sep or not question or not option:
            raise click.ClickException(_("--option must be QUESTION=OPTION, not \"%(value)s\"",
                                         value=item))
        args[question] = option
    try:
        return consultation, parse_filters(consultation, args)
    except FilterError as error:
        raise click.ClickException(f"--{error.parameter}: {error.message}") from None


def _dump(data: dict) -> str:
    return json.dumps(results.jsonable(data), ensure_ascii=False, indent=2, sort_keys=True)


def _percent(value) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


@analysis_cli.command("ranking")
@click.argument("slug")
@filter_options
@click.option("--weight", default="none", show_default=True, help="none or population")
@command
def ranking(slug, channel, region, municipality, metro, options, fmt, weight) -> None:
    """Print the theme ranking of SLUG (the same JSON as /api/v1/…/ranking)."""
    consultation, filters = _resolve(slug, channel, region, municipality, metro, options)
    try:
        weight = results.check_weight(weight)
    except results.BadParameter as error:
        raise click.ClickException(f"--weight: {error.message}") from None
    data = results.ranking(consultation, filters, weight, language())
    if fmt == "json":
        click.echo(_dump(data))
        return
    frame = pd.DataFrame([
        {"rank": t["rank"], "code": t["code"], "name": t["name"], "votes": t["votes"],
         "vote_share": t["vote_share"], "respondent_share": t["respondent_share"],
         "borda": t["borda"], "ci95_low": t["ci95"][0], "ci95_high": t["ci95"][1]}
        for t in data["themes"]
    ])
    if fmt == "csv":
        buffer = io.StringIO()
        safe_frame(frame).to_csv(buffer, index=False)
        click.echo(buffer.getvalue(), nl=False)
        return
    for column in ("vote_share", "respondent_share", "ci95_low", "ci95_high"):
        frame[column] = frame[column].map(_percent)
    click.echo(frame.to_string(index=False))
    summary = data["concentration"]
    click.echo(_("Respondents: %(respondents)d; weighting: %(weighting)s; themes for 80%% of "
                 "the vote: %(needed)s", respondents=data["respondents"],
                 weighting=data["weighting"], needed=summary["themes_for_80pct"] or "-"))


@analysis_cli.command("participation")
@click.argument("slug")
@filter_options
@command
def participation(slug, channel, region, municipality, metro, options, fmt) -> None:
    """Print who took part in SLUG (the same JSON as /api/v1/…/participation)."""
    consultation, filters = _resolve(slug, channel, region, municipality, metro, options)
    data = results.participation(consultation, filters, language())
    if fmt == "json":
        click.echo(_dump(data))
        return
    frame = pd.DataFrame(data["by_region"])
    if fmt == "csv":
        buffer = io.StringIO()
        safe_frame(frame).to_csv(buffer, index=False)
        click.echo(buffer.getvalue(), nl=False)
        return
    frame["share"] = frame["share"].map(_percent)
    frame["per_10k"] = frame["per_10k"].map(lambda v: f"{v:.2f}")
    click.echo(frame.to_string(index=False))
    click.echo(_("Respondents: %(respondents)d; online %(online)d, paper %(paper)d; outside the "
                 "metropolitan zone: %(outside)s; municipalities: %(municipalities)d",
                 respondents=data["respondents"], online=data["by_channel"]["online"],
                 paper=data["by_channel"]["paper"],
                 outside=_percent(data["metro"]["outside_share"]) or "-",
                 municipalities=data["municipalities_participating"]))


@results_cli.command("snapshot")
@click.argument("slug")
@click.option("--queue", "queued", is_flag=True,
              help="Run it on the job worker (see README) instead of in this command.")
@click.option("--wait", is_flag=True, help="With --queue: wait for the job and report it.")
@command
def snapshot(slug, queued, wait) -> None:
    """Compute and store the count tables of closed consultation SLUG for every new process."""
    consultation = consultation_or_fail(slug)
    if consultation.status(local_today()) != "closed":
        raise click.ClickException(_(
            "\"%(slug)s\" is not closed: only a closed consultation's results are stored "
            "(an open one changes with every response).", slug=slug))
    if queued:
        from app import tasks
        from app.services import jobs

        job = tasks.enqueue(jobs.start_snapshot(consultation, actor=None))
        if not wait:
            click.echo(_("Queued as job %(id)d.", id=job.id))
            return
        job = jobs.wait(job.id)
        if job.state != "succeeded":
            raise click.ClickException(job.error or job.state)
        stored = job.result["tables"]
    else:
        stored = datasets.snapshot_results(consultation)
    click.echo(_("Stored %(count)d count tables of \"%(slug)s\"; they are used until a "
                 "response is added, imported or voided.", count=stored, slug=slug))
