"""What a tool function sees of the call: who it is for, its deadline, and a way to report metered units."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mcp_steward.sdk.envelope import Principal, StewardContext


class ToolError(Exception):
    """Raised by a tool to fail the call with a message the model may read (an ``isError`` result).

    Only raise it with text that is safe to show the caller: it is returned verbatim.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ToolContext:
    """Per-call context handed to a tool (or a resource, prompt or completer) through a parameter annotated
    ``ToolContext``.

    Attributes:
        request_id: Governance's request id (put it in your logs).
        principal: The person or service the call is for (``id``, ``team``, ``obo``).
        deadline_ms: Epoch milliseconds after which governance no longer waits for the answer.
        delegation: The raw delegation token for nested calls (:meth:`call_tool`), or None when this server
            may make none.
        tool_name: The name of the tool being called; for a resource read, the URI read; for a prompt get, the
            prompt's name; for a completion, the prompt's name or the resource template.
    """

    __slots__ = (
        "_clock_ms",
        "_lambda_remaining",
        "_nested",
        "_units",
        "deadline_ms",
        "delegation",
        "principal",
        "request_id",
        "tool_name",
    )

    def __init__(
        self,
        steward: StewardContext,
        tool_name: str,
        *,
        lambda_context: object = None,
        clock_ms: Callable[[], int] | None = None,
        nested: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
    ) -> None:
        self.request_id: str = steward.request_id
        self.principal: Principal = steward.principal
        self.deadline_ms: int = steward.deadline_ms
        self.delegation: str | None = steward.delegation
        self.tool_name = tool_name
        self._clock_ms = clock_ms or _now_ms
        remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
        self._lambda_remaining: Callable[[], int] | None = remaining if callable(remaining) else None
        self._units: int | None = None
        self._nested = nested

    def remaining_ms(self) -> int:
        """Milliseconds left before the envelope's deadline (or the Lambda timeout, if sooner); never negative."""
        left = self.deadline_ms - self._clock_ms()
        if self._lambda_remaining is not None:
            left = min(left, int(self._lambda_remaining()))
        return max(left, 0)

    def report_units(self, units: int) -> None:
        """Set the call's metered units (``_meta["steward/units"]`` of the result); the last report wins.

        Raises:
            ValueError: ``units`` is not an integer greater than or equal to zero.
        """
        if isinstance(units, bool) or not isinstance(units, int) or units < 0:
            raise ValueError("units must be an integer >= 0")
        self._units = units

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call another tool through Steward on behalf of this call's principal, within this call's deadline.

        Steward authorizes the call for this server (and the person, in ``intersect`` mode), charges the
        person's team within this invocation's nested allowance, and records the chain.

        Returns:
            The tool's ``CallToolResult``: ``content``, ``structuredContent``, and ``isError`` when it failed.

        Raises:
            NestedCallError: Steward refused the call (its ``reason`` says why) or could not make it.
        """
        from mcp_steward.sdk.nested import call_tool, lambda_transport

        return call_tool(self._nested or lambda_transport, self.delegation, name, arguments, self.remaining_ms())

    @property
    def units(self) -> int | None:
        """The units reported so far, or None."""
        return self._units


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
