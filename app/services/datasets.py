"""Turn accepted responses into small count tables with SQL; analysis/ computes from these.

Nothing here returns one row per response: every function groups and counts in the database
(the same SQLAlchemy Core on SQLite and PostgreSQL), so a million responses cost one aggregate
query each, not a million Python objects.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import OrderedDict
from dataclasses import dataclass, field

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, delete, event, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    Answer,
    Consultation,
    Municipality,
    Region,
    Response,
    ResponseTheme,
    ResultSnapshot,
    Theme,
)
from app.models.response import pattern_theme_ids
from app.util import local_today, utcnow


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


def respondent_count(consultation: Consultation, filters: Filters = Filters()) -> int:
    """Return the number of accepted responses passing the filters (from the cache if there)."""
    rows = _available_base_patterns(consultation, filters)
    if rows is not None:
        return int(rows["count"].sum())
    return db.session.scalar(_filtered(consultation, filters, func.count(Response.id)))


def theme_position_counts(consultation: Consultation, filters: Filters = Filters()) -> pd.DataFrame:
    """Return columns theme, position, count: how often each theme was chosen at each position."""
    # Straight from the per-municipality table: one single-column group-by per position (the
    # region × pattern table costs a four-column group-by per filter, which the dashboard's
    # channel and metropolitan comparison groups do not need).
    return _position_counts(consultation, _base_patterns(consultation, filters))


def _position_counts(consultation: Consultation, patterns: pd.DataFrame) -> pd.DataFrame:
    """Return theme, position, count from a table of t1 … t<max> and count."""
    parts = [
        patterns.groupby(f"t{p}", sort=False)["count"].sum().reset_index()
        .rename(columns={f"t{p}": "theme"}).assign(position=p)
        for p in range(1, consultation.theme_max + 1)
    ]
    return _theme_codes(consultation, pd.concat(parts), "theme")[["theme", "position", "count"]]


def option_groups(consultation: Consultation, filters: Filters,
                  question) -> dict[str, tuple[pd.DataFrame, int]]:
    """Return, for each option code of the single-choice `question`, the theme_position_counts
    and the respondent_count of the filtered responses that chose it: what those two give
    with the option added to the filters, from one scan for all the options.

    For the dashboard's comparison of a question's options (sector against sector).
    """
    table = _option_split(consultation, filters, question)
    groups = {}
    for option in question.options:
        part = table[table["option_id"] == option.id]
        groups[option.code] = (_position_counts(consultation, part), int(part["count"].sum()))
    return groups


def _option_split(consultation: Consultation, filters: Filters, question) -> pd.DataFrame:
    """Return option_id, t1 … t<max>, count: the filtered responses counted per option of
    `question` and pattern of themes, every filter in the query.

    The per-municipality split that option-filtered views reuse (_split_pattern_query) has
    about 250,000 rows at 1,000,000 responses: 1.9 s of SQL on SQLite, 1.3 s on PostgreSQL,
    and 0.6 s more in pandas, most of a first dashboard page. A comparison needs no place, so
    this one is grouped by option and pattern alone: a few thousand rows (SQLite 0.96 s,
    PostgreSQL 0.58 s). A closed consultation's is kept in a snapshot like the base tables.
    """
    def compute() -> pd.DataFrame:
        by_answers = db.session.get_bind().dialect.name == "sqlite"
        query = (
            _filtered(consultation, filters, Response.theme_pattern, Answer.option_id,
                      func.count(), by_answers=by_answers)
            .join(Answer, and_(Answer.response_id == Response.id,
                               Answer.question_id == question.id))
            .group_by(Response.theme_pattern, Answer.option_id)
        )
        rows = [tuple(row) for row in db.session.connection().execute(query)]
        frame = _with_theme_slots(consultation, pd.DataFrame(
            rows, columns=["pattern", "option_id", "count"]))
        slots = [f"t{p}" for p in range(1, consultation.theme_max + 1)]
        frame = frame[["option_id", *slots, "count"]].copy()
        frame["count"] = frame["count"].astype(int)
        return frame

    return _memo(f"{OPTION_SPLIT}:{question.code}", consultation, filters, compute)


OPTION_SPLIT = "option_split"


def region_theme_counts(consultation: Consultation, filters: Filters = Filters()) -> pd.DataFrame:
    """Return columns region, theme, count: votes per theme within each region."""
    patterns = _patterns(consultation, filters)
    parts = [
        patterns[["region", f"t{p}", "count"]].rename(columns={f"t{p}": "theme"})
        for p in range(1, consultation.theme_max + 1)
    ]
    frame = pd.concat(parts).dropna(subset=["theme"])
    frame = frame.groupby(["region", "theme"], sort=False)["count"].sum().reset_index()
    return _theme_codes(consultation, frame, "theme")


def municipality_channel_counts(
    consultation: Consultation, filters: Filters = Filters()
) -> pd.DataFrame:
    """Return columns municipality, channel, respondents."""

    # From the cached per-municipality table (every respondent, with or without themes): the
    # direct GROUP BY took 2.6 s at 1,000,000 on SQLite (18 s grouped municipality first).
    rows = _base_patterns(consultation, filters)
    frame = rows.groupby(["municipality", "channel"], sort=False)["count"].sum().reset_index()
    return frame.rename(columns={"count": "respondents"})


def option_counts(consultation: Consultation, filters: Filters = Filters()) -> pd.DataFrame:
    """Return columns question, option, count for single and multiple questions."""
    from app.models import Option, Question

    def compute() -> pd.DataFrame:
        names = {option_id: (question, option) for option_id, question, option in
                 db.session.execute(select(Option.id, Question.code, Option.code).join(Question)
                                    .where(Question.consultation_id == consultation.id))}
        # Grouped by ids in the order of the (question_id, option_id) index, named afterwards.
        counts: dict[int, int] = {}
        if filters == Filters():
            # Every answer to the consultation's questions, read from that index alone (0.2 s
            # at 1,000,000 responses, against 4-5 s joined to the responses), less those of
            # the voided responses (few, found through the (consultation, state) index).
            questions = select(Question.id).where(Question.consultation_id == consultation.id)
            for _, option_id, count in db.session.execute(
                    select(Answer.question_id, Answer.option_id, func.count())
                    .where(Answer.question_id.in_(questions), Answer.option_id.is_not(None))
                    .group_by(Answer.question_id, Answer.option_id)):
                counts[option_id] = count
            # The voided responses first, then their answers by response: joined, SQLite
            # read every answer in the GROUP BY's order instead (0.26 s at a million, with
            # none voided).
            voided = (select(Answer.question_id, Answer.option_id, func.count())
                      .where(Answer.response_id.in_(
                          select(Response.id).where(Response.consultation_id == consultation.id,
                                                    Response.state == "voided")),
                             Answer.option_id.is_not(None))
                      .group_by(Answer.question_id, Answer.option_id))
            for _, option_id, count in db.session.execute(voided):
                counts[option_id] -= count
        else:
            query = (
                _filtered(consultation, filters, Answer.question_id, Answer.option_id,
                          func.count())
                .join(Answer, Answer.response_id == Response.id)
                .where(Answer.option_id.is_not(None))
                .group_by(Answer.question_id, Answer.option_id)
            )
            counts = {option_id: count for _, option_id, count in db.session.execute(query)}
        return pd.DataFrame([(*names[option_id], count) for option_id, count in counts.items()
                             if count], columns=["question", "option", "count"])

    return _memo("options", consultation, filters, compute).copy()


def pattern_counts(consultation: Consultation, filters: Filters = Filters()) -> pd.DataFrame:
    """Return one row per distinct answer pattern: region, theme_1 … theme_<max>, count.

    A pattern is the ordered list of themes a respondent chose (None past their last choice),
    with their region: the multinomial cells that bootstrap intervals resample. Respondents
    who chose no theme are left out.
    """
    positions = range(1, consultation.theme_max + 1)
    slots = [f"t{p}" for p in positions]
    frame = _patterns(consultation, filters)
    frame = frame[frame[slots].notna().any(axis=1)].reset_index(drop=True)
    codes = {theme.id: theme.code for theme in consultation.themes}
    out = pd.DataFrame({"region": frame["region"].astype(int)})
    for p in positions:
        out[f"theme_{p}"] = frame[f"t{p}"].map(codes).astype(object)
        out[f"theme_{p}"] = out[f"theme_{p}"].where(out[f"theme_{p}"].notna(), None)
    out["count"] = frame["count"].astype(int)
    return out


def cooccurrence_counts(consultation: Consultation, filters: Filters = Filters()) -> pd.DataFrame:
    """Return columns theme_a, theme_b, count: responses choosing both (theme_a < theme_b)."""
    patterns = _patterns(consultation, filters)
    positions = range(1, consultation.theme_max + 1)
    parts = []
    for i in positions:
        for j in positions:
            if i < j:
                pair = patterns[[f"t{i}", f"t{j}", "count"]].dropna()
                low = pair[[f"t{i}", f"t{j}"]].min(axis=1)
                high = pair[[f"t{i}", f"t{j}"]].max(axis=1)
                parts.append(pd.DataFrame({"theme_a": low, "theme_b": high,
                                           "count": pair["count"]}))
    if not parts:
        return pd.DataFrame(columns=["theme_a", "theme_b", "count"])
    frame = pd.concat(parts).groupby(["theme_a", "theme_b"], sort=False)["count"].sum()
    frame = _theme_codes(consultation, frame.reset_index(), "theme_a")
    return _theme_codes(consultation, frame, "theme_b")


def _theme_codes(consultation: Consultation, frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Replace theme ids by codes in `column`, dropping empty slots; counts become ints."""
    codes = {theme.id: theme.code for theme in consultation.themes}
    frame = frame.dropna(subset=[column]).reset_index(drop=True)
    frame[column] = frame[column].astype(int).map(codes)
    frame["count"] = frame["count"].astype(int)
    return frame


