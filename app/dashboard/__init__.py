from flask import Blueprint
from flask_babel import lazy_gettext as _l

from app.navigation import register

bp = Blueprint("dashboard", __name__)
register("dashboard.index", _l("Analysis"), "analyst", order=40)

from app.dashboard import routes  # noqa: E402, F401
