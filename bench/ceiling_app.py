"""The bare ceiling: a minimal Flask app that stores one row per form POST, nothing else.

Served by bench/submit.py under the same gunicorn settings as the real app and driven the
same way (GET the form, POST it, follow the 303 to the thank-you page), so the ratio of the two
throughputs is the cost of everything the real app does (sessions, CSRF, validation, ORM,
templates, i18n). Database: CEILING_DATABASE = a SQLite file path (WAL, synchronous=NORMAL and
a busy timeout, as the app) or a postgresql:// URL; one connection per worker process.
"""

from __future__ import annotations

import os
import secrets
import threading

from flask import Flask, redirect, request

DATABASE = os.environ.get("CEILING_DATABASE", "/tmp/ceiling.sqlite")
SCHEMA = ("CREATE TABLE IF NOT EXISTS ceiling_response (id {serial} PRIMARY KEY, "
          "submission_token VARCHAR(64) UNIQUE NOT NULL, municipality VARCHAR(5) NOT NULL, "
          "themes VARCHAR(200) NOT NULL)")
FORM = """<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Ceiling</title></head>
<body><form method="post" action="/c/{slug}/answer">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="submission_token" value="{token}">
<select name="municipality"><option value="14039">Guadalajara</option></select>
<select name="theme_1"><option value="security">security</option></select>
<select name="theme_2"><option value="health">health</option></select>
<select name="theme_3"><option value="education">education</option></select>
<input type="checkbox" name="consent" value="y">
<button>Send</button></form></body></html>"""

app = Flask(__name__)
_local = threading.local()


def connection():
    """Return this worker's connection (opened once per process and thread)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        if DATABASE.startswith("postgresql"):
            import psycopg

            conn = psycopg.connect(DATABASE, autocommit=True)
        else:
            import sqlite3

            conn = sqlite3.connect(DATABASE, isolation_level=None, timeout=15)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        _local.conn = conn
    return conn


def create_schema() -> None:
    serial = "SERIAL" if DATABASE.startswith("postgresql") else "INTEGER"
    connection().execute(SCHEMA.format(serial=serial))


@app.get("/c/<slug>/answer")
def form(slug: str):
    return FORM.format(slug=slug, csrf=secrets.token_urlsafe(16),
                       token=secrets.token_urlsafe(24))


@app.post("/c/<slug>/answer")
def answer(slug: str):
    token = request.form["submission_token"]
    themes = ";".join(request.form.get(f"theme_{i}", "") for i in (1, 2, 3))
    placeholder = "%s" if DATABASE.startswith("postgresql") else "?"
    connection().execute(
        "INSERT INTO ceiling_response (submission_token, municipality, themes) "
        f"VALUES ({placeholder}, {placeholder}, {placeholder})",
        (token, request.form["municipality"], themes))
    return redirect(f"/c/{slug}/thanks/{token}", code=303)


@app.get("/c/<slug>/thanks/<token>")
def thanks(slug: str, token: str):
    return f"<!doctype html><p>Gracias / Thank you ({token[:6]})</p>"