# Count tables are read again and again (a ranking needs several, the dashboard more) and a
# closed consultation's never change: the per-pattern table they are all derived from is kept
# per process, keyed by a fingerprint that any new, imported or voided response changes, so a
# cached table is never stale. Each entry is a few thousand rows (< 1 MB at 1,000,000).
_PATTERN_CACHE: OrderedDict = OrderedDict()
PATTERN_CACHE_SIZE = 64


def _patterns(consultation: Consultation, filters: Filters) -> pd.DataFrame:
    """Return region, t1 … t<max> (theme ids, NaN when empty), count for the filtered responses.

    Every theme count table is derived in pandas from one small table, so a ranking costs one
    scan of the responses, not four. That table (_pattern_query) is counted per municipality
    and channel for the question-option filters only: the channel, region, municipality and
    metro filters (the API's region filter, the dashboard's channel and metropolitan
    comparisons) are then applied to the cached table without another scan.
    """
    def compute() -> pd.DataFrame:
        rows = _base_patterns(consultation, filters)
        slots = [f"t{p}" for p in range(1, consultation.theme_max + 1)]
        return (rows.groupby(["region", *slots], dropna=False, sort=False)["count"].sum()
                .reset_index())

    return _memo("region_patterns", consultation, filters, compute)


def _available_base_patterns(consultation: Consultation,
                             filters: Filters) -> pd.DataFrame | None:
    """Return _base_patterns if cached in this process or in a snapshot, else None (no scan)."""
    key = Filters(options=filters.options)
    cache_key = ("patterns", *_cache_key(consultation, key))
    if cache_key not in _PATTERN_CACHE:
        if not _snapshots_apply(consultation):
            return None
        rows = read_snapshot(consultation, _snapshot_key("patterns", key), cache_key[-1])
        if rows is None:
            return None
        _remember(cache_key, rows)
    return _base_patterns(consultation, filters)


