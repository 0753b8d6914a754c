"""A cached page's frame, rendered once per kind of viewer instead of on every request.

The catalogue served from the page cache (``pagecache``) still rendered ``base.html`` around
it on every request: about half of what such a request cost. What that frame shows depends on
the request only through the context processors: whether someone is signed in, their roles
(``training.context_processors.unit``) and any messages waiting for them. So the frame is
rendered once per process for each set of those, around a marker, and kept as the text before
and after it; a page with a message waiting is rendered whole, so the message shows once, as
always. tests/bookings/test_page_frame.py holds the result to the page rendered whole, for
each kind of viewer and two people of one kind.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from training.context_processors import unit

# Where the page's own part goes: text no page can contain by chance.
_MARK = f"<!--page-body-{secrets.token_hex(16)}-->"
_frames: dict[tuple[Any, ...], tuple[str, str]] = {}


@receiver(setting_changed)
def _forget_frames(**_: Any) -> None:
    """The unit's name and the static files' addresses are settings (tests change them)."""
    _frames.clear()


def framed(request: HttpRequest, template: str, body: str) -> HttpResponse:
    """``render(request, template, {"body": body})``, for a template whose only variable of
    its own is ``body`` (``bookings/catalogue_page.html``)."""
    if len(get_messages(request)):  # counted, not read: they show on this page, once
        return render(request, template, {"body": mark_safe(body)})
    key = (template, request.user.is_authenticated, *sorted(unit(request).items()))
    frame = _frames.get(key)
    if frame is None:
        html = render_to_string(template, {"body": mark_safe(_MARK)}, request=request)
        before, after = html.split(_MARK)  # once: the template shows its body once
        if len(_frames) > 256:  # a handful of kinds of viewer; never more than this
            _frames.clear()
        frame = _frames[key] = (before, after)
    before, after = frame
    return HttpResponse(before + body + after)
