from flask import Blueprint

# Not "api": the JSON API blueprint shares the /api/v1 prefix.
bp = Blueprint("opendata", __name__)

from app.opendata import routes  # noqa: E402, F401