def _base_patterns(consultation: Consultation, filters: Filters) -> pd.DataFrame:
    """Return the cached per-municipality table for the option filters, other filters applied."""
    key = Filters(options=filters.options)
    rows = _PATTERN_CACHE.get(("patterns", *_cache_key(consultation, key)))
    if rows is None:
        rows = _memo("patterns", consultation, key, lambda: _split_pattern_query(
            consultation, filters.options))
    if filters.channel is not None:
        rows = rows[rows["channel"] == filters.channel]
    if filters.municipality is not None:
        rows = rows[rows["municipality"] == filters.municipality]
    if filters.region is not None:
        rows = rows[rows["region"] == filters.region]
    if filters.metro is not None:
        rows = rows[rows["metro"] == filters.metro]
    return rows


def _split_pattern_query(consultation: Consultation, options: dict[str, str]) -> pd.DataFrame:
    """Return the table for `options`, caching its siblings from the same scan.

    A view filtered by an option (the API's ?sector=private, the dashboard's filter) is often
    followed by its siblings (sector = public, academia, …): one scan grouped by the last
    question's option answers them all. (The dashboard's comparison of the options needs no
    place: option_groups counts it in a smaller scan.)
    """
    if not options:
        return _pattern_query(consultation, {})
    code = list(options)[-1]
    rest = {k: v for k, v in options.items() if k != code}
    question = consultation.question_by_code()[code]
    frame = _pattern_query(consultation, rest, split=question)
    parts = dict(tuple(frame.groupby("option_id", sort=False)))
    empty = frame.drop(columns="option_id").iloc[0:0]
    wanted = empty
    # Every option, those nobody chose included (an empty table), so none needs its own scan.
    for option in question.options:
        part = parts.get(option.id)
        part = empty if part is None else part.drop(columns="option_id").reset_index(drop=True)
        if option.code == options[code]:
            wanted = part
        else:
            _store("patterns", consultation,
                   Filters(options={**rest, code: option.code}), part)
    return wanted


