"""A small HTTP client for tests that go through a real server (the gunicorn_server fixture):
cookies kept like a browser's, redirects not followed, the CSRF token read from the page."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One visitor: its own cookie jar, as a browser tab keeps it."""

    def __init__(self, base: str, address: str | None = None):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.headers = {"Accept-Language": "en"}
        if address:
            # Read only when the server trusts it (never in these tests' production config).
            self.headers["X-Forwarded-For"] = address

    def request(self, path: str, data: dict | None = None, *, timeout: float = 60) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=self.headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Answer(response.status, dict(response.headers),
                              response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers),
                          error.read().decode("utf-8", "replace"))

    def token(self, path: str) -> str:
        page = self.request(path)
        match = TOKEN.search(page.body)
        assert match, f"no CSRF token on {path} ({page.status})"
        return match.group(1)

    def post_form(self, path: str, data: dict, *, token_from: str | None = None) -> Answer:
        return self.request(path, {**data, "csrf_token": self.token(token_from or path)})

    def sign_in(self, email: str, password: str) -> Answer:
        return self.post_form("/auth/login", {"email": email, "password": password})

    def session_cookie(self) -> str | None:
        for cookie in self.jar:
            if cookie.name == "session":
                return cookie.value
        return None

    def set_session_cookie(self, value: str) -> None:
        self.jar.clear()
        self.headers["Cookie"] = f"session={value}"
