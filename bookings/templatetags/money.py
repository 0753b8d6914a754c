"""Money as people read it: ``{{ amount|pounds }}`` gives "£1,234.50".

Every amount on a page, an email, a PDF or an admin column is formatted by
:func:`format_pounds`, so they all read the same: a pound sign, thousands separated by commas,
always two decimal places, and a minus sign (U+2212, which screen readers say as "minus")
before the pound sign for a negative amount: "−£5.00". Nothing (None) is shown as nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

PENNY = Decimal("0.01")
MINUS = "\N{MINUS SIGN}"


def format_pounds(amount: Any, *, unsigned: bool = False) -> str:
    """``amount`` (Decimal, int, float or numeric text) as "£1,234.50"; None as "".

    ``unsigned`` drops the sign, for credit notes, whose lines are stored negative but read as
    the positive amount credited.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(PENNY, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(amount)
    text = f"£{abs(value):,.2f}"
    return MINUS + text if value < 0 and not unsigned else text


@register.filter
def pounds(amount: Any, arg: str = "") -> str:
    """``{{ amount|pounds }}``; ``{{ amount|pounds:"unsigned" }}`` for an amount credited."""
    return format_pounds(amount, unsigned=arg == "unsigned")