def _pattern_query(consultation: Consultation, options: dict[str, str],
                   split=None) -> pd.DataFrame:
    """Return municipality, channel, region, metro, t1 … t<max>, count (one scan).

    With split (a single-choice question), also option_id: the respondent's answer to it.
    Responses are counted per stored pattern of themes (Response.theme_pattern), read from
    the covering index ix_response_pattern (or, when split, from the answers' index in
    response order), and the patterns, a few thousand, are expanded into t1 … t<max> here.
    """
    extra = [Answer.option_id] if split is not None else []
    by_answers = split is not None and db.session.get_bind().dialect.name == "sqlite"
    query = _filtered(consultation, Filters(options=options), Response.theme_pattern, *extra,
                      Response.channel, Response.municipality_code, func.count(),
                      by_answers=by_answers)
    if split is not None:
        query = query.join(Answer, and_(Answer.response_id == Response.id,
                                        Answer.question_id == split.id))
    query = query.group_by(Response.theme_pattern, *extra, Response.channel,
                           Response.municipality_code)
    # On the session's connection (no ORM row loading: 0.3 s per 370,000 rows), as plain
    # tuples (pandas probes each SQLAlchemy Row for attributes: 1 s per 250,000 rows).
    rows = [tuple(row) for row in db.session.connection().execute(query)]
    split_columns = ["option_id"] if extra else []
    frame = _with_theme_slots(consultation, pd.DataFrame(
        rows, columns=["pattern", *split_columns, "channel", "municipality", "count"]))
    slots = [f"t{p}" for p in range(1, consultation.theme_max + 1)]
    frame = frame[["municipality", "channel", *slots, *split_columns, "count"]].copy()
    frame["count"] = frame["count"].astype(int)
    places = db.session.execute(
        select(Municipality.code, Municipality.region_number, Municipality.metro)).all()
    frame["region"] = frame["municipality"].map({c: r for c, r, _ in places}).astype(int)
    frame["metro"] = frame["municipality"].map({c: m for c, _, m in places}).astype(bool)
    return frame


def _with_theme_slots(consultation: Consultation, frame: pd.DataFrame) -> pd.DataFrame:
    """Return frame with t1 … t<max> (theme ids, NaN past the last choice) from its pattern
    column: each distinct pattern (a few thousand) is expanded once."""
    slots = [f"t{p}" for p in range(1, consultation.theme_max + 1)]
    patterns = frame["pattern"].unique()
    themes = pd.DataFrame(
        [(pattern_theme_ids(pattern) + [None] * len(slots))[:len(slots)] for pattern in patterns],
        columns=slots, index=patterns, dtype=float)
    return frame.join(themes, on="pattern")


def _memo(name: str, consultation: Consultation, filters: Filters, compute) -> pd.DataFrame:
    """Return compute()'s table, kept per process until a response of the consultation changes.

    A closed consultation's base tables (SNAPSHOT_TABLES) are also kept across processes in
    result_snapshot: a new process reads them instead of scanning the responses.
    Callers must not modify the returned frame in place (copy it before handing it out).
    """
    key = (name, *_cache_key(consultation, filters))
    frame = _PATTERN_CACHE.get(key)
    if frame is not None:
        _PATTERN_CACHE.move_to_end(key)
        return frame
    snapshot = _snapshotted(name) and _snapshots_apply(consultation)
    if snapshot:
        frame = read_snapshot(consultation, _snapshot_key(name, filters), key[-1])
    if frame is None:
        # The fingerprint (key[-1]) was read before the scan: if a response arrives meanwhile,
        # the stored fingerprint is older than the data and no later reader will match it.
        frame = compute()
        if snapshot:
            _queue_snapshot(consultation, _snapshot_key(name, filters), key[-1], frame)
    _remember(key, frame)
    return frame


