"""Per-view upload limits: a view may accept a larger body than MAX_CONTENT_LENGTH."""

from __future__ import annotations

from collections.abc import Callable

import flask
from flask import current_app

# Room for the multipart framing and the other fields around the file.
FORM_OVERHEAD = 64 * 1024


def upload_limit(setting: str) -> Callable:
    """Let a view's requests be as large as the setting (bytes) plus the form around it."""

    def decorate(view: Callable) -> Callable:
        view.upload_limit_setting = setting
        return view

    return decorate


class Request(flask.Request):
    """Flask's request, whose body limit is the view's own when it declares one.

    Decided from the matched route, before any hook reads the body: the CSRF check reads
    the form before the view runs, so a limit the view set itself would come too late.
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.endpoint:
            view = current_app.view_functions.get(self.endpoint)
            setting = getattr(view, "upload_limit_setting", None)
            if setting is not None:
                return current_app.config[setting] + FORM_OVERHEAD
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
