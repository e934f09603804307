from flask import Blueprint
from flask_babel import lazy_gettext as _l

from app.navigation import register

bp = Blueprint("workshops", __name__)
register("workshops.index", _l("Workshops"), "facilitator", "analyst", order=40)



@bp.context_processor
def _helpers() -> dict:
    from flask_babel import format_datetime

    return {"format_datetime": format_datetime}


from app.workshops import routes  # noqa: E402, F401
