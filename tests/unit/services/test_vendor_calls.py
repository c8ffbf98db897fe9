"""Vendor tools in the tools/call pipeline: the call goes to the egress function with the vendor target (never a
credential), and what the egress reports decides who pays and what the audit says."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
from mcp_steward.contracts.vendor_target import VendorTarget, target_of
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord
from mcp_steward.services.calls import CallTool
from mcp_steward.services.tools import ToolService
from tests.unit.services.test_call_tool import NOW, Pipeline, Tool, build

VENDOR = ServerRecord(
    ServerName("calc"),
    ServerKind.VENDOR,
    "",
    0,
    url="https://calc.example/mcp",
    allowed_hosts=("calc.example",),
    secret_id="stack/vendor/calc",
    auth_header="Authorization: Bearer {secret}",
)


class Egress:
    """The egress function, faked: records what it was sent, answers ``answer``."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        self.sent.append((server.function_name, envelope))
        return {"jsonrpc": "2.0", "id": envelope["message"]["id"], "result": self.result}


def vendor_pipeline(result: dict[str, Any]) -> tuple[Pipeline, Egress]:
    pipeline = build()
    [tool] = pipeline.registry.tools_of(ServerName("calc"))
    pipeline.registry.put_server(VENDOR, [replace(tool, pinned_version=None)])
    egress = Egress(result)
    invoker = RoutingInvoker(Tool(), EgressInvoker(egress, "stack-egress", 20))
    service = ToolService(pipeline.registry, pipeline.grants)
    pipeline.call = CallTool(service, pipeline.budgets, invoker, clock=lambda: NOW)
    return pipeline, egress


def refusal(reason: str, *, sent: bool, rule: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"steward/reason": reason, "steward/sent": sent}
    if rule:
        meta["steward/rule"] = rule
    return {"content": [{"type": "text", "text": "refused"}], "isError": True, "_meta": meta}


def test_a_vendor_call_goes_to_the_egress_function_with_the_target_by_reference() -> None:
    pipeline, egress = vendor_pipeline({"content": [{"type": "text", "text": "3"}], "structuredContent": {"result": 3}})
    assert pipeline.run()["structuredContent"] == {"result": 3}
    [(function, envelope)] = egress.sent
    assert function == "stack-egress"
    assert target_of(envelope) == VendorTarget(
        "calc", VENDOR.url or "", VENDOR.allowed_hosts, VENDOR.secret_id, VENDOR.auth_header
    )
    assert envelope["message"]["params"] == {"name": "add", "arguments": {"a": 1, "b": 2}}
    assert pipeline.budgets.ledger[-1].cost_micros == 1_000_000  # the fixed price; a vendor reports no units


def test_an_egress_refusal_is_not_charged_and_is_audited_with_its_rule() -> None:
    pipeline, _ = vendor_pipeline(refusal("egress_refused", sent=False, rule="private_address"))
    result = pipeline.run()
    assert result["isError"] is True and result["_meta"]["steward/reason"] == "egress_refused"
    assert pipeline.team()[3] == 0
    assert pipeline.budgets.ledger[-1].outcome is Outcome.NOT_INVOKED
    record = pipeline.budgets.audit[-1]
    assert (record.decision, record.reason) == (Decision.ALLOWED, "egress_refused")
    assert record.detail["rule"] == "private_address" and record.detail["sent"] is False


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [("vendor_timeout", Outcome.UNKNOWN), ("malformed_response", Outcome.UNKNOWN), ("interactive", Outcome.TOOL_ERROR)],
)
def test_a_vendor_failure_after_sending_costs_the_fixed_price(reason: str, outcome: Outcome) -> None:
    pipeline, _ = vendor_pipeline(refusal(reason, sent=True))
    pipeline.run()
    assert pipeline.team()[3] == 1_000_000
    assert pipeline.budgets.ledger[-1].outcome is outcome
    assert pipeline.budgets.audit[-1].reason == reason


def test_an_internal_tool_cannot_claim_an_egress_refusal_to_go_free() -> None:
    pipeline = build()
    pipeline.tool.behaviour = lambda args: refusal("egress_refused", sent=False)
    pipeline.run()
    assert pipeline.budgets.ledger[-1].outcome is Outcome.TOOL_ERROR
    assert pipeline.team()[3] == 1_000_000


def test_vendor_servers_without_an_egress_function_are_not_callable() -> None:
    with pytest.raises(InvocationError) as excinfo:
        RoutingInvoker(Tool(), None).invoke(VENDOR, {}, deadline_ms=0)
    assert excinfo.value.reason == "function_not_found"
