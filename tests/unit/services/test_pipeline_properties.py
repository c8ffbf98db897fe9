"""Property-based tests of the ``tools/call`` pipeline with the in-memory fakes, against hostile tool servers.

A hypothesis state machine drives :class:`~mcp_steward.services.calls.CallTool` through sequences of calls by
principals of two teams, an agent acting for two people, a principal with a cap, one without any budget and one
without grants, on a priced metered tool and a free one, with idempotency keys drawn from a small pool so that
they repeat across principals, people, tools and arguments. Each call's tool answer is generated: a normal
answer with arbitrary metered units, any JSON, results of the wrong types, deep nesting, text too large for an
idempotency record, JSON-RPC errors, a response that is not a dict, an invocation failure or any exception.

After every step: the answer is a writable ``tools/call`` result or a protocol error; no reservation is left
open; every budget balances and matches the ledger; every ledger entry stays within its tool's price; a result
only ever reaches the scope and the call it was produced for (each normal answer carries a marker of who and what
it ran for, and an idempotent repeat must return the very answer of the same scope's same call); and every step
leaves exactly one decision record, a replay never charged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import MAX_KEPT_RESULT_BYTES, Owner, OwnerKind, RateLimit, RateScope, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.idempotency import arguments_digest
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.ports import InvocationError, StoreUnavailableError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import (
    DENIAL_REASONS,
    GovernanceDeniedError,
    InvalidParamsError,
    StewardError,
    UnknownToolError,
)
from mcp_steward.services.calls import IDEMPOTENCY_META, NOT_INVOKED, CallRequest, CallTool
from mcp_steward.services.tools import ToolService

NOW: Final = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PERIOD: Final = period_of(NOW)
CREDIT: Final = 1_000_000
#: The key under which a fake tool's normal answers say whom and what they ran for.
MARK: Final = "steward-test/for"

# --- the plane: two tools, seven callers ---------------------------------------------------------------------

CALC_PRICE: Final = Price(price=Micros(CREDIT), unit_price=Micros(100_000), max_units=5)  # 1 credit + up to 0.5
CALC_INPUT: Final = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}
CALC_OUTPUT: Final = {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}
ECHO_INPUT: Final = {
    "type": "object",
    "properties": {"text": {"type": "string", "maxLength": 100}},
    "required": ["text"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ToolSpec:
    exposed: str
    upstream: str
    server: str
    price: Price
    definition: dict[str, Any]


CALC: Final = ToolSpec(
    "calc__add", "add", "calc", CALC_PRICE, {"name": "add", "inputSchema": CALC_INPUT, "outputSchema": CALC_OUTPUT}
)
ECHO: Final = ToolSpec("echo__say", "say", "echo", Price(), {"name": "say", "inputSchema": ECHO_INPUT})
TOOLS: Final = {spec.exposed: spec for spec in (CALC, ECHO)}
UPSTREAM: Final = {spec.exposed: spec.upstream for spec in (CALC, ECHO)}


def _principal(pid: str, team: str, obo: str | None = None) -> Principal:
    return Principal(PrincipalId(pid), TeamName(team), obo=PrincipalId(obo) if obo is not None else None)


ALICE: Final = _principal("alice", "finance")  # capped
BOB: Final = _principal("bob", "finance")  # rate limited
DAVE: Final = _principal("dave", "ops")  # a small budget
AGENT_CAROL: Final = _principal("agent", "finance", "carol")
AGENT_ERIN: Final = _principal("agent", "finance", "erin")  # erin may use the echo only
MALLORY: Final = _principal("mallory", "lab")  # a team without any budget
EVE: Final = _principal("eve", "finance")  # no grant of her own; finance's team grant gives her the echo
PRINCIPALS: Final = (ALICE, BOB, DAVE, AGENT_CAROL, AGENT_ERIN, MALLORY, EVE)

GRANTS: Final = (
    Grant(SubjectKind.PRINCIPAL, "alice", "calc__*"),
    Grant(SubjectKind.TEAM, "finance", "echo__say"),
    Grant(SubjectKind.PRINCIPAL, "bob", "calc__add"),
    Grant(SubjectKind.TEAM, "ops", "calc__*"),
    Grant(SubjectKind.TEAM, "ops", "echo__*"),
    Grant(SubjectKind.PRINCIPAL, "agent", "calc__*"),
    Grant(SubjectKind.PRINCIPAL, "agent", "echo__*"),
    Grant(SubjectKind.PRINCIPAL, "carol", "calc__add"),
    Grant(SubjectKind.TEAM, "treasury", "echo__say"),  # carol's team
    Grant(SubjectKind.PRINCIPAL, "erin", "echo__say"),
    Grant(SubjectKind.PRINCIPAL, "mallory", "calc__*"),
    Grant(SubjectKind.PRINCIPAL, "mallory", "echo__*"),
)
USERS: Final = {"carol": "treasury"}  # principal entities an agent may act for (erin has no known team)
#: Who may call what, as the grants above say (the model's own table, not the service's answer).
RESOLVES: Final = {
    ("alice", None): {"calc__add", "echo__say"},
    ("bob", None): {"calc__add", "echo__say"},
    ("dave", None): {"calc__add", "echo__say"},
    ("agent", "carol"): {"calc__add", "echo__say"},
    ("agent", "erin"): {"echo__say"},
    ("mallory", None): {"calc__add", "echo__say"},
    ("eve", None): {"echo__say"},
}
TEAM_LIMITS: Final = {"finance": 200 * CREDIT, "ops": 3 * CREDIT}  # lab has none
CAPS: Final = {"alice": 3 * CREDIT}  # two of her priced calls at most
BOB_PER_MINUTE: Final = 2  # the clock stands still: bob's third reserve is rate limited


# --- a hostile tool server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """What the fake tool does on its next invocation. ``kind`` names the family (the model's expected charge
    depends on it); ``make`` builds the JSON-RPC response from the marker and the arguments, or raises."""

    kind: str
    make: Callable[[list[Any], dict[str, Any]], Any]
    units: object = None
    label: str = ""

    def __repr__(self) -> str:
        return f"Behaviour({self.kind}, units={self.units!r}, {self.label})"


@dataclass
class HostileTool:
    """The invoker: answers what the step's behaviour builds; each normal answer embeds who and what it ran for."""

    behaviour: Behaviour | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> Any:
        self.calls.append(envelope)
        assert self.behaviour is not None
        steward, params = envelope["steward"]["principal"], envelope["message"]["params"]
        marker = [steward["id"], steward["obo"], params["name"], params["arguments"]]
        return self.behaviour.make(marker, params["arguments"])


