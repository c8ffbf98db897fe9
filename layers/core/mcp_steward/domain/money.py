"""Money is integer micro-credits (1 credit = 1,000,000 micros). Never floats; decimal strings at the edges."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final, NewType

Micros = NewType("Micros", int)

MICROS_PER_CREDIT: Final = 1_000_000
#: Far above any real budget, far below DynamoDB's 38-digit numbers: sums of many amounts stay exact.
MAX_MICROS: Final = 10**18
_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,6})?")


class AmountError(ValueError):
    """An amount that is not a non-negative decimal number of credits with at most six decimals."""


def parse_credits(text: str) -> Micros:
    """``"1.5"`` → ``Micros(1_500_000)``. Refuses negatives, exponents, more than six decimals, and huge values.

    Raises:
        AmountError: the text is not such an amount (the message quotes it).
    """
    value = text.strip()
    if _DECIMAL.fullmatch(value) is None:
        raise AmountError(f"{text!r} is not an amount of credits (a non-negative decimal, at most 6 decimals)")
    try:
        micros = int(Decimal(value) * MICROS_PER_CREDIT)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise AmountError(f"{text!r} is not an amount of credits") from exc
    return Micros(micros)


def format_credits(micros: int) -> str:
    """``1_500_000`` → ``"1.500000"``; negative amounts keep their sign (they show a shortfall)."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_CREDIT)
    return f"{sign}{whole}.{fraction:06d}"


def money_fields(name: str, micros: int) -> dict[str, int | str]:
    """The pair every listing shows for an amount: ``<name>_micro`` (integer) and ``<name>`` (decimal string)."""
    return {f"{name}_micro": micros, name: format_credits(micros)}
