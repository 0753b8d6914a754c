"""A person's HTTP client for the benchmarks and the serve test: cookies, forms, sign-in, booking.

Standard library only, and it talks to 127.0.0.1 only. It reads each page's real form and
submits it as a browser would (the CSRF token, hidden fields and the pressed button included).
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

HOST = "127.0.0.1"
TIMEOUT = 60.0


class Forms(HTMLParser):
    """Every POST form on a page: its action, its fields (as submitted) and its buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._form: dict[str, object] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = {"action": a.get("action", ""), "fields": [], "buttons": []}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        fields: list[tuple[str, str]] = self._form["fields"]  # type: ignore[assignment]
        buttons: list[tuple[str, str]] = self._form["buttons"]  # type: ignore[assignment]
        name = a.get("name", "")
        if tag == "button" and name:
            buttons.append((name, a.get("value", "")))
        elif tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "submit":
                buttons.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((name, a.get("value", "on")))
            else:
                fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None and "selected" in a:
            fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def post_form(body: bytes, action: str | None = None) -> dict[str, object]:
    parser = Forms()
    parser.feed(body.decode("utf-8", errors="replace"))
    for form in parser.forms:
        if action is None or form["action"] in (action, ""):
            return form
    raise RuntimeError(f"no POST form to {action} on the page")


def filled(
    form: dict[str, object], values: dict[str, str], button: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = form["fields"]  # type: ignore[assignment]
    kept = [(name, value) for name, value in fields if name not in values]
    return [*kept, *values.items(), *([button] if button else [])]


class Browser:
    """One person's cookies, and a fresh connection to 127.0.0.1 per request."""

    def __init__(self, port: int, *, client_ip: str = "") -> None:
        self.port = port
        # As a proxy in front of the app would say where the person is (the server must be
        # told to trust one proxy: TRUSTED_PROXY_COUNT=1).
        self.client_ip = client_ip
        self.cookies: dict[str, str] = {}
        self.timings: list[float] = []
        self.labelled: list[tuple[str, float]] = []  # (method and path shape, seconds)
        # Called with the method before each click (not before following a redirect): a
        # person reading the page (GET) or filling in the form (POST). None: a robot.
        self.pause: Callable[[str], None] | None = None

    def request(
        self,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        click: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        if click and self.pause is not None:
            self.pause(method)
        sent = {"Host": f"{HOST}:{self.port}", **(headers or {})}
        if self.client_ip:
            sent["X-Forwarded-For"] = self.client_ip
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST":
            sent.setdefault("Referer", f"http://{HOST}:{self.port}{path}")
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        self.timings.append(elapsed)
        # Ids and order references (TT-ABCDEFGH) become N, so a page is one line of figures.
        shape = re.sub(r"/(?:[^/]*\d[^/]*|TT-[A-Z]+)(?=/|$)", "/N", path.split("?")[0])
        self.labelled.append((f"{method} {shape}", elapsed))
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def follow(self, status: int, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """GET where a redirect points (one hop)."""
        if status not in (301, 302, 303):
            raise RuntimeError(f"expected a redirect, got HTTP {status}")
        location = urlsplit(headers["location"])
        target = location.path + (f"?{location.query}" if location.query else "")
        return self.request("GET", target, click=False)

    def sign_in(self, email: str, password: str) -> None:
        status, _, page = self.get("/accounts/login/")
        if status != 200:
            raise RuntimeError(f"the sign-in page answered {status}")
        form = post_form(page, "/accounts/login/")
        status, headers, _ = self.request(
            "POST", "/accounts/login/", filled(form, {"login": email, "password": password})
        )
        if status != 302:
            raise RuntimeError(f"signing in as {email} answered {status}, not a redirect")

    def book_myself(self, session_id: int, *, payment_method: str | None = None) -> str:
        """Book a place for the signed-in person; returns the order page's path."""
        path = f"/sessions/{session_id}/book/"
        status, _, page = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        values = {"include_myself": "on"}
        if payment_method:
            values["payment_method"] = payment_method
        step = post_form(page, path)
        status, _, page = self.request("POST", path, filled(step, values, ("action", "review")))
        if status != 200:
            raise RuntimeError(f"the review step answered {status}")
        review = post_form(page, path)
        status, headers, page = self.request(
            "POST", path, filled(review, {}, ("action", "confirm"))
        )
        location = headers.get("location", "")
        if status != 302:
            title = re.search(rb"<title>(.*?)</title>", page, re.S)
            raise RuntimeError(
                f"confirming answered {status}: {title.group(1).decode().strip() if title else ''}"
            )
        return urlsplit(location).path