def _response(result: object) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


def _marker_text(marker: list[Any], pad: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {MARK: marker}
    if pad:
        body["pad"] = pad
    return {"type": "text", "text": json.dumps(body, ensure_ascii=False)}


def _sum(arguments: dict[str, Any]) -> int:
    a, b = arguments.get("a"), arguments.get("b")
    return int(a) + int(b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else 0


def _normal(units: object, structured: bool) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        result: dict[str, Any] = {"content": [_marker_text(marker)], "_meta": {"steward/units": units}}
        if structured:
            result["structuredContent"] = {"result": _sum(arguments), MARK: marker}
        return _response(result)

    return Behaviour("normal", make, units, f"structured={structured}")


def _oversize(units: object, char: str, count: int) -> Behaviour:
    pad = char * count

    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        result = {
            "content": [_marker_text(marker, pad)],
            "structuredContent": {"result": _sum(arguments), MARK: marker},
            "_meta": {"steward/units": units},
        }
        return _response(result)

    return Behaviour("normal", make, units, f"pad={char!r}x{count}")


def _deep(depth: int, as_dict: bool) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        nested: object = {MARK: marker}
        for _ in range(depth):
            nested = {"n": nested} if as_dict else [nested]
        return _response({"content": [_marker_text(marker)], "structuredContent": {"result": 1, "deep": nested}})

    return Behaviour("fixed_price", make, None, f"depth={depth} dict={as_dict}")


def _wrong(field_name: str, value: object) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        result: dict[str, Any] = {"content": [_marker_text(marker)], "structuredContent": {"result": _sum(arguments)}}
        shown = [{MARK: marker}] if value == "marker-list" else value
        result[field_name] = shown
        return _response(result)

    return Behaviour("fixed_price", make, None, f"{field_name}={value!r}")


def _raw_result(result: object) -> Behaviour:
    return Behaviour("arbitrary", lambda marker, arguments: _response(copy.deepcopy(result)), None, repr(result)[:80])


def _dict_result(extra: dict[str, Any], content: list[Any]) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        return _response({**copy.deepcopy(extra), "content": [_marker_text(marker), *copy.deepcopy(content)]})

    return Behaviour("arbitrary", make, None, f"extra={extra!r:.80} content={content!r:.80}")


def _raw_response(response: object) -> Behaviour:
    return Behaviour("arbitrary", lambda marker, arguments: copy.deepcopy(response), None, repr(response)[:80])


def _rpc_error(error: object) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        return {"jsonrpc": "2.0", "id": 1, "error": copy.deepcopy(error)}

    return Behaviour("fixed_price", make, None, f"error={error!r:.80}")


def _failure(reason: str, message: str) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        raise InvocationError(reason, message)

    return Behaviour(
        "not_invoked" if reason in NOT_INVOKED else "fixed_price", make, None, f"InvocationError({reason})"
    )


def _crash(exception: Callable[[], Exception]) -> Behaviour:
    def make(marker: list[Any], arguments: dict[str, Any]) -> Any:
        raise exception()

    return Behaviour("fixed_price", make, None, f"raises {exception()!r:.80}")


# --- strategies -------------------------------------------------------------------------------------------

HUGE_INTS: Final = (10**30, -(10**30), 10**200, -(10**200), 2**53 + 1, 2**63)
TEXTS: Final = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(exclude_categories=()), max_size=6),  # surrogates included
    st.sampled_from(["\ud800", "a\udfffb", "\udbff\udc00", "ż\U0001f422", ""]),
)
SCALARS: Final = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(),  # NaN and infinities included
    TEXTS,
)
ANY_JSON: Final = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4), max_leaves=12
)
UNITS: Final = st.one_of(
    st.sampled_from([-1, -(10**30), 0, 1, 3, 5, 6, 10**30, 10**200, True, False, 2.5, 1e300, "3", None]),
    st.integers(-3, 8),
    st.floats(),
    TEXTS,
)
INVOCATION_REASONS: Final = sorted(
    {*NOT_INVOKED, "function_error", "timeout", "transport_error", "malformed_response", "response_too_large"}
)
EXCEPTIONS: Final = st.sampled_from(
    [
        lambda: RuntimeError("boom"),
        lambda: ValueError("bad \ud800 value"),
        lambda: KeyError("result"),
        lambda: TypeError("not a dict"),
        lambda: RecursionError("too deep"),
        ZeroDivisionError,
        lambda: StoreUnavailableError("the invoker's own store"),
    ]
)

