"""Citizens answer a consultation online: the form, its language switch, the thank-you page."""

from __future__ import annotations

from datetime import date

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, format_date, get_locale, refresh
from flask_babel import gettext as _
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf
from markupsafe import Markup, escape
from werkzeug.exceptions import ServiceUnavailable

from app.auth.decorators import public
from app.extensions import csrf, db, limiter
from app.public import bp
from app.security import exempt_addresses, signed_in
from app.services import public_form, submissions
from app.services.geography import municipality_choices
from app.services.public_form import ConsultationCopy
from app.services.submissions import FormValues, Problem
from app.util import local_today

DEFAULT_ANSWER_RATE_LIMIT = "60 per minute;600 per hour"


def answer_rate_limit() -> str:
    """Return the per-address limit on posting the form (setting ANSWER_RATE_LIMIT)."""
    return current_app.config.get("ANSWER_RATE_LIMIT") or DEFAULT_ANSWER_RATE_LIMIT


def _consultation(slug: str) -> ConsultationCopy:
    # The questionnaire is read once per version and process (services/public_form.py).
    found = public_form.get_published(slug)
    if found is None:
        abort(404)
    return found


def _posted_token(consultation: ConsultationCopy) -> str:
    """Keep the posted token when it is genuine (even if used: a used one shows its receipt)."""
    try:
        return submissions.check_token(consultation, request.form.get("submission_token"))
    except submissions.InvalidToken:
        return submissions.issue_token(consultation)


def _render_form(consultation: ConsultationCopy, values: FormValues, token: str,
                 problems: list[Problem] | None = None, notice: str | None = None,
                 status: int = 200):
    problems = problems or []
    regions = municipality_choices()
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.key, []).append(problem.message)
    context = dict(
        consultation=consultation,
        values=values,
        token=token,
        problems=problems,
        errors=errors,
        notice=notice,
        regions=regions,
        municipalities={region.number: region.municipalities for region in regions},
        number_text=submissions.number_text,
    )
    empty = not problems and not notice and values == FormValues()
    if empty and _same_for_everyone():
        return _empty_page(context), status
    return render_template("public/answer.html", **context,
                           fields_html=_empty_fields(context) if empty else None), status


PAGE_CACHE = "consulta.answer_page_html"
# Stand-ins for the two per-visitor tokens in a kept page: letters and hyphens only, so the
# template's escaping leaves them as they are.
CSRF_SLOT = "csrf-token-slot-4f9c2e7a"
TOKEN_SLOT = "submission-token-slot-8b1d3f60"


def _same_for_everyone() -> bool:
    """True when the empty form's page is the same for every visitor but for its tokens:
    nobody signed in (the menu differs), no message waiting to be shown, no query string
    (the language links repeat it; it would also let anyone grow the cache)."""
    return (not signed_in() and "_flashes" not in session
            and not request.query_string)


def _empty_page(context: dict) -> str:
    """Return the empty form's whole page with this visitor's tokens.

    The page is rendered once per consultation version and language in this process, with
    stand-ins where the CSRF and one-time tokens go; each request only fills in its own
    (new) tokens. It saves rendering the layout and the questionnaire on every visit.
    """
    page = _kept(PAGE_CACHE, context["consultation"], lambda: render_template(
        "public/answer.html", **{**context, "token": TOKEN_SLOT},
        csrf_token=lambda: CSRF_SLOT, fields_html=_empty_fields(context)))
    return page.replace(CSRF_SLOT, generate_csrf(), 1).replace(TOKEN_SLOT, context["token"], 1)


FIELDS_CACHE = "consulta.answer_fields_html"


def _empty_fields(context: dict) -> Markup:
    """Return the questions of the empty form, rendered once per consultation version and
    language in this process: most of the page, and the same for every person."""
    return _kept(FIELDS_CACHE, context["consultation"], lambda: Markup(
        render_template("public/_answer_fields.html", **context)))


def _kept(name: str, consultation: ConsultationCopy, render):
    """Return render()'s result, kept in this process per consultation and language until
    the consultation's version changes (one entry per consultation and language)."""
    cache: dict = current_app.extensions.setdefault(name, {})
    place = (consultation.slug, str(get_locale()))
    found = cache.get(place)
    if found is None or found[0] != consultation.key:
        found = cache[place] = (consultation.key, render())
    return found[1]


