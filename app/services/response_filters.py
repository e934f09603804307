"""Which accepted responses a count covers: the filters of the API, dashboard and maps.

Filters are parsed from query parameters (a bad one raises FilterError naming it) and turned
into one SQL WHERE over the responses (_filtered), shared by every count table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Select, select

from app.extensions import db
from app.models import (
    Answer,
    Consultation,
    Municipality,
    Response,
)


@dataclass(frozen=True)
class Filters:
    """Which accepted responses to count; every field narrows the set, None means all."""

    channel: str | None = None
    region: int | None = None
    municipality: str | None = None
    metro: bool | None = None
    # {question_code: option_code} for single-choice questions.
    options: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return the filters that are set, in the API's parameter names."""
        out: dict = {}
        for key in ("channel", "region", "municipality"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.metro is not None:
            out["metro"] = int(self.metro)
        out.update(self.options)
        return out


FILTER_PARAMETERS = ("channel", "region", "municipality", "metro")


class FilterError(ValueError):
    """A filter parameter is not valid; parameter names it, message says why (translated)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def parse_filters(consultation: Consultation, args, ignore: tuple[str, ...] = ()) -> Filters:
    """Read filters from request-style arguments; raise FilterError naming a bad parameter.

    Parameters other than the filters and the question codes are refused unless listed in
    `ignore` (e.g. weight, format), so a typo never silently returns unfiltered numbers.
    """
    values: dict = {}
    channel = args.get("channel")
    if channel is not None:
        if channel not in ("online", "paper"):
            raise FilterError("channel", _("channel must be online or paper, not \"%(value)s\"",
                                           value=channel))
        values["channel"] = channel
    region = args.get("region")
    if region is not None:
        if not region.isdigit() or not 1 <= int(region) <= 12:
            raise FilterError("region", _("region must be a number from 1 to 12, not "
                                          "\"%(value)s\"", value=region))
        values["region"] = int(region)
    municipality = args.get("municipality")
    if municipality is not None:
        if db.session.get(Municipality, municipality) is None:
            raise FilterError("municipality", _("municipality \"%(value)s\" is not an INEGI "
                                                "code of Jalisco (e.g. 14039)", value=municipality))
        values["municipality"] = municipality
    metro = args.get("metro")
    if metro is not None:
        if metro not in ("0", "1"):
            raise FilterError("metro", _("metro must be 1 or 0, not \"%(value)s\"", value=metro))
        values["metro"] = metro == "1"
    options = {}
    questions = consultation.question_by_code()
    for key in args:
        if key in FILTER_PARAMETERS or key in ignore:
            continue
        question = questions.get(key)
        if question is None or question.type != "single":
            raise FilterError(key, _("\"%(parameter)s\" is not a filter of this consultation",
                                     parameter=key))
        value = args.get(key)
        if value not in question.option_by_code():
            raise FilterError(key, _("\"%(value)s\" is not an option of %(parameter)s",
                                     value=value, parameter=key))
        options[key] = value
    return Filters(options=options, **values)


def _filtered(
    consultation: Consultation, filters: Filters, *columns, geography: bool = False,
    by_answers: bool = False,
) -> Select:
    """Return SELECT columns FROM response WHERE accepted and the filters hold.

    The response is joined to its municipality when a filter or (geography=True) a column
    needs it. by_answers (SQLite, a query joined to one question's answers): the response's
    indexes are kept out of the plan, so that SQLite reads that question's answers from their
    index and each response by its id, in order (1.5 s at 1,000,000), whatever its statistics
    say; with them, it may walk every response and look its answers up (3.5-5 s).
    """
    consultation_id, state = Response.consultation_id, Response.state
    if by_answers:
        consultation_id, state = consultation_id + 0, state + ""
    query = select(*columns).select_from(Response).where(
        consultation_id == consultation.id, state == "accepted"
    )
    if geography or filters.region is not None or filters.metro is not None:
        query = query.join(Municipality, Municipality.code == Response.municipality_code)
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if filters.municipality:
        query = query.where(Response.municipality_code == filters.municipality)
    if filters.region is not None:
        query = query.where(Municipality.region_number == filters.region)
    if filters.metro is not None:
        query = query.where(Municipality.metro.is_(filters.metro))
    if filters.options:
        questions = consultation.question_by_code()
        for code, option_code in filters.options.items():
            question = questions[code]
            option = question.option_by_code()[option_code]
            query = query.where(
                select(Answer.id).where(
                    Answer.response_id == Response.id,
                    Answer.question_id == question.id,
                    Answer.option_id == option.id,
                ).correlate(Response).exists()
            )
    return query


def filtered_response_ids(consultation: Consultation, filters: Filters) -> Select:
    """Return a SELECT of the ids of the accepted responses that pass the filters."""
    return _filtered(consultation, filters, Response.id)