def _store(name: str, consultation: Consultation, filters: Filters, frame: pd.DataFrame) -> None:
    """Keep a table computed by the same scan as another: per process and, if closed, across."""
    key = (name, *_cache_key(consultation, filters))
    _remember(key, frame)
    if _snapshotted(name) and _snapshots_apply(consultation):
        _queue_snapshot(consultation, _snapshot_key(name, filters), key[-1], frame)


def _remember(key: tuple, frame: pd.DataFrame) -> None:
    _PATTERN_CACHE[key] = frame
    _PATTERN_CACHE.move_to_end(key)
    while len(_PATTERN_CACHE) > PATTERN_CACHE_SIZE:
        _PATTERN_CACHE.popitem(last=False)


def cache_key(consultation: Consultation, filters: Filters) -> tuple:
    """Return a key that changes whenever the responses counted for these filters may change.

    For caches of results derived from the count tables (app.services.results).
    """
    return _cache_key(consultation, filters)


def _cache_key(consultation: Consultation, filters: Filters) -> tuple:
    return (consultation.id, consultation.created_at, filters.channel, filters.region,
            filters.municipality, filters.metro, tuple(sorted(filters.options.items())),
            _fingerprint(consultation))


def _fingerprint(consultation: Consultation) -> tuple:
    """Return what changes whenever a response is added, imported or voided.

    The newest accepted id and the number and newest id of voided ones: both are answered
    from the (consultation_id, state) index alone, without reading the responses.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        # Named: when only some indexes have statistics (ANALYZE run before a migration added
        # ix_response_pattern), SQLite may pick that one and sort a million ids (0.1 s a call).
        # On the session's connection: a text() statement through the session would count as
        # a write (see _after_execute) and keep this transaction's snapshots from being stored.
        accepted = db.session.connection().scalar(text(
            "SELECT id FROM response INDEXED BY ix_response_consultation_state "
            "WHERE consultation_id = :id AND state = 'accepted' ORDER BY id DESC LIMIT 1"),
            {"id": consultation.id})
    else:
        accepted = db.session.scalar(
            select(Response.id).where(Response.consultation_id == consultation.id,
                                      Response.state == "accepted")
            .order_by(Response.id.desc()).limit(1))
    voided = db.session.execute(select(func.count(), func.max(Response.id)).where(
        Response.consultation_id == consultation.id, Response.state == "voided")).one()
    return (accepted, *voided)


def geography_table() -> pd.DataFrame:
    """Return the 125 municipalities: municipality, name, region, region_name, metro, population."""
    query = select(
        Municipality.code, Municipality.name, Municipality.region_number, Region.name,
        Municipality.metro, Municipality.population,
    ).join(Region).order_by(Municipality.code)
    return pd.DataFrame(
        db.session.execute(query).all(),
        columns=["municipality", "name", "region", "region_name", "metro", "population"],
    )


def municipality_theme_counts(
    consultation: Consultation, filters: Filters = Filters(), theme: str | None = None
) -> pd.DataFrame:
    """Return columns municipality, theme, count: respondents who chose each theme, by place.

    A respondent chooses a theme at most once, so count is also a number of respondents.
    With theme (a code), only that theme is counted.
    """
    if theme is not None:
        # IN (the chosen theme's responses) lets the database read the theme's index once,
        # instead of looking up every response's themes (a million: 0.9 s rather than 4 s).
        chosen = consultation.theme_by_code()[theme]
        query = (
            _filtered(consultation, filters, Response.municipality_code, func.count())
            .where(Response.id.in_(select(ResponseTheme.response_id)
                                   .where(ResponseTheme.theme_id == chosen.id)))
            .group_by(Response.municipality_code)
        )
        rows = [(code, theme, count) for code, count in db.session.execute(query).all()]
        return pd.DataFrame(rows, columns=["municipality", "theme", "count"])
    query = (
        _filtered(consultation, filters, Response.municipality_code, Theme.code, func.count())
        .join(ResponseTheme, ResponseTheme.response_id == Response.id)
        .join(Theme, Theme.id == ResponseTheme.theme_id)
        .group_by(Response.municipality_code, Theme.code)
    )
    return pd.DataFrame(
        db.session.execute(query).all(), columns=["municipality", "theme", "count"]
    )


def municipality_paper_counts(consultation: Consultation) -> pd.DataFrame:
    """Return columns municipality, issued, keyed: forms printed, and forms keyed at least once.

    Two aggregate queries (batches, keyings), merged on the municipality.
    """
    from app.models import PaperBatch, PaperKeying

    issued = db.session.execute(
        select(PaperBatch.municipality_code, func.sum(PaperBatch.count))
        .where(PaperBatch.consultation_id == consultation.id)
        .group_by(PaperBatch.municipality_code)
    ).all()
    keyed = db.session.execute(
        select(PaperKeying.municipality_code, func.count(func.distinct(PaperKeying.serial)))
        .where(PaperKeying.consultation_id == consultation.id)
        .group_by(PaperKeying.municipality_code)
    ).all()
    frame = pd.DataFrame(issued, columns=["municipality", "issued"]).merge(
        pd.DataFrame(keyed, columns=["municipality", "keyed"]), on="municipality", how="outer")
    return frame.fillna(0).astype({"issued": int, "keyed": int})


# --- result snapshots: closed consultations' base tables, kept across processes ---------------
#
# A closed consultation's responses rarely change, yet every new process (a restarted worker,
# each of gunicorn's workers) scanned a million responses again for its first result: 5–20 s.
# The base tables every count is derived from (one per question-option filter: a few tens of
# thousands of rows) are stored in result_snapshot, as gzip'd CSV, with the fingerprint they
# were computed at. A reader uses a row only when the current fingerprint is the same, so a
# voided or late-imported response makes the next reader recompute and replace it. Open
# consultations change at every submission and are never snapshotted.

SNAPSHOT_TABLES = ("patterns", "options")


def _snapshotted(name: str) -> bool:
    """Whether a closed consultation's table of this name is kept in a snapshot: the base
    tables, and the comparisons' split by each question (option_split:<question code>)."""
    return name in SNAPSHOT_TABLES or name.startswith(OPTION_SPLIT + ":")