def _render_unavailable(consultation: ConsultationCopy, reason: str, refused: bool = False):
    return render_template(
        "public/answer_unavailable.html",
        consultation=consultation,
        status=consultation.status(local_today()),
        reason=reason,
        refused=refused,
    ), (403 if refused else 200)


def _csrf_ok() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.route("/c/<slug>/answer", methods=["GET", "POST"])
@public
# CSRF is checked inside the view, so that an expired or altered form keeps its answers.
@csrf.exempt
@limiter.limit(answer_rate_limit, methods=["POST"],
               exempt_when=exempt_addresses("ANSWER_RATE_LIMIT_EXEMPT"))
def answer(slug: str):
    if request.method == "POST":
        try:
            if answered_receipt(slug):
                return _post_after_answering(slug)
            stored = _store_at_once(slug)
            if stored is not None:
                return stored
            return _answer(slug)
        except submissions.database_down_errors():
            # The database is unreachable or full: show the answers again, say so; the
            # posted token stays valid, so sending again stores the answer once.
            return _not_stored(slug)
    return _answer(slug)


def _not_stored(slug: str):
    current_app.logger.exception("An online answer could not be stored")
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the session's connection may be gone as well
        db.session.remove()
    consultation = public_form.kept(slug)
    if consultation is None:
        # No questionnaire in memory to show the answers in (a process that never showed
        # this form and cannot read it now).
        return render_template("errors/error.html", error=ServiceUnavailable(),
                               message=submissions.not_stored_message()), 503
    values = submissions.read_form(consultation, request.form)
    return _render_form(consultation, values, _posted_token(consultation),
                        notice=submissions.not_stored_message(), status=503)


def _answer(slug: str):
    consultation = _consultation(slug)
    reason = submissions.unavailable_reason(consultation)
    if reason:
        return _render_unavailable(consultation, reason, refused=request.method == "POST")
    if request.method in ("GET", "HEAD"):
        receipt = answered_receipt(slug)
        if receipt:
            return _render_answered(consultation, receipt)
        return _render_form(consultation, FormValues(), submissions.issue_token(consultation))

    values = submissions.read_form(consultation, request.form)
    switch_to = request.form.get("switch_language")
    if switch_to:
        # Show the same answers in the other language: nothing is validated or stored.
        if switch_to in current_app.config["LANGUAGES"]:
            session["lang"] = switch_to
            refresh()
        return _render_form(consultation, values, _posted_token(consultation))
    if values.website:
        # The honeypot was filled: a bot. Refuse quietly, store nothing.
        return render_template("public/thanks.html", consultation=consultation, response=None)
    if not _csrf_ok():
        return _render_form(consultation, values, _posted_token(consultation),
                            notice=submissions.token_message(), status=400)
    try:
        token = submissions.check_token(consultation, request.form.get("submission_token"))
    except submissions.InvalidToken as error:
        return _render_form(consultation, values, submissions.issue_token(consultation),
                            notice=error.message, status=400)
    # A used token is found by the unique column when store() inserts (the usual replay: the
    # same answers sent again); it is looked up here only when the answers would not be
    # stored anyway, so that a replay still shows the first receipt in every case.
    cleaned, problems = submissions.validate(consultation, values)
    if problems:
        found = _to_stored(consultation, token)
        if found is not None:
            return found
        return _render_form(consultation, values, token, problems, status=422)
    try:
        stored = submissions.store(consultation, token, cleaned)
    except submissions.ConsultationNotOpen as error:
        found = _to_stored(consultation, token)
        if found is not None:
            return found
        return _render_unavailable(consultation, error.message, refused=True)
    except submissions.FormChanged as error:
        found = _to_stored(consultation, token)
        if found is not None:
            return found
        # Edited since the form was read: show the new version with the answers kept.
        consultation = _consultation(slug)
        values = submissions.read_form(consultation, request.form)
        return _render_form(consultation, values, token, notice=error.message, status=400)
    return _to_thanks(consultation, stored.receipt_code)


