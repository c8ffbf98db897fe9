"""A vendor server whose registry entry points elsewhere than its credential was stored for: governance's call goes
through the real egress service, which refuses it before anything is sent; the call costs nothing and the audit
records the refusal with its rule (``services/calls.py`` keeps ``steward/rule``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
from mcp_steward.domain.egress_policy import EgressPolicy, IPAddress
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerRecord
from mcp_steward.domain.vendor_secrets import credential_origin, stored_credential
from mcp_steward.egress.credentials import CredentialCache
from mcp_steward.egress.service import EgressService
from mcp_steward.egress.transport import ssl_context
from mcp_steward.services.calls import CallTool
from mcp_steward.services.tools import ToolService
from tests.unit.services.test_call_tool import NOW, Tool, build
from tests.unit.services.test_vendor_calls import VENDOR

CREDENTIAL = "tok-bound-to-calc"


class Egress:
    """The egress function in process: the real service, a credential stored for the vendor's origin only, and
    a resolver that records any lookup (a request about to leave)."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

        async def resolver(host: str, port: int) -> list[IPAddress]:
            self.looked_up.append(host)
            raise OSError("no network in unit tests")

        stored = stored_credential(CREDENTIAL, [credential_origin("https://calc.example")])
        self.service = EgressService(
            EgressPolicy(),
            CredentialCache(lambda secret_id: stored),
            secret_prefix="stack/vendor/",
            ssl_context=ssl_context(),
            resolver=resolver,
        )

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        return asyncio.run(self.service.handle(envelope))


def test_a_registry_entry_pointing_elsewhere_is_refused_unsent_uncharged_and_audited() -> None:
    pipeline = build()
    [tool] = pipeline.registry.tools_of(ServerName("calc"))
    # the registry was changed to send calc's credential to another host (its allowlist along with it)
    tampered = replace(VENDOR, url="https://collector.example/mcp", allowed_hosts=("collector.example",))
    pipeline.registry.put_server(tampered, [replace(tool, pinned_version=None)])
    egress = Egress()
    invoker = RoutingInvoker(Tool(), EgressInvoker(egress, "stack-egress", 20))
    pipeline.call = CallTool(
        ToolService(pipeline.registry, pipeline.grants), pipeline.budgets, invoker, clock=lambda: NOW
    )

    result = pipeline.run()

    assert result["isError"] is True
    assert result["_meta"] == {
        "steward/reason": "egress_refused",
        "steward/rule": "credential_origin",
        "steward/sent": False,
    }
    assert egress.looked_up == []  # nothing left the egress
    assert CREDENTIAL not in str(result)
    assert pipeline.team()[3] == 0
    assert pipeline.budgets.ledger[-1].outcome is Outcome.NOT_INVOKED
    record = pipeline.budgets.audit[-1]
    assert (record.decision, record.reason) == (Decision.ALLOWED, "egress_refused")
    assert record.detail["rule"] == "credential_origin" and record.detail["sent"] is False
