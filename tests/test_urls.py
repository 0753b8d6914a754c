"""The URLconf as a whole: every page has a name of its own."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


def _names(patterns: list[Any], namespace: str = "") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(namespace + pattern.name)
    return names


def test_no_two_pages_share_a_url_name() -> None:
    # reverse() quietly picks the last of two patterns with one name, sending people (and
    # emailed links) to the wrong page.
    counts = Counter(name for name in _names(get_resolver().url_patterns) if ":" in name)
    assert [name for name, count in counts.items() if count > 1] == []