def _store_at_once(slug: str):
    """Store a complete, valid answer against the copy of the consultation this process
    keeps, without reading its version first (store() inserts only while the stored version
    is the copy's); return the redirect to the thank-you page.

    Return None when anything else is to be done (no copy kept, a language switch, the
    honeypot, a bad token, problems in the answers, a consultation closed or edited): the
    view then does it all with the current copy, as if this had not run. Nothing here
    stores, consumes or shows anything before that.
    """
    consultation = public_form.kept(slug)
    if (consultation is None or request.form.get("switch_language")
            or submissions.unavailable_reason(consultation) or not _csrf_ok()):
        return None
    values = submissions.read_form(consultation, request.form)
    try:
        token = submissions.check_token(consultation, request.form.get("submission_token"))
    except submissions.InvalidToken:
        return None
    cleaned, problems = submissions.validate(consultation, values)
    if values.website or problems:
        return None
    try:
        stored = submissions.store(consultation, token, cleaned)
    except (submissions.ConsultationNotOpen, submissions.FormChanged):
        return None
    return _to_thanks(consultation, stored.receipt_code)


def _to_stored(consultation: ConsultationCopy, token: str):
    """Return the redirect to the receipt of the response stored with this token, if any."""
    existing = submissions.response_for_token(consultation, token)
    return None if existing is None else _to_thanks(consultation, existing.receipt_code)


def _to_thanks(consultation: ConsultationCopy, receipt_code: str):
    _remember(consultation.slug, receipt_code)
    return redirect(url_for("public.thanks", slug=consultation.slug,
                            receipt_code=receipt_code), code=303)


# --- this browser already answered ----------------------------------------------------------
# After an answer is stored, the session (the signed cookie that already carries the CSRF
# token: nothing personal, no tracking, gone when the browser ends the session) keeps its
# receipt code per consultation. The form then shows that receipt and an "Answer for another
# person" button (a shared device) instead of an empty form, and a form loaded before the
# answer and sent afterwards from this browser (the Back button) stores nothing.

ANSWERED = "answered"  # session key: {consultation slug: receipt code}
ANSWERED_KEPT = 8  # consultations remembered per browser (the cookie stays small)
# The posted fields carried over to the form by "Answer for another person".
NOT_CARRIED = {"csrf_token", "submission_token", "switch_language", "website"}


def answered_receipt(slug: str) -> str | None:
    """Return the receipt code of the answer sent from this browser to consultation slug."""
    answered = session.get(ANSWERED)
    return answered.get(slug) if isinstance(answered, dict) else None


def _remember(slug: str, receipt_code: str) -> None:
    answered = session.get(ANSWERED)
    answered = dict(answered) if isinstance(answered, dict) else {}
    answered.pop(slug, None)
    answered[slug] = receipt_code
    while len(answered) > ANSWERED_KEPT:
        answered.pop(next(iter(answered)))
    session[ANSWERED] = answered


def _forget(slug: str) -> None:
    answered = session.get(ANSWERED)
    if isinstance(answered, dict) and slug in answered:
        answered = {key: code for key, code in answered.items() if key != slug}
        if answered:
            session[ANSWERED] = answered
        else:
            session.pop(ANSWERED)


def _render_answered(consultation: ConsultationCopy, receipt: str, carried=(),
                     status: int = 200):
    return render_template("public/answered.html", consultation=consultation, receipt=receipt,
                           carried=carried, posted=request.method == "POST"), status


def _post_after_answering(slug: str):
    """A form posted from a browser that already answered this consultation: a replay of
    the answer stored (same token) shows its receipt; any other form (one loaded before the
    answer, sent with Back) stores nothing and shows the receipt with the choice to answer
    for another person, the posted answers carried over to that form."""
    consultation = _consultation(slug)
    try:
        token = submissions.check_token(consultation, request.form.get("submission_token"))
    except submissions.InvalidToken:
        token = None
    if token is not None:
        found = _to_stored(consultation, token)
        if found is not None:
            return found
    carried = [(name, value) for name, value in request.form.items(multi=True)
               if name not in NOT_CARRIED and len(value) <= submissions.MAX_KEPT_LENGTH]
    return _render_answered(consultation, answered_receipt(slug), carried, status=409)