OVERSIZE: Final = st.tuples(
    st.sampled_from([0, 2, 9]),
    # kept (60 KB), and too large: in bytes, whatever the characters count (72 KB of "é", 68 KB of 🐢)
    st.sampled_from([("x", 60_000), ("x", 70_000), ("é", 36_000), ("\U0001f422", 17_000)]),
).map(lambda drawn: _oversize(drawn[0], *drawn[1]))
BEHAVIOURS: Final = st.one_of(
    st.builds(_normal, UNITS, st.booleans()),
    st.builds(_normal, st.integers(0, 5), st.just(True)),
    OVERSIZE,
    OVERSIZE,  # twice: a repeat of an oversize answer's key is what reaches idempotency_result_not_kept
    st.builds(_deep, st.sampled_from([10, 900, 5_000, 30_000]), st.booleans()),
    st.builds(
        _wrong,
        st.just("content"),
        st.sampled_from(["text", {"type": "text", "text": "x"}, None, 3, True]),
    ),
    st.builds(_wrong, st.just("isError"), st.sampled_from(["true", "false", "", "yes", 1, 0, None, [], {}])),
    st.builds(
        _wrong,
        st.just("structuredContent"),
        st.sampled_from(["marker-list", [1, 2], "text", 3, 2.5, True, None, 10**200]),
    ),
    st.builds(_wrong, st.just("_meta"), st.sampled_from([[1], "units", 5, None, {"steward/units": [3]}])),
    st.builds(_raw_result, ANY_JSON),
    st.builds(
        _dict_result,
        st.fixed_dictionaries(
            {},
            optional={
                "isError": ANY_JSON,
                "structuredContent": ANY_JSON,
                "_meta": st.one_of(ANY_JSON, st.fixed_dictionaries({"steward/units": UNITS})),
            },
        ),
        st.lists(ANY_JSON, max_size=3),
    ),
    st.builds(_raw_response, st.one_of(ANY_JSON, st.just({"jsonrpc": "2.0", "id": 1}))),
    st.builds(_rpc_error, ANY_JSON),
    st.builds(_failure, st.sampled_from(INVOCATION_REASONS), st.text(max_size=20)),
    st.builds(_crash, EXCEPTIONS),
)

