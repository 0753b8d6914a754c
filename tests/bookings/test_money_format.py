"""One way to show money: the ``pounds`` filter and ``format_pounds`` behind it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.template import Context, Template

from bookings.readonly import _money
from bookings.templatetags.money import format_pounds


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("95"), "£95.00"),
        (Decimal("65.00"), "£65.00"),
        (Decimal("12.5"), "£12.50"),
        (Decimal("1234.5"), "£1,234.50"),
        (Decimal("0.005"), "£0.01"),
        (0, "£0.00"),
        (Decimal("-5"), "\N{MINUS SIGN}£5.00"),
        (None, ""),
    ],
)
def test_amounts_read_as_pounds_with_pence_and_thousands(amount: Any, shown: str) -> None:
    assert format_pounds(amount) == shown


def test_the_filter_and_the_admin_column_format_alike() -> None:
    template = Template('{% load money %}{{ a|pounds }} {{ b|pounds:"unsigned" }} {{ c|pounds }}')
    rendered = template.render(Context({"a": Decimal("1234.5"), "b": Decimal("-65"), "c": None}))
    assert rendered == "£1,234.50 £65.00 "
    assert _money(Decimal("-65")) == format_pounds(Decimal("-65"))
    assert _money(None) == "£0.00"
