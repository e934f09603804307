"""Paper questionnaires for staff and supervisors: print, key, verify, import, follow."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from app import navigation

bp = Blueprint("entry", __name__)

navigation.register("entry.index", _l("Paper forms"), "staff", "supervisor", order=20)

from app.entry import routes  # noqa: E402, F401