VALID_CALC_ARGS: Final = st.one_of(
    st.sampled_from(
        [
            {"a": 1, "b": 2},
            {"b": 2, "a": 1},  # the same call
            {"a": 1.0, "b": 2},  # the same canonical JSON
            {"a": 10**30, "b": 0},
            {"a": 10**200, "b": -1},
            {"a": -5, "b": 2**53 + 1},
        ]
    ),
    st.fixed_dictionaries({"a": st.integers(-2, 2), "b": st.integers(-2, 2)}),
)
INVALID_CALC_ARGS: Final = st.sampled_from(
    [{"a": "one", "b": 2}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": True, "b": 1}, None, {}]
)
VALID_ECHO_ARGS: Final = st.one_of(
    st.sampled_from([{"text": "hi"}, {"text": ""}, {"text": "żółw \U0001f422"}]),
    st.fixed_dictionaries({"text": st.text(max_size=8)}),  # no surrogates: the JSON parser refuses them
)
INVALID_ECHO_ARGS: Final = st.sampled_from([{"text": 5}, {}, {"text": "x" * 101}, {"text": "hi", "more": 1}])

#: Idempotency keys: repeated across principals, tools and arguments; the last four are malformed.
VALID_KEYS: Final = ("k1", "k2", "order-7", "ü\U0001f422", "k" * 256)
MALFORMED_KEYS: Final = ("", "k" * 257, 7, None)


@dataclass(frozen=True)
class Step:
    principal: Principal
    name: object
    arguments: object
    valid: bool  # the arguments are valid for the tool (as generated)
    meta: dict[str, Any] | None
    behaviour: Behaviour

    @property
    def key(self) -> object:
        return self.meta.get(IDEMPOTENCY_META) if self.meta and IDEMPOTENCY_META in self.meta else None


@st.composite
def steps(draw: st.DrawFn) -> Step:
    principal = draw(st.sampled_from((ALICE, BOB, *PRINCIPALS)))  # alice's cap and bob's rate limit are reached
    name = draw(st.sampled_from(["calc__add", "calc__add", "calc__add", "echo__say", "echo__say", "calc__nope", 7]))
    valid = draw(st.integers(0, 5)) > 0
    if name == "echo__say":
        arguments = draw(VALID_ECHO_ARGS if valid else INVALID_ECHO_ARGS)
    else:
        arguments = draw(VALID_CALC_ARGS if valid else INVALID_CALC_ARGS)
    meta = draw(
        st.one_of(
            st.sampled_from(VALID_KEYS).map(lambda key: {IDEMPOTENCY_META: key}),
            st.sampled_from(VALID_KEYS[:2]).map(lambda key: {IDEMPOTENCY_META: key, "other": [1]}),
            st.sampled_from(MALFORMED_KEYS).map(lambda key: {IDEMPOTENCY_META: key}),
            st.sampled_from([None, {}, {"other": "x"}]),
        )
    )
    return Step(principal, name, copy.deepcopy(arguments), valid, meta, draw(BEHAVIOURS))


# --- the checks -------------------------------------------------------------------------------------------


def assert_writable_result(answer: object) -> dict[str, Any]:
    """Invariant 1 for an answer: a ``tools/call`` result that can be written as UTF-8 JSON."""
    assert isinstance(answer, dict), answer
    assert isinstance(answer.get("content"), list), answer
    if "isError" in answer:
        assert isinstance(answer["isError"], bool), answer
    json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return answer


def markers_of(answer: dict[str, Any]) -> list[Any]:
    """Every marker in an answer: in a content item's text, or anywhere in ``structuredContent``."""
    found: list[Any] = []
    for item in answer["content"]:
        text = item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str) and text.startswith('{"' + MARK):
            found.append(json.loads(text)[MARK])
    stack: list[object] = [answer.get("structuredContent")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if MARK in node:
                found.append(node[MARK])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def fingerprint(answer: dict[str, Any]) -> str:
    return json.dumps(answer, ensure_ascii=False)


def kept(answer: dict[str, Any]) -> bool:
    """Whether an idempotency record keeps this result: its UTF-8 JSON fits in 64 KiB (bytes, not characters)."""
    return len(json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) <= MAX_KEPT_RESULT_BYTES


@dataclass(frozen=True)
class Kept:
    """The model's idempotency record: the call a key was first used for in its scope, and its answer."""

    request_id: str
    tool: str
    digest: str
    answer: dict[str, Any]
    fingerprint: str
    kept: bool


def expected_cost(step: Step, spec: ToolSpec) -> int | None:
    """Who pays, for the behaviours whose charge the model knows (None: any charge within the price)."""
    price = spec.price
    if price.is_free:
        return 0
    kind = step.behaviour.kind
    if kind == "not_invoked":
        return 0
    if kind == "fixed_price":
        return price.price
    if kind == "normal":
        units = step.behaviour.units
        if isinstance(units, int) and not isinstance(units, bool):
            return price.actual(units)
        return price.price
    return None


class PipelineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.grants = InMemoryGrantStore(list(GRANTS))
        self.registry = InMemoryRegistry()
        for spec in (CALC, ECHO):
            tool = ToolRecord(
                ExposedName(spec.exposed),
                spec.upstream,
                ServerName(spec.server),
                spec.definition,
                ToolStatus.APPROVED,
                spec.price,
                pinned_hash=definition_hash(spec.definition),
                pinned_version="1",
            )
            server = ServerRecord(ServerName(spec.server), ServerKind.INTERNAL, f"fn-{spec.server}", 10, version="1")
            self.registry.put_server(server, [tool])
        self.budgets = InMemoryBudgetLedger(self.grants, self.registry)
        for team, limit in TEAM_LIMITS.items():
            self.budgets.set_limit(Owner(OwnerKind.TEAM, team), team, Micros(limit), PERIOD)
        for pid, cap in CAPS.items():
            self.budgets.set_limit(Owner(OwnerKind.PRINCIPAL, pid), "finance", Micros(cap), PERIOD)
        self.budgets.set_rate_limit(RateLimit(RateScope.PRINCIPAL, "bob", BOB_PER_MINUTE))
        self.tool = HostileTool()
        service = ToolService(self.registry, self.grants, team_of=USERS.get)
        self.call = CallTool(service, self.budgets, self.tool, clock=lambda: NOW)
        self.records: dict[tuple[str, str | None, str], Kept] = {}
        self.count = 0
        self.keyed: list[Step] = []  # the calls made with a valid idempotency key, for repeats

    @rule(step=steps())
    def call_tool(self, step: Step) -> None:
        self._run(step)

    @rule(data=st.data(), variant=st.sampled_from(["same", "same", "other_scope", "other_tool", "other_arguments"]))
    def repeat_a_key(self, data: st.DataObject, variant: str) -> None:
        """The key of an earlier call again: the very same call, or the same key by someone else (another
        principal, or the agent for another person), for the other tool, or with other arguments."""
        if not self.keyed:
            self._run(data.draw(steps(), label="step"))
            return
        earlier = data.draw(st.sampled_from(self.keyed), label="earlier")
        principal, name, arguments = earlier.principal, earlier.name, earlier.arguments
        if variant == "other_scope":
            principal = data.draw(st.sampled_from([p for p in PRINCIPALS if p != earlier.principal]), label="who")
        elif variant == "other_tool":
            name = "echo__say" if name == "calc__add" else "calc__add"
        if variant in ("other_tool", "other_arguments"):
            arguments = data.draw(VALID_ECHO_ARGS if name == "echo__say" else VALID_CALC_ARGS, label="arguments")
        behaviour = data.draw(BEHAVIOURS, label="behaviour")
        self._run(Step(principal, name, copy.deepcopy(arguments), True, earlier.meta, behaviour))

    def _run(self, step: Step) -> None:
        if step.valid and isinstance(step.key, str) and step.key not in MALFORMED_KEYS:
            self.keyed.append(step)
        self.count += 1
        request_id = f"req-{self.count}"
        principal = step.principal
        audits, ledger, invoked = len(self.budgets.audit), len(self.budgets.ledger), len(self.tool.calls)
        budgets_before = self._budgets()
        self.tool.behaviour = step.behaviour
        request = CallRequest(
            principal, request_id, self.count, step.name, copy.deepcopy(step.arguments), 4_102_444_800_000, step.meta
        )
        answer: dict[str, Any] | None = None
        error: StewardError | None = None
        try:
            answer = self.call(request)
        except StewardError as raised:
            error = raised  # anything else fails the test as it stands (invariant 1)

        # invariant 1: a writable result, or one of the protocol's errors
        if answer is not None:
            assert_writable_result(answer)
        else:
            assert isinstance(error, (GovernanceDeniedError, UnknownToolError, InvalidParamsError)), repr(error)
            if isinstance(error, GovernanceDeniedError):
                assert error.denial_reason in DENIAL_REASONS

        # invariant 6: exactly one decision record for this step
        new_audit = self.budgets.audit[audits:]
        assert len(new_audit) == 1, (error, new_audit)
        record = new_audit[0]
        if currently_in_test_context():  # the unit tests below run steps outside hypothesis
            event(f"decision: {record.reason}")
        assert record.kind == "decision" and record.request_id == request_id
        assert (record.principal, record.obo, record.team) == (principal.id, principal.obo, principal.team)
        new_ledger = self.budgets.ledger[ledger:]
        was_invoked = len(self.tool.calls) > invoked

        # the model: what this step must have been answered
        scope_key = self._expected(step, answer, error, record.reason, new_ledger, was_invoked)
        if record.reason == "idempotent_replay":
            assert record.decision is Decision.ALLOWED
            assert not new_ledger and not was_invoked and self._budgets() == budgets_before  # replays are free
        elif record.decision is Decision.ALLOWED:
            assert len(new_ledger) == 1 and new_ledger[0].request_id == request_id and was_invoked
            assert len(self.tool.calls) == invoked + 1
            envelope = self.tool.calls[-1]["steward"]["principal"]
            assert envelope == {"id": principal.id, "team": principal.team, "obo": principal.obo}
            assert record.tool == step.name
        else:
            assert not new_ledger and not was_invoked

        # invariant 5: a result only for its own scope and call
        if answer is not None:
            expected_marker = [principal.id, principal.obo, UPSTREAM.get(str(step.name)), step.arguments]
            for marker in markers_of(answer):
                assert marker == expected_marker, (marker, expected_marker)
            if step.behaviour.kind == "normal" and record.reason == "ok":
                assert expected_marker in markers_of(answer)  # a normal answer is returned as the tool gave it
        never_ran = bool(new_ledger) and new_ledger[0].outcome is Outcome.NOT_INVOKED  # its key is freed
        if scope_key is not None and answer is not None and record.reason != "idempotent_replay" and not never_ran:
            assert isinstance(step.name, str) and isinstance(step.arguments, dict)
            self.records[scope_key] = Kept(
                request_id,
                step.name,
                arguments_digest(step.arguments),
                answer,
                fingerprint(answer),
                kept(answer),
            )

    def _expected(
        self,
        step: Step,
        answer: dict[str, Any] | None,
        error: StewardError | None,
        reason: str | None,
        new_ledger: list[Any],
        invoked: bool,
    ) -> tuple[str, str | None, str] | None:
        """Check the step's answer against the model; the scope of the idempotency record it created, if any."""
        principal = step.principal
        name = step.name
        if not isinstance(name, str) or name not in RESOLVES[(principal.id, principal.obo)]:
            assert isinstance(error, UnknownToolError) and reason == "unknown_tool", (error, answer)
            return None
        spec = TOOLS[name]
        if not step.valid:
            assert answer is not None and answer["isError"] is True, (error, answer)
            assert answer["_meta"]["steward/reason"] == "invalid_arguments" and reason == "invalid_arguments"
            return None
        key = step.key
        if step.meta is not None and IDEMPOTENCY_META in step.meta and key in MALFORMED_KEYS:
            assert isinstance(error, InvalidParamsError) and reason == "invalid_idempotency_key", (error, answer)
            return None
        if not spec.price.is_free and principal.team not in TEAM_LIMITS:
            assert isinstance(error, GovernanceDeniedError) and error.denial_reason == "budget_exceeded"
            return None
        assert isinstance(step.arguments, dict)
        scope = (principal.id, principal.obo, str(key)) if isinstance(key, str) else None
        first = self.records.get(scope) if scope is not None else None
        if first is not None:
            if first.tool != name or first.digest != arguments_digest(step.arguments):
                assert isinstance(error, GovernanceDeniedError), (error, answer)
                assert error.denial_reason == "idempotency_key_reused" and reason == "idempotency_key_reused"
            elif not first.kept:
                assert isinstance(error, GovernanceDeniedError), (error, answer)
                assert error.denial_reason == "idempotency_result_not_kept"
            else:
                assert answer is not None and fingerprint(answer) == first.fingerprint, (error, answer)
                assert reason == "idempotent_replay"
                assert self.budgets.audit[-1].detail == {"original": first.request_id}
            return None
        if error is not None:
            # refused at the reserve: the money, never the idempotency of a call the key was not used for
            assert isinstance(error, GovernanceDeniedError), error
            assert error.denial_reason in {"budget_exceeded", "cap_exceeded", "rate_limited"}, error.denial_reason
            assert reason == error.denial_reason
            return None
        assert answer is not None and invoked and len(new_ledger) == 1
        entry = new_ledger[0]
        cost = expected_cost(step, spec)
        if cost is not None:
            assert entry.cost_micros == cost, (entry, step.behaviour)
        meta = answer.get("_meta")
        if reason == "ok" and isinstance(meta, dict) and "steward/units" in meta:
            assert meta["steward/units"] == entry.units, (meta, entry)  # the units charged, not the tool's number
        return scope

    def _budgets(self) -> dict[Owner, tuple[int, int, int, int]]:
        owners = [Owner(OwnerKind.TEAM, team) for team in TEAM_LIMITS] + [
            Owner(OwnerKind.PRINCIPAL, pid) for pid in CAPS
        ]
        found: dict[Owner, tuple[int, int, int, int]] = {}
        for owner in owners:
            budget = self.budgets.period_budget(owner, PERIOD)
            if budget is not None:
                found[owner] = (budget.limit, budget.available, budget.reserved, budget.charged)
        return found

    @invariant()
    def no_reservation_stays_open(self) -> None:
        assert self.budgets.count_open_reservations() == 0

    @invariant()
    def every_budget_balances_and_matches_the_ledger(self) -> None:
        for team in ("finance", "ops", "lab", "treasury"):
            budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, team), PERIOD)
            spent = sum(entry.cost_micros for entry in self.budgets.ledger if entry.team == team)
            if budget is None:
                assert spent == 0
                continue
            assert budget.balanced, budget
            assert budget.charged == spent, (budget, spent)
        for pid in CAPS:
            cap = self.budgets.period_budget(Owner(OwnerKind.PRINCIPAL, pid), PERIOD)
            spent = sum(entry.cost_micros for entry in self.budgets.ledger if entry.principal == pid)
            assert cap is None or (cap.balanced and cap.charged == spent), (cap, spent)

    @invariant()
    def every_ledger_entry_is_within_its_price(self) -> None:
        for entry in self.budgets.ledger:
            price = TOOLS[entry.tool].price
            assert 0 <= entry.units <= price.max_units, entry
            assert 0 <= entry.cost_micros <= price.maximum, entry


PipelineMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_pipeline_properties = PipelineMachine.TestCase


# --- findings of the state machine, reduced to unit tests -------------------------------------------------


def _one_call(behaviour: Behaviour, meta: dict[str, Any] | None = None) -> tuple[PipelineMachine, object]:
    """One call of alice's to the priced tool; its answer, or the protocol error it raised."""
    machine = PipelineMachine()
    machine.tool.behaviour = behaviour
    request = CallRequest(ALICE, "r1", 1, "calc__add", {"a": 1, "b": 2}, 4_102_444_800_000, meta)
    try:
        return machine, machine.call(request)
    except StewardError as error:
        return machine, error


@pytest.mark.parametrize("flag", ["true", "false", "", 1, 0, None, [], {}])
def test_finding_a_result_whose_is_error_is_not_a_boolean_is_malformed_at_the_fixed_price(flag: object) -> None:
    """Finding (isError): a tool's ``"isError": "true"`` (or ``""``, ``0``, ``null``...) was answered as given,
    a ``tools/call`` result that is not one (MCP's isError is a boolean), and counted as the tool's error or its
    success by the truthiness of whatever it was."""
    machine, answer = _one_call(_wrong("isError", flag))
    assert isinstance(answer, dict)
    assert answer["isError"] is True and answer["_meta"]["steward/reason"] == "malformed"
    assert [entry.cost_micros for entry in machine.budgets.ledger] == [CALC_PRICE.price]


