"""Consulta Abierta: a bilingual platform for citizen consultations."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_babel import format_date, format_decimal, format_percent
from werkzeug.exceptions import HTTPException

from app.extensions import babel, csrf, db, limiter, login, migrate
from app.i18n import html_lang, language, localized, selected_locale
from app.sessions import SessionInterface
from app.uploads import Request as UploadRequest
from config import Config, ProductionConfig, config_from_environment


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error handlers, CLI."""
    config_class = config_class or config_from_environment()
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = UploadRequest  # an import's upload limit is its own (app/uploads.py)
    app.session_interface = SessionInterface()
    app.config.from_object(config_class)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"))
    babel.init_app(app, locale_selector=selected_locale)
    csrf.init_app(app)
    login.init_app(app)
    limiter.init_app(app)

    from app import models  # noqa: F401 - registers the tables
    from app.database import configure_engines

    configure_engines(app)

    from app.accounts import bp as accounts_bp
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.dashboard import bp as dashboard_bp
    from app.entry import bp as entry_bp
    from app.followup import bp as followup_bp
    from app.maps import bp as maps_bp
    from app.opendata import bp as opendata_bp
    from app.planning import bp as planning_bp
    from app.plans import api_bp as plans_api_bp
    from app.plans import bp as plans_bp
    from app.public import bp as public_bp
    from app.results import bp as results_bp
    from app.workshops import bp as workshops_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(entry_bp, url_prefix="/entry")
    app.register_blueprint(accounts_bp, url_prefix="/admin")
    app.register_blueprint(opendata_bp, url_prefix="/api/v1")
    app.register_blueprint(workshops_bp, url_prefix="/workshops")
    app.register_blueprint(results_bp)
    app.register_blueprint(maps_bp, url_prefix="/maps")
    app.register_blueprint(plans_bp, url_prefix="/plans")
    app.register_blueprint(plans_api_bp, url_prefix="/api/v1")
    app.register_blueprint(planning_bp, url_prefix="/planning")
    app.register_blueprint(followup_bp, url_prefix="/followup")

    from app import cli, nul, security

    cli.init_app(app)
    _register_template_helpers(app)
    _register_error_handlers(app)
    security.init_app(app)
    nul.init_app(app)

    if app.config["FAST_PUBLIC_PAGES"]:
        from app.public.fast import FastPages

        app.wsgi_app = FastPages(app, app.wsgi_app)

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app


def _root() -> Path:
    return Path(__file__).resolve().parent.parent


def _register_template_helpers(app: Flask) -> None:
    from app.navigation import nav_items

    app.jinja_env.globals.update(
        nav_items=nav_items,
        localized=localized,
        language=language,
        html_lang=html_lang,
        format_date=format_date,
        format_percent=format_percent,
        format_decimal=format_decimal,
    )


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code >= 500:
            db.session.rollback()
        if _wants_json():
            return jsonify(error=error.name, message=error.description), error.code
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        if app.testing and app.config.get("PROPAGATE_EXCEPTIONS", True):
            raise error
        from werkzeug.exceptions import InternalServerError

        return http_error(InternalServerError())