def _snapshots_apply(consultation: Consultation) -> bool:
    if consultation.status(local_today()) != "closed":
        return False
    # An in-memory SQLite database is one connection: a second one would see another database.
    return (db.engine.dialect.name != "sqlite"
            or db.engine.url.database not in (None, "", ":memory:"))


def _snapshot_key(name: str, filters: Filters) -> str:
    return json.dumps([name, filters.channel, filters.region, filters.municipality,
                       filters.metro, sorted(filters.options.items())])


def _fingerprint_text(consultation: Consultation, fingerprint: tuple) -> str:
    return json.dumps([consultation.created_at.isoformat(), *fingerprint], default=str)


def encode_table(frame: pd.DataFrame) -> bytes:
    """Return a count table as gzip'd text: one JSON line of column types, then CSV (no pickle)."""
    types = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    body = json.dumps(types) + "\n" + frame.to_csv(index=False)
    return gzip.compress(body.encode("utf-8"), compresslevel=6)


def decode_table(payload: bytes) -> pd.DataFrame:
    """Return the table encode_table wrote, with its column types."""
    header, body = gzip.decompress(payload).decode("utf-8").split("\n", 1)
    types = json.loads(header)
    textual = {c for c, t in types.items() if t in ("object", "str", "string")}
    frame = pd.read_csv(
        io.StringIO(body), dtype={c: (str if c in textual else t) for c, t in types.items()},
        keep_default_na=False, na_values={c: [""] for c, t in types.items()
                                          if t.startswith("float")})
    return frame.astype({c: t for c, t in types.items() if c not in textual})


def read_snapshot(consultation: Consultation, key: str, fingerprint: tuple) -> pd.DataFrame | None:
    """Return the stored table if it was computed at this fingerprint, else None."""
    try:
        payload = db.session.scalar(select(ResultSnapshot.payload).where(
            ResultSnapshot.consultation_id == consultation.id, ResultSnapshot.key == key,
            ResultSnapshot.fingerprint == _fingerprint_text(consultation, fingerprint)))
        return None if payload is None else decode_table(payload)
    except (SQLAlchemyError, ValueError, OSError, EOFError) as error:
        # A missing table (not yet migrated) or an unreadable row: compute as without one.
        current_app.logger.warning("result snapshot %s not read: %s", key, error)
        if isinstance(error, SQLAlchemyError):
            db.session.rollback()
        return None


