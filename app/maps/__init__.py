from flask import Blueprint

bp = Blueprint("maps", __name__)

from app.maps import routes  # noqa: E402, F401
