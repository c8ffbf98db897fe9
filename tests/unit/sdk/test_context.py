from __future__ import annotations

import pytest

from mcp_steward.sdk import StewardContext, ToolContext
from tests.unit.sdk.helpers import steward


class FakeLambdaContext:
    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


def _context(deadline_ms: int, now_ms: int, lambda_context: object = None) -> ToolContext:
    envelope = StewardContext.decode(steward(deadline_ms=deadline_ms))
    return ToolContext(envelope, "t", lambda_context=lambda_context, clock_ms=lambda: now_ms)


def test_remaining_time_counts_down_to_the_envelope_deadline() -> None:
    assert _context(deadline_ms=10_000, now_ms=7_500).remaining_ms() == 2_500


def test_remaining_time_is_never_negative() -> None:
    assert _context(deadline_ms=10_000, now_ms=12_000).remaining_ms() == 0


def test_remaining_time_is_bounded_by_the_lambda_timeout_when_sooner() -> None:
    assert _context(deadline_ms=10_000, now_ms=0, lambda_context=FakeLambdaContext(900)).remaining_ms() == 900


@pytest.mark.parametrize("units", [-1, True, 1.5, "3"])
def test_units_must_be_a_non_negative_integer(units: object) -> None:
    with pytest.raises(ValueError, match="units"):
        _context(deadline_ms=1, now_ms=0).report_units(units)  # type: ignore[arg-type]


def test_the_last_reported_units_win() -> None:
    ctx = _context(deadline_ms=1, now_ms=0)
    ctx.report_units(4)
    ctx.report_units(0)
    assert ctx.units == 0