def _queue_snapshot(consultation: Consultation, key: str, fingerprint: tuple,
                    frame: pd.DataFrame) -> None:
    """Write the snapshot when the session's transaction ends, not now.

    Now, the snapshot's own connection would commit while the session still reads: on SQLite
    (WAL) the session could then no longer write in that transaction. When the transaction
    ends, nothing is held; and a transaction that wrote and was rolled back may have seen
    responses that never existed (their ids can be reused), so its snapshots are dropped.
    """
    session = db.session()
    session.info.setdefault(_PENDING, []).append(
        (consultation.id, key, _fingerprint_text(consultation, fingerprint), frame))


_PENDING = "result_snapshots_pending"
_WROTE = "result_snapshots_session_wrote"
_COMMITTED = "result_snapshots_session_committed"


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context) -> None:  # noqa: ARG001
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _after_execute(state) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_PENDING, None)
    wrote = session.info.pop(_WROTE, False)
    committed = session.info.pop(_COMMITTED, False)
    if not pending or (wrote and not committed):
        return
    for consultation_id, key, fingerprint, frame in pending:
        _write(consultation_id, key, fingerprint, frame)


def write_snapshot(consultation: Consultation, key: str, fingerprint: tuple,
                   frame: pd.DataFrame) -> bool:
    """Store (or replace) a table now, in its own transaction; never raise (see _write)."""
    return _write(consultation.id, key, _fingerprint_text(consultation, fingerprint), frame)


def _write(consultation_id: int, key: str, fingerprint: str, frame: pd.DataFrame) -> bool:
    """Store (or replace) a table in its own short transaction; never raise.

    Its own connection, so the caller's transaction is neither committed nor rolled back, with
    short lock timeouts so that it cannot wait on the caller's own locks. Two processes writing
    the same key at once: one wins, the other's unique conflict is ignored (readers check the
    fingerprint anyway). Returns whether it was stored.
    """
    values = {"consultation_id": consultation_id, "key": key, "fingerprint": fingerprint,
              "created_at": utcnow()}
    try:
        values["payload"] = encode_table(frame)
        with db.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # on the driver's connection: a pragma through SQLAlchemy would BEGIN
                raw = connection.connection.dbapi_connection
                previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                raw.execute("PRAGMA busy_timeout = 500")
            try:
                with connection.begin():
                    if not sqlite:
                        connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                    connection.execute(delete(ResultSnapshot).where(
                        ResultSnapshot.consultation_id == consultation_id,
                        ResultSnapshot.key == key))
                    connection.execute(insert(ResultSnapshot).values(**values))
            finally:
                if sqlite:
                    raw.execute(f"PRAGMA busy_timeout = {int(previous)}")
        return True
    except SQLAlchemyError as error:
        current_app.logger.warning("result snapshot %s not stored: %s", key,
                                   str(error).splitlines()[0])
        return False


def snapshot_results(consultation: Consultation) -> int:
    """Compute and store the base tables a closed consultation's results and dashboard read.

    The unfiltered table, one per option of every single-choice question (the dashboard's
    comparisons; one scan per question) and the option counts, all computed afresh (not read
    from an older snapshot). Returns how many were stored.
    """
    fingerprint = _fingerprint(consultation)
    tables = [("patterns", Filters(), _pattern_query(consultation, {}))]
    for question in consultation.questions:
        if question.type != "single" or not question.options:
            continue
        frame = _pattern_query(consultation, {}, split=question)
        for option in question.options:
            part = frame[frame["option_id"] == option.id].drop(columns="option_id")
            tables.append(("patterns", Filters(options={question.code: option.code}),
                           part.reset_index(drop=True)))
    _PATTERN_CACHE.pop(("options", *_cache_key(consultation, Filters())), None)
    tables.append(("options", Filters(), option_counts(consultation, Filters())))
    stored = 0
    for name, filters, frame in tables:
        _remember((name, *_cache_key(consultation, filters)), frame)
        stored += write_snapshot(consultation, _snapshot_key(name, filters), fingerprint, frame)
    return stored
