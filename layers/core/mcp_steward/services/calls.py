"""``tools/call``: the pipeline of docs/design.md section 3, steps 3 to 10, and every decision recorded.

resolve (cached registry) → authorize (cached grants; unknown and not granted answer alike) → integrity
(approved, else ``quarantined`` for a grant holder) → validate arguments (not charged, not invoked) →
reserve (one transaction that re-checks the grant and the tool, counts the rate limits, holds the maximum
cost, writes the idempotency record) → invoke (one attempt, absolute deadline) → validate output → settle
(one transaction: charge, release the rest, ledger entry, audit record).

Who pays when things go wrong: refused before invoke → nothing; the tool answered ``isError`` or crashed →
its fixed price; timeout, transport failure or garbage after invoking → fixed price, no metered units, ledger
outcome ``unknown``; an output-schema violation → charged, with an audit finding.

Once a tool was invoked, its reservation is settled whatever goes wrong afterwards: a result that cannot be
read, checked or kept becomes the tool's malformed answer, and a settlement the store refuses is settled again
without the parts it refused (the kept result, the detail); only a store that cannot answer leaves it to the
sweeper.

An idempotency key is scoped (:mod:`mcp_steward.domain.idempotency`): a repeat of the very same call in the
same scope replays its result, not charged, and is audited as its own decision pointing at the original.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from mcp_steward.contracts import result_meta
from mcp_steward.domain.budgets import (
    NO_NESTING,
    Denied,
    GrantRevoked,
    NestedAllowance,
    OwnerKind,
    PeriodMissing,
    Replay,
    Reservation,
    ReservationRequest,
    ToolNotCallable,
    no_budget,
    period_of,
    settlement_of,
)
from mcp_steward.domain.delegation import DelegationClaims, child_claims, mint, root_claims
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.idempotency import MAX_KEY_CHARS, IdempotencyKey, arguments_digest
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.ports import (
    CallConfig,
    CallLedger,
    DelegationKeys,
    InvocationError,
    StoreRejectedError,
    StoreUnavailableError,
    ToolInvoker,
)
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord, Decision, Outcome
from mcp_steward.domain.registry import DelegationMode, Primitive, ServerKind, ServerRecord, ToolRecord
from mcp_steward.protocol.errors import (
    GovernanceDeniedError,
    InvalidParamsError,
    ResourceNotFoundError,
    StewardError,
    UnknownPromptError,
    UnknownToolError,
)
from mcp_steward.protocol.negotiation import check_param_headers
from mcp_steward.services import primitives
from mcp_steward.services.caching import DEFAULT_TTL_S, TtlCache
from mcp_steward.services.tools import ToolService, envelope_for, tool_error_result, tool_result
from mcp_steward.services.validation import (
    InvalidSchemaError,
    SchemaValidators,
    invalid_arguments_result,
    invalid_output_result,
    validate_arguments,
    validate_output,
)

_log = logging.getLogger(__name__)

#: Added to the governance function's timeout for a reservation's expiry: its owner is then provably gone.
RESERVATION_MARGIN: Final = timedelta(seconds=60)
IDEMPOTENCY_META: Final = result_meta.IDEMPOTENCY_KEY
#: Invocation failures that mean the tool never ran: nothing is charged.
NOT_INVOKED: Final = frozenset(
    {"function_not_found", "throttled", "deadline_exceeded", "function_forbidden", "request_too_large"}
)


@dataclass(frozen=True, slots=True)
class CallRequest:
    principal: Principal
    request_id: str
    rpc_id: str | int
    name: object
    arguments: object
    deadline_ms: int
    meta: dict[str, Any] | None = None
    #: A nested call: the verified delegation token it came with (``principal`` is then the token's person).
    delegation: DelegationClaims | None = None
    #: What is used: a tool (``tools/call``), a prompt (``prompts/get``: ``name`` and its ``arguments``) or a
    #: resource (``resources/read``: ``name`` is the URI, ``arguments`` unused). Nested calls are tool calls.
    kind: Primitive = Primitive.TOOL
    #: A modern tools/call's ``Mcp-Param-*`` headers (SEP-2243), checked against the tool's ``x-mcp-header``
    #: arguments once the tool is resolved for a grant holder; None: not checked (the legacy era, nested calls).
    mirrored: Mapping[str, list[str]] | None = None


class CallObserver(Protocol):
    """What the pipeline reports for metrics (``observability.MetricsObserver`` in Lambda)."""

    def allowed(self, tool: str, team: str, cost_micros: int, outcome: Outcome, latency_ms: float) -> None: ...

    def denied(self, reason: str) -> None: ...

    def conflict_retry(self) -> None: ...


class NullObserver:
    """Reports nothing: the local plane and tests."""

    def allowed(self, tool: str, team: str, cost_micros: int, outcome: Outcome, latency_ms: float) -> None:
        return None

    def denied(self, reason: str) -> None:
        return None

    def conflict_retry(self) -> None:
        return None


class CallTool:
    def __init__(
        self,
        tools: ToolService,
        budgets: CallLedger,
        invoker: ToolInvoker,
        *,
        function_timeout: timedelta = timedelta(seconds=28),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observer: CallObserver | None = None,
        config_ttl_s: float = DEFAULT_TTL_S,
        delegation_keys: DelegationKeys | None = None,
    ) -> None:
        self._tools = tools
        self._budgets = budgets
        self._invoker = invoker
        self._expiry = function_timeout + RESERVATION_MARGIN
        self._clock = clock
        self._observer = observer or NullObserver()
        self._configs: TtlCache[tuple[str, str, str], CallConfig] = TtlCache(config_ttl_s)
        self._validators = SchemaValidators()
        self._delegation_keys = delegation_keys

    def __call__(self, request: CallRequest) -> dict[str, Any]:
        started = time.perf_counter()
        at = self._clock()
        principal = request.principal
        name = request.name if isinstance(request.name, str) else ""
        try:
            tool, grants, target = self._resolve(request)
        except (UnknownToolError, UnknownPromptError, ResourceNotFoundError):
            self._deny(request, at, name[:128], "unknown_tool")
            raise
        except Denied as denial:
            self._deny(request, at, name, denial.reason, denial)
            raise _protocol(denial) from None
        if request.mirrored is not None:
            # Only a grant holder of an approved tool gets here: the headers reveal no schema to anyone else.
            check_param_headers(tool.definition.get("inputSchema"), request.arguments, request.mirrored)
        if request.kind is Primitive.RESOURCE:
            # What the idempotency record binds: the server's own URI (a template is read for many).
            arguments: object = {"uri": target}
        else:
            arguments = request.arguments if request.arguments is not None else {}
        key = _schema_key(tool)
        schema = (
            primitives.prompt_arguments_schema(tool.definition)
            if request.kind is Primitive.PROMPT
            else tool.definition.get("inputSchema")
            if request.kind is Primitive.TOOL
            else {"type": "object"}
        )
        try:
            report = validate_arguments(self._validators, key, schema, arguments)
        except InvalidSchemaError as invalid:
            # The registered schema cannot check anything (registration should have refused it): fail closed,
            # answered like any refused arguments, never a 5xx; the admin reads why in the audit and the log.
            _log.warning("the input schema of %s is invalid: %s", tool.exposed_name, invalid.detail[:200])
            self._deny(request, at, tool.exposed_name, "invalid_arguments", detail={"schema": "invalid"})
            return tool_error_result(
                f"The tool {tool.exposed_name} cannot be called now: its registered input schema is invalid.",
                "invalid_arguments",
            )
        if not report.valid:
            self._deny(request, at, tool.exposed_name, "invalid_arguments")
            if request.kind is not Primitive.TOOL:
                raise primitives.invalid_arguments_error(report)
            return invalid_arguments_result(report)
        assert isinstance(arguments, dict)  # validate_arguments refuses anything else
        try:
            idempotency_key = _scoped_key(request, tool.exposed_name, arguments)
        except InvalidParamsError:
            self._deny(request, at, tool.exposed_name, "invalid_idempotency_key")
            raise
        config = self._configs.get(
            (principal.team, principal.id, tool.exposed_name),
            lambda: self._budgets.call_config(principal.team, principal.id, tool.exposed_name),
        )
        if not tool.price.is_free and config.team_limit is None:
            refusal = no_budget(principal.team, period_of(at), tool.price.maximum)
            self._deny(request, at, tool.exposed_name, refusal.reason)
            raise _protocol(refusal)
        server = self._tools.server_of(tool)
        reservation_request = ReservationRequest(
            request_id=request.request_id,
            principal=principal,
            tool=tool.exposed_name,
            server=tool.server,
            grants=grants,
            price=tool.price,
            team_budget=config.team_limit is not None,
            cap=config.cap is not None,
            rate_limits=config.rate_limits,
            idempotency_key=idempotency_key,
            at=at,
            expires_at=at + self._expiry,
            pin=tool.pinned_hash,
            allowance=_allowance(server),
            parent=request.delegation.rid if request.delegation is not None else None,
            chain=(*request.delegation.chain, tool.server) if request.delegation is not None else (),
        )
        try:
            held = self._reserve(reservation_request)
        except Denied as denial:
            self._deny(request, at, tool.exposed_name, denial.reason, denial)
            raise _protocol(denial) from None
        except GrantRevoked:
            self._deny(request, at, tool.exposed_name, "grant_revoked")
            raise UnknownToolError(request.name) from None
        except ToolNotCallable:
            self._deny(request, at, tool.exposed_name, "quarantined")
            raise _protocol(Denied("quarantined", f"The tool {tool.exposed_name} is not callable now.")) from None
        except StoreRejectedError:
            # Retrying cannot fix it: an internal error, recorded, never "try again".
            _log.exception("the store refused reservation %s", request.request_id)
            self._try_deny(request, at, tool.exposed_name, "internal_error")
            raise StewardError("Internal error: the call could not be reserved") from None
        except StoreUnavailableError:
            self._try_deny(request, at, tool.exposed_name, "service_unavailable")
            raise
        if isinstance(held, Replay):
            self._record_replay(request, at, tool.exposed_name, held)
            return primitives.answer_of(request.kind, held.result, _public(request, tool))
        result = self._invoke_and_settle(request, tool, server, held, arguments, started, target)
        return primitives.answer_of(request.kind, result, _public(request, tool))

    def _record_replay(self, request: CallRequest, at: datetime, tool: str, replay: Replay) -> None:
        """Audit an idempotent repeat as its own decision (not charged), pointing at the call it repeats."""
        record = _decision(request, at, tool, Decision.ALLOWED, "idempotent_replay", {"original": replay.original})
        try:
            self._budgets.record(record)
        except (StoreUnavailableError, StoreRejectedError):
            # The replay costs nothing and changes nothing: answer it, and say the record is missing.
            _log.exception("the audit record of replay %s was not written", request.request_id)

    def _resolve(self, request: CallRequest) -> tuple[ToolRecord, tuple[Grant, ...], str]:
        """The entry, the grants to re-check and what the server calls it (its upstream tool or prompt name,
        or its own URI); a nested call is authorized for the server making it.

        Raises:
            UnknownToolError, UnknownPromptError, ResourceNotFoundError: no such entry, or not granted.
            Denied: ``quarantined``; ``delegation_invalid`` for a nested call that would close a cycle, go
                too deep, or comes from a server that is not registered (``target``).
        """
        nested = request.delegation
        if request.kind is Primitive.PROMPT:
            name = request.name
            entry = self._tools.catalog().prompts.get(name) if isinstance(name, str) else None
            prompt, grants = self._tools.resolve_entry(request.principal, entry, lambda: UnknownPromptError(name))
            return prompt, grants, prompt.upstream_name
        if request.kind is Primitive.RESOURCE:
            found = self._tools.find_resource(request.name)
            uri = request.name
            resource, grants = self._tools.resolve_entry(
                request.principal, found[0] if found else None, lambda: ResourceNotFoundError(uri)
            )
            assert found is not None
            return resource, grants, found[1]
        if nested is None:
            tool, grants = self._tools.resolve(request.principal, request.name)
            return tool, grants, tool.upstream_name
        caller = self._tools.server_named(nested.caller_server)
        if caller is None or not caller.delegation.enabled:
            raise Denied("delegation_invalid", "The calling server may not make nested calls.", {"why": "target"})
        tool, grants = self._tools.resolve(
            request.principal,
            request.name,
            acting_server=caller.name,
            intersect=caller.delegation.mode is DelegationMode.INTERSECT,
        )
        if tool.server in nested.chain:
            raise Denied("delegation_invalid", f"{tool.server} is already in this call's chain.", {"why": "cycle"})
        if nested.depth + 1 > nested.max_depth:
            message = f"Nested calls may go {nested.max_depth} servers deep."
            raise Denied("delegation_invalid", message, {"why": "depth"})
        return tool, grants, tool.upstream_name

    def _delegation_token(self, request: CallRequest, server: ServerRecord, deadline_ms: int) -> str | None:
        """The token this invocation may make nested calls with; None when its server may make none (or the
        key cannot be read: the tool then runs, but its nested calls are refused)."""
        if self._delegation_keys is None or server.kind is not ServerKind.INTERNAL or not server.delegation.enabled:
            return None
        try:
            kid, key = self._delegation_keys.signing_key()
        except StoreUnavailableError:
            _log.warning("delegation key unavailable: %s invoked without a delegation token", server.name)
            return None
        now_s = int(self._clock().timestamp())
        parent = request.delegation
        if parent is None:
            claims = root_claims(
                kid=kid,
                request_id=request.request_id,
                server=server.name,
                person=request.principal.id,
                obo=request.principal.obo,
                team=request.principal.team,
                now_s=now_s,
                deadline_ms=deadline_ms,
            )
        else:
            claims = child_claims(parent, kid=kid, request_id=request.request_id, server=server.name, now_s=now_s)
        return mint(claims, key)

    def _reserve(self, request: ReservationRequest) -> Reservation | Replay:
        """Reserve; a missing period item is created from its standing limit once, then the reserve retried."""
        for _ in range(3):
            try:
                return self._budgets.reserve(request)
            except PeriodMissing as missing:
                if not self._budgets.open_period(missing.owner, missing.period):
                    if missing.owner.kind is OwnerKind.TEAM:
                        raise no_budget(missing.owner.name, missing.period, request.price.maximum) from None
                    raise Denied("cap_exceeded", "The principal's cap has no standing limit.") from None
        raise Denied("budget_exceeded", "The budget could not be opened for this period; try again.")

    def _invoke_and_settle(
        self,
        request: CallRequest,
        tool: ToolRecord,
        server: ServerRecord,
        reservation: Reservation,
        arguments: dict[str, Any],
        started: float,
        target: str,
    ) -> dict[str, Any]:
        delegation = self._delegation_token(request, server, request.deadline_ms)
        if request.kind is Primitive.TOOL:
            envelope = envelope_for(
                request.request_id,
                request.deadline_ms,
                request.principal,
                request.rpc_id,
                tool.upstream_name,
                arguments,
                delegation=delegation,
            )
        else:
            envelope = primitives.envelope_of(request, request.kind, target, arguments, delegation)
        price = tool.price
        result: dict[str, Any]
        reason: str | None = None  # the audit's reason when not the outcome's (an egress refusal, say)
        detail: dict[str, Any] = {}
        try:
            # The approved code: the version pinned at approval, whatever has been deployed since.
            answer = self._invoker.invoke(
                server, envelope, deadline_ms=request.deadline_ms, version=tool.pinned_version
            )
        except InvocationError as failure:
            result, outcome, cost, units = self._failed(failure, price)
        except Exception:
            # Whatever the invoker raised, the reservation is settled: like a transport failure after invoking.
            _log.exception("invoking %s failed unexpectedly", tool.exposed_name)
            result = tool_error_result(f"The tool {tool.exposed_name} could not be reached.", "invoke_failed")
            outcome, cost, units = Outcome.UNKNOWN, price.price, 0
        else:
            try:
                result, outcome, cost, units, reason, detail = self._read_answer(answer, tool, server)
            except Exception:
                # A result that cannot even be read or checked is the tool's malformed answer, never a 5xx
                # after the call was charged.
                _log.exception("the answer of %s could not be read", tool.exposed_name)
                result = tool_error_result(f"The tool {tool.exposed_name} returned a malformed result.", "malformed")
                outcome, cost, units, reason, detail = Outcome.UNKNOWN, price.price, 0, None, {}
        latency_ms = (time.perf_counter() - started) * 1000
        self._settle(reservation, cost, units, outcome, latency_ms, result, reason=reason, detail=detail)
        return result

    @staticmethod
    def _failed(failure: InvocationError, price: Price) -> tuple[dict[str, Any], Outcome, int, int]:
        """A failed invocation's answer and charge: nothing when the tool never ran, else its fixed price."""
        result = tool_error_result(failure.message, failure.reason)
        if failure.reason in NOT_INVOKED:
            return result, Outcome.NOT_INVOKED, 0, 0
        if failure.reason == "function_error":
            return result, Outcome.TOOL_ERROR, price.price, 0
        return result, Outcome.UNKNOWN, price.price, 0

    def _read_answer(
        self, answer: dict[str, Any], tool: ToolRecord, server: ServerRecord
    ) -> tuple[dict[str, Any], Outcome, int, int, str | None, dict[str, Any]]:
        """A tool's answer as the result to return, its outcome and charge, and the audit's reason and detail."""
        price = tool.price
        reason: str | None = None
        detail: dict[str, Any] = {}
        result: dict[str, Any]
        cost: int
        if tool.kind is not Primitive.TOOL:
            read = primitives.read_answer(answer, tool, server)
            return read.result, read.outcome, read.cost, read.units, read.reason, read.detail
        parsed = tool_result(answer, tool.exposed_name)
        if parsed is not None and not isinstance(parsed.get("isError", False), bool):
            parsed = None  # "isError": "true", 0, null...: not a tools/call result, whatever its truthiness says
        if parsed is None:
            result = tool_error_result(f"The tool {tool.exposed_name} returned a malformed result.", "malformed")
            outcome, cost, units = Outcome.UNKNOWN, price.price, 0
        elif parsed.get("isError") and server.kind is ServerKind.VENDOR and (failure := _egress_failure(parsed)):
            result, units = parsed, 0
            reason, detail = failure.reason, failure.audit_detail()
            if not failure.sent:
                outcome, cost = Outcome.NOT_INVOKED, 0
            elif reason == "interactive":
                outcome, cost = Outcome.TOOL_ERROR, price.price
            else:
                outcome, cost = Outcome.UNKNOWN, price.price
        elif parsed.get("isError"):
            result, outcome, cost, units = parsed, Outcome.TOOL_ERROR, price.price, 0
        else:
            units = _units(parsed, price.max_units)
            cost = price.actual(units)
            meta = parsed.get("_meta")
            if isinstance(meta, dict) and result_meta.UNITS in meta and meta[result_meta.UNITS] != units:
                # the caller (and a replay) sees the units charged, not a number no client can read
                parsed = {**parsed, "_meta": {**meta, result_meta.UNITS: units}}
            result, outcome = parsed, Outcome.OK
            output_schema = tool.definition.get("outputSchema")
            if output_schema is not None:
                report = validate_output(
                    self._validators, _schema_key(tool), output_schema, parsed.get("structuredContent")
                )
                if not report.valid:
                    result, outcome = invalid_output_result(report), Outcome.INVALID_OUTPUT
            if isinstance(result.get("structuredContent"), (list, str, int, float, bool)):
                result = {**result, "structuredContent": {"result": result["structuredContent"]}}
        return result, outcome, cost, units, reason, detail

    def _settle(
        self,
        reservation: Reservation,
        cost: int,
        units: int,
        outcome: Outcome,
        latency_ms: float,
        result: dict[str, Any],
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        finding = {"finding": "invalid_output"} if outcome is Outcome.INVALID_OUTPUT else {}
        settlement = settlement_of(
            reservation,
            at=self._clock(),
            cost=cost,
            units=units,
            outcome=outcome,
            latency_ms=int(latency_ms),
            reason=reason or outcome.value,
            detail={**finding, **(detail or {})},
            replay=result,
        )
        try:
            self._budgets.settle(settlement)
        except StoreUnavailableError:
            # The tool ran: answer with its result rather than invite a retry that would run it again. The
            # reservation stays open and the sweeper settles it after its expiry (fixed price, outcome unknown).
            _log.exception("settle failed; the sweeper will close reservation %s", reservation.request_id)
        except Exception:
            # The store refused something this settlement carries (the result to keep, a detail): the money is
            # settled again without them, rather than left held until the sweeper charges the fixed price.
            _log.exception("settle refused; settling reservation %s without its result", reservation.request_id)
            bare = settlement_of(
                reservation,
                at=settlement.ledger.at,
                cost=settlement.cost,
                units=settlement.ledger.units,
                outcome=outcome,
                latency_ms=int(latency_ms),
                reason=outcome.value,
                replay=None,
            )
            try:
                self._budgets.settle(bare)
            except Exception:
                _log.exception("settle failed; the sweeper will close reservation %s", reservation.request_id)
        self._observer.allowed(reservation.tool, reservation.team, settlement.cost, outcome, latency_ms)

    def _try_deny(self, request: CallRequest, at: datetime, tool: str, reason: str) -> None:
        """Record a refusal whose cause may also keep the audit from being written (a failing store)."""
        try:
            self._deny(request, at, tool, reason)
        except Exception:
            _log.exception("the audit record of refused request %s was not written", request.request_id)

    def _deny(
        self,
        request: CallRequest,
        at: datetime,
        tool: str,
        reason: str,
        denial: Denied | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record a refusal; a nested call's names its parent and chain, a delegation refusal its ``why``."""
        detail = dict(detail or {})
        if denial is not None and denial.reason == "delegation_invalid":
            detail["why"] = denial.data.get("why")
        self._budgets.record(_decision(request, at, tool, Decision.DENIED, reason, detail))
        self._observer.denied(reason)


def _decision(
    request: CallRequest, at: datetime, tool: str, decision: Decision, reason: str, detail: dict[str, Any]
) -> AuditRecord:
    """A decision's audit record; a nested call's names its parent and chain."""
    principal = request.principal
    if request.delegation is not None:
        detail = {**detail, "parent": request.delegation.rid, "chain": list(request.delegation.chain)}
    return AuditRecord(
        kind="decision",
        at=at,
        request_id=request.request_id,
        principal=principal.id,
        obo=principal.obo,
        team=principal.team,
        tool=tool,
        decision=decision,
        reason=reason,
        detail=detail,
    )


def _allowance(server: ServerRecord) -> NestedAllowance:
    """What an invocation of ``server`` may spend on nested calls (nothing for a vendor)."""
    policy = server.delegation
    if server.kind is not ServerKind.INTERNAL or not policy.enabled:
        return NO_NESTING
    return NestedAllowance(calls=policy.calls, credit=policy.credit)


def _public(request: CallRequest, entry: ToolRecord) -> str:
    """What the client named: a read's own URI (a template's entry is read for many), else the entry's name."""
    if request.kind is Primitive.RESOURCE and isinstance(request.name, str):
        return request.name
    return entry.public_name


def _protocol(denial: Denied) -> GovernanceDeniedError:
    return GovernanceDeniedError(denial.reason, denial.message, data=denial.data)


_SCHEMA_KEYS: dict[int, tuple[ToolRecord, str]] = {}


def _schema_key(tool: ToolRecord) -> str:
    """Validators are cached per definition (issue 4 replaces this with the pinned RFC 8785 hash). The digest
    is computed once per tool record: records live as long as the registry cache's catalog (≤ 5 s)."""
    cached = _SCHEMA_KEYS.get(id(tool))
    if cached is not None and cached[0] is tool:
        return cached[1]
    canonical = json.dumps(tool.definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = f"{tool.exposed_name}#{hashlib.sha256(canonical.encode()).hexdigest()}"
    if len(_SCHEMA_KEYS) >= 4096:
        _SCHEMA_KEYS.clear()
    _SCHEMA_KEYS[id(tool)] = (tool, key)
    return key


def _idempotency_key(meta: dict[str, Any] | None) -> str | None:
    if not meta or IDEMPOTENCY_META not in meta:
        return None
    key = meta[IDEMPOTENCY_META]
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
        raise InvalidParamsError(f"_meta[{IDEMPOTENCY_META!r}] must be a string of 1 to {MAX_KEY_CHARS} characters")
    return key


def _scoped_key(request: CallRequest, tool: str, arguments: dict[str, Any]) -> IdempotencyKey | None:
    """The caller's idempotency key in its scope: who pays, for whom, under which parent call, for which tool
    and arguments. A tool server's key on a nested call is namespaced by its parent reservation."""
    key = _idempotency_key(request.meta)
    if key is None:
        return None
    nested = request.delegation
    return IdempotencyKey(
        key=key,
        principal=request.principal.id,
        obo=request.principal.obo,
        parent=nested.rid if nested is not None else None,
        chain=tuple(nested.chain) if nested is not None else (),
        tool=tool,
        arguments=arguments_digest(arguments),
    )


def _egress_failure(result: dict[str, Any]) -> result_meta.EgressFailure | None:
    """The egress failure a vendor call's error result reports, or None (the vendor's own tool error).

    ``sent`` false: the vendor's tool never ran, nothing is charged; an interactive tool ran (fixed price);
    anything else is unknown."""
    try:
        return result_meta.EgressFailure.decode(result.get("_meta"))
    except result_meta.ResultMetaError:
        return None


def _units(result: dict[str, Any], max_units: int) -> int:
    """The units a tool reported, clamped to ``[0, max_units]`` before anything is computed or stored."""
    units = result_meta.reported_units(result.get("_meta"))
    if units is None:
        return 0
    return min(max(units, 0), max_units)