@bp.route("/c/<slug>/answer/another", methods=["POST"])
@public
def answer_another(slug: str):
    """Forget this browser's answer to the consultation and show the form for someone else:
    empty, or with the answers carried from a form sent after answering."""
    consultation = _consultation(slug)
    _forget(slug)
    if request.form.get("carried") != "1":
        return redirect(url_for("public.answer", slug=slug), code=303)
    values = submissions.read_form(consultation, request.form)
    return _render_form(consultation, values, submissions.issue_token(consultation))


@bp.route("/c/<slug>/thanks/<receipt_code>")
@public
def thanks(slug: str, receipt_code: str):
    # The version and the online response with that receipt code, in one statement.
    consultation, response = public_form.get_published_receipt(slug, receipt_code)
    if consultation is None or response is None:
        abort(404)
    if (response.receipt_code == receipt_code and request.path.endswith("/" + receipt_code)
            and _same_for_everyone()):
        return _thanks_page(consultation, response)
    return render_template("public/thanks.html", consultation=consultation, response=response)


THANKS_CACHE = "consulta.thanks_page_html"
# Stand-ins for what differs between two thank-you pages: letters and hyphens only, left as
# they are by the template's escaping and by url_for's quoting (the language links carry the
# page's path, hence its receipt code).
RECEIPT_SLOT = "receipt-code-slot-5e2a9c41"
DATE_SLOT = "received-on-slot-7c3b1d92"


class _KeptRequest:
    """What the layout reads of the request (the path in the language links), with the
    receipt code replaced by its stand-in."""

    def __init__(self, full_path: str):
        self.full_path = full_path


def _thanks_page(consultation: ConsultationCopy, response) -> str:
    """Return the thank-you page for this receipt, from a page kept per consultation version
    and language in this process with stand-ins for the receipt code and the date.

    Only for an address spelled with the stored receipt code (the layout repeats the path)
    and for a page that is the same for everyone but for those (see _same_for_everyone).
    """
    code = response.receipt_code
    path = request.path
    page = _kept(THANKS_CACHE, consultation, lambda: render_template(
        "public/thanks.html", consultation=consultation,
        response=_Receipt(RECEIPT_SLOT), format_date=lambda *args, **kwargs: DATE_SLOT,
        request=_KeptRequest(path[:len(path) - len(code)] + RECEIPT_SLOT + "?")))
    received_on = escape(long_date(response.submitted_on, str(get_locale())))
    return page.replace(DATE_SLOT, received_on, 1).replace(RECEIPT_SLOT, code)


# format_date(day, "long") per (day, locale): a few days serve all the thank-you pages of a
# day (Babel's formatting was a sixteenth of the page's time). app/public/fast.py reads it.
LONG_DATES: dict[tuple[date, str], str] = {}


def long_date(day: date, locale: str) -> str:
    """Return format_date(day, "long") in `locale` (also outside a request: fast.py)."""
    found = LONG_DATES.get((day, locale))
    if found is None:
        if len(LONG_DATES) >= 64:
            LONG_DATES.clear()
        with force_locale(locale):
            found = LONG_DATES[(day, locale)] = format_date(day, "long")
    return found


class _Receipt:
    def __init__(self, receipt_code: str):
        self.receipt_code = receipt_code
        self.submitted_on = None


@bp.after_request
def _no_store(response):
    """Keep answers and receipts out of caches: the next person on a shared computer must not
    find them with the Back button."""
    if request.endpoint in ("public.answer", "public.thanks", "public.answer_another"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(429)
def too_many_answers(error):
    """Keep the typed answers when the per-address limit is reached, and say when to retry."""
    message = _("Many answers were sent from your connection in a short time. Your answers "
                "are kept: please wait a minute and send them again.")
    if request.endpoint == "public.answer" and request.method == "POST":
        consultation = _consultation(request.view_args["slug"])
        values = submissions.read_form(consultation, request.form)
        return _render_form(consultation, values, _posted_token(consultation), notice=message,
                            status=429)
    return render_template("errors/error.html", error=error), 429
