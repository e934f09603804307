"""Turn accepted responses into small count tables with SQL; analysis/ computes from these.

Nothing here returns one row per response: every function groups and counts in the database
(the same SQLAlchemy Core on SQLite and PostgreSQL), so a million responses cost one aggregate
query each, not a million Python objects.
"""

from __future__ import annotations

from collections import OrderedDict

import pandas as pd
from sqlalchemy import and_, func, select, text

from app.extensions import db
from app.models import (
    Answer,
    Consultation,
    Municipality,
    Response,
)
from app.models.response import pattern_theme_ids
from app.services.place_counts import (
    geography_table,
    municipality_paper_counts,
    municipality_theme_counts,
)
from app.services.response_filters import (
    FILTER_PARAMETERS,
    FilterError,
    Filters,
    _filtered,
    filtered_response_ids,
    parse_filters,
)
from app.services.result_snapshots import (
    OPTION_SPLIT,
    SNAPSHOT_TABLES,
    _queue_snapshot,
    _snapshot_key,
    _snapshots_apply,
    _snapshotted,
    decode_table,
    encode_table,
    read_snapshot,
    write_snapshot,
)

# Filters, place counts and snapshots moved out by responsibility; importable from here as
# before (callers and tests use them).
__all__ = ["FILTER_PARAMETERS", "OPTION_SPLIT", "SNAPSHOT_TABLES", "FilterError", "Filters",
           "cache_key", "cooccurrence_counts", "decode_table", "encode_table",
           "filtered_response_ids", "geography_table", "municipality_channel_counts",
           "municipality_paper_counts", "municipality_theme_counts", "option_counts",
           "option_groups", "parse_filters", "pattern_counts", "read_snapshot",
           "region_theme_counts", "respondent_count", "snapshot_results",
           "theme_position_counts", "write_snapshot"]


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
