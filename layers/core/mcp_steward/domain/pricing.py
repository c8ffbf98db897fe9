"""What a call may cost and what it does cost: a fixed price plus optional metered units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mcp_steward.domain.money import Micros

#: The most units a call may be charged for (keeps every product of amounts exact).
MAX_UNITS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    """``price`` per call, plus ``unit_price`` for each unit the tool reports, up to ``max_units``."""

    price: Micros = Micros(0)  # noqa: RUF009 - NewType is the identity at run time
    unit_price: Micros = Micros(0)  # noqa: RUF009
    max_units: int = 0

    @property
    def is_free(self) -> bool:
        return self.maximum == 0

    @property
    def maximum(self) -> Micros:
        """What is reserved before the call: the most the call can cost."""
        return Micros(self.price + self.unit_price * self.max_units)

    def actual(self, units: int | None) -> Micros:
        """What the call costs given the units the tool reported (capped at ``max_units``; none → zero)."""
        metered = min(max(units or 0, 0), self.max_units)
        return Micros(self.price + self.unit_price * metered)