@pytest.mark.parametrize("key", ["", "k" * 257, 7, None])
def test_finding_a_malformed_idempotency_key_is_refused_with_one_decision_record(key: object) -> None:
    """Finding (audit): every other refusal of a resolved, granted call (invalid arguments, no budget...) leaves
    one decision record; a malformed ``steward/idempotencyKey``, raised as invalid params after the tool was
    resolved and its arguments validated, left none (fixed alongside, as ``invalid_idempotency_key``)."""
    machine, answer = _one_call(_normal(0, True), {IDEMPOTENCY_META: key})
    assert isinstance(answer, InvalidParamsError)
    assert machine.tool.calls == [] and machine.budgets.ledger == []
    decisions = [(record.request_id, record.decision, record.reason) for record in machine.budgets.audit]
    assert decisions == [("r1", Decision.DENIED, "invalid_idempotency_key")]


@pytest.mark.parametrize(("char", "count", "reason"), [("x", 60_000, "idempotent_replay"), ("é", 36_000, None)])
def test_a_repeat_is_answered_by_the_kept_result_only_when_it_fits_in_64_kib_of_utf8(
    char: str, count: int, reason: str | None
) -> None:
    """The machine's rarest path, always taken: 36,000 "é" are 72 KB in UTF-8 (not kept, the repeat refused as
    idempotency_result_not_kept, checked by the model) while 60,000 "x" fit and are replayed."""
    machine = PipelineMachine()
    meta = {IDEMPOTENCY_META: "big"}
    first = Step(ALICE, "calc__add", {"a": 1, "b": 2}, True, meta, _oversize(2, char, count))
    machine.call_tool(first)
    machine.call_tool(Step(ALICE, "calc__add", {"b": 2, "a": 1}, True, meta, _normal(0, True)))
    assert machine.budgets.audit[-1].reason == (reason or "idempotency_result_not_kept")
    assert [entry.cost_micros for entry in machine.budgets.ledger] == [CALC_PRICE.actual(2)]
