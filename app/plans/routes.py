"""Public pages of an action plan: the list, the board, a commitment, the calendar feed."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from app.auth.decorators import public
from app.i18n import language
from app.plans import bp
from app.services import plan_pages
from app.services import plans as plan_service
from app.services.plan_board import board
from app.services.plan_opendata import calendar
from app.util import local_today


def plan_or_404(slug: str):
    plan = plan_service.get_by_slug(slug)
    if plan is None:
        abort(404, description=_("No action plan with slug \"%(slug)s\".", slug=slug))
    return plan


def requested_language() -> str:
    """Return ?lang=es|en, else the page rule (Accept-Language, else Spanish); 400 if bad."""
    requested = request.args.get("lang")
    if requested is None:
        return language()
    code = requested.split("_")[0].split("-")[0].lower()
    if code not in ("es", "en"):
        abort(400, description=_("lang must be es or en, not \"%(value)s\"", value=requested))
    return code


@bp.route("/<slug>/calendar.ics")
@public
def calendar_feed(slug: str):
    plan = plan_or_404(slug)
    body = calendar(plan, requested_language())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'inline; filename="{slug}.ics"',
                             "Vary": "Accept-Language"})


def _as_of_or_message() -> tuple[date, str | None, str]:
    """Return (day, message, typed): today and a translated message when ?as_of is not a day."""
    typed = (request.args.get("as_of") or "").strip()
    try:
        day = plan_pages.parse_day(typed)
    except ValueError:
        return local_today(), _("\"%(value)s\" is not a date: write it as YYYY-MM-DD (for "
                                "example 2017-06-30). The board below is as of today.",
                                value=typed), typed
    return (day or local_today()), None, typed


@bp.route("/")
@public
def index():
    today = local_today()
    lang = language()
    plans = [(plan, board(plan, today, lang)) for plan in plan_service.listed()]
    return render_template("plans/index.html", plans=plans, today=today,
                           text_in=plan_pages.text_in, lang=lang)


@bp.route("/<slug>")
@public
def board_page(slug: str):
    plan = plan_or_404(slug)
    lang = language()
    as_of, message, typed = _as_of_or_message()
    filters = {key: request.args.get(key, "") for key in plan_pages.FILTERS}
    view = plan_pages.board_view(plan, as_of, lang, filters)
    return render_template("plans/board.html", plan=plan, view=view, as_of=as_of,
                           as_of_typed=typed if message else as_of.isoformat(),
                           as_of_message=message, today=local_today(),
                           text_in=plan_pages.text_in, lang=lang)


@bp.route("/<slug>/<int:number>")
@public
def commitment_page(slug: str, number: int):
    plan = plan_or_404(slug)
    commitment = plan_pages.commitment_of(plan, number)
    if commitment is None:
        abort(404, description=_("The plan has no commitment number %(number)s.",
                                 number=number))
    lang = language()
    as_of, message, typed = _as_of_or_message()
    view = plan_pages.commitment_view(plan, commitment, as_of, lang)
    return render_template("plans/commitment.html", plan=plan, commitment=commitment,
                           view=view, as_of=as_of, as_of_message=message,
                           as_of_typed=typed if message else as_of.isoformat(),
                           today=local_today(), text_in=plan_pages.text_in, lang=lang)
