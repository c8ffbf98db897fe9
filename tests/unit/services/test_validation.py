"""Arguments and outputs against registered JSON Schemas: pointers, formats, dialects, cache, result shapes."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mcp_steward.services.validation import (
    MAX_VIOLATIONS,
    VALUE_REPR_LIMIT,
    InvalidSchemaError,
    SchemaValidators,
    ValidationReport,
    Violation,
    check_schema,
    invalid_arguments_result,
    invalid_output_result,
    validate_arguments,
    validate_output,
)

ORDER = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer", "minimum": 1},
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
            "required": ["name"],
        },
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}}},
        },
    },
    "required": ["amount"],
}


def pointers(report: ValidationReport) -> list[tuple[str, str]]:
    return [(violation.pointer, violation.keyword) for violation in report.violations]


def test_valid_arguments_have_no_violations() -> None:
    report = validate_arguments(SchemaValidators(), "h", ORDER, {"amount": 3, "items": [{"name": "pen", "qty": 2}]})
    assert report == ValidationReport()
    assert report.valid


def test_every_violation_is_listed_with_a_pointer_into_nested_objects_and_arrays() -> None:
    arguments = {"amount": 0, "customer": {"email": 5}, "items": [{"name": "pen"}, {"name": 7, "qty": "two"}]}
    report = validate_arguments(SchemaValidators(), "h", ORDER, arguments)
    assert pointers(report) == [
        ("/amount", "minimum"),
        ("/customer/email", "type"),
        ("/customer/name", "required"),
        ("/items/1/name", "type"),
        ("/items/1/qty", "type"),
    ]
    assert report.omitted == 0


def test_property_names_with_tilde_and_slash_are_escaped_in_pointers() -> None:
    schema = {"type": "object", "properties": {"a/b": {"type": "object", "properties": {"m~n": {"type": "string"}}}}}
    report = validate_arguments(SchemaValidators(), "h", schema, {"a/b": {"m~n": 1}})
    assert pointers(report) == [("/a~1b/m~0n", "type")]


def test_a_missing_required_property_is_pointed_at_itself_not_its_parent() -> None:
    schema = {
        "type": "object",
        "properties": {"payee": {"type": "object", "required": ["iban", "name~/x"]}},
        "required": ["amount", "payee"],
    }
    report = validate_arguments(SchemaValidators(), "h", schema, {"payee": {}})
    assert pointers(report) == [("/amount", "required"), ("/payee/iban", "required"), ("/payee/name~0~1x", "required")]


def test_each_unexpected_property_is_a_violation_pointing_at_it() -> None:
    schema = {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "patternProperties": {"^x-": {}},
        "additionalProperties": False,
    }
    report = validate_arguments(SchemaValidators(), "h", schema, {"q": "ok", "x-trace": 1, "zeta": 1, "alpha": 2})
    assert pointers(report) == [("/alpha", "additionalProperties"), ("/zeta", "additionalProperties")]
    assert report.violations[0].message == "Additional properties are not allowed ('alpha' was unexpected)"


def test_violations_are_sorted_by_pointer_with_array_indices_in_numeric_order() -> None:
    schema = {"type": "array", "items": {"type": "string", "minLength": 2}}
    report = validate_arguments(
        SchemaValidators(), "h", {"type": "object", "properties": {"v": schema}}, {"v": [1] * 3 + ["ok"] * 7 + [2]}
    )
    assert pointers(report) == [("/v/0", "type"), ("/v/1", "type"), ("/v/2", "type"), ("/v/10", "type")]


def test_two_violations_at_one_pointer_are_ordered_by_keyword() -> None:
    # jsonschema reports in the schema's keyword order (pattern first); the report orders by keyword name.
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[a-z]+$", "minLength": 3}}}
    report = validate_arguments(SchemaValidators(), "h", schema, {"code": "A"})
    assert pointers(report) == [("/code", "minLength"), ("/code", "pattern")]


def test_violations_beyond_the_cap_are_counted_and_the_result_says_so() -> None:
    schema = {"type": "object", "properties": {"v": {"type": "array", "items": {"type": "string"}}}}
    report = validate_arguments(SchemaValidators(), "h", schema, {"v": list(range(MAX_VIOLATIONS + 7))})
    assert len(report.violations) == MAX_VIOLATIONS
    assert report.violations[-1].pointer == f"/v/{MAX_VIOLATIONS - 1}"
    assert report.omitted == 7
    result = invalid_arguments_result(report)
    assert result["_meta"]["steward/violationsOmitted"] == 7
    assert result["content"][0]["text"].splitlines()[-1] == "(7 more violations not shown)"


def test_arguments_that_are_not_an_object_are_a_violation_at_the_root() -> None:
    validators = SchemaValidators()
    for schema in (None, {"type": "object"}, ORDER):
        report = validate_arguments(validators, "h", schema, ["not", "an", "object"])
        assert pointers(report) == [("", "type")]


def test_a_tool_without_a_schema_or_with_the_trivial_one_accepts_any_object_without_compiling() -> None:
    validators = SchemaValidators()
    assert validate_arguments(validators, "h", None, {"anything": [1, {"x": None}]}).valid
    assert validate_arguments(validators, "h", {"type": "object"}, {"anything": 1}).valid
    assert validators.compiles == 0


def _checked_formats() -> frozenset[str]:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return frozenset(Draft202012Validator.FORMAT_CHECKER.checkers)


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2026-05-01T12:30:00Z", "yesterday at noon"),
        ("date", "2026-05-01", "2026-13-01"),
        ("email", "alice@example.com", "alice.example.com"),
        ("ipv4", "192.0.2.1", "192.0.2.300"),
        ("uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "not-a-uuid"),
        ("uri", "https://example.com/x", "not a uri"),
    ],
)
def test_formats_are_checked_where_a_checker_is_installed(fmt: str, good: str, bad: str) -> None:
    if fmt not in _checked_formats():
        pytest.skip(f"format {fmt!r} is not checked with the installed packages")
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    validators = SchemaValidators()
    assert validate_arguments(validators, "h", schema, {"v": good}).valid
    assert pointers(validate_arguments(validators, "h", schema, {"v": bad})) == [("/v", "format")]


def test_a_draft_07_schema_is_validated_by_draft_07_rules() -> None:
    # Draft-07's array form of "items" validates positions; 2020-12 (the default) rejects it as a schema.
    tuple_items: dict[str, Any] = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **tuple_items}
    report = validate_output(SchemaValidators(), "h", draft7, ["a", "b"])
    assert pointers(report) == [("/1", "type")]
    with pytest.raises(InvalidSchemaError):
        validate_output(SchemaValidators(), "h", tuple_items, ["a", "b"])


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"type": "integr"}}},
        {"type": "object", "properties": {"s": {"type": "string", "pattern": "(unclosed"}}},
        {"$schema": 7, "type": "object"},
        ["not", "a", "schema"],
    ],
)
def test_an_invalid_registered_schema_is_a_clear_error(schema: Any) -> None:
    with pytest.raises(InvalidSchemaError) as excinfo:
        validate_arguments(SchemaValidators(), "h", schema, {"n": 1})
    assert excinfo.value.reason == "invalid_schema"
    assert excinfo.value.message.startswith("The tool's registered input schema is invalid: ")
    with pytest.raises(InvalidSchemaError):
        check_schema(schema)


def test_an_invalid_schema_is_remembered_and_not_recompiled() -> None:
    validators = SchemaValidators()
    schema = {"type": "nonsense"}
    for _ in range(3):
        with pytest.raises(InvalidSchemaError):
            validate_arguments(validators, "h", schema, {})
    assert validators.compiles == 1


def test_a_remote_ref_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema $ref was fetched over the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    schema = {"type": "object", "properties": {"a": {"$ref": "https://schemas.example.invalid/a.json"}}}
    with pytest.raises(InvalidSchemaError) as excinfo:
        validate_arguments(SchemaValidators(), "h", schema, {"a": 1})
    assert "unresolvable $ref" in excinfo.value.message


def test_a_local_ref_is_resolved() -> None:
    schema = {
        "type": "object",
        "$defs": {"money": {"type": "object", "required": ["currency"]}},
        "properties": {"price": {"$ref": "#/$defs/money"}},
    }
    report = validate_arguments(SchemaValidators(), "h", schema, {"price": {}})
    assert pointers(report) == [("/price/currency", "required")]


def test_repeated_calls_with_one_key_compile_once() -> None:
    validators = SchemaValidators()
    for amount in range(20):
        validate_arguments(validators, "hash-1", ORDER, {"amount": amount})
    assert validators.compiles == 1
    validate_output(validators, "hash-1", ORDER, {"amount": 1})
    validate_arguments(validators, "hash-2", ORDER, {"amount": 1})
    assert validators.compiles == 3


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    validators = SchemaValidators(max_entries=2)
    validate_arguments(validators, "a", ORDER, {"amount": 1})
    validate_arguments(validators, "b", ORDER, {"amount": 1})
    validate_arguments(validators, "a", ORDER, {"amount": 1})  # a is now the most recently used
    validate_arguments(validators, "c", ORDER, {"amount": 1})  # evicts b
    assert len(validators) == 2
    assert validators.compiles == 3
    validate_arguments(validators, "a", ORDER, {"amount": 1})
    assert validators.compiles == 3
    validate_arguments(validators, "b", ORDER, {"amount": 1})
    assert validators.compiles == 4


def test_concurrent_calls_share_the_cache_and_find_the_same_violations() -> None:
    validators = SchemaValidators(max_entries=4)

    def call(index: int) -> list[tuple[str, str]]:
        return pointers(validate_arguments(validators, f"h{index % 8}", ORDER, {"amount": "x"}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(200)))
    assert all(result == [("/amount", "type")] for result in results)
    assert len(validators) <= 4


def test_a_huge_offending_value_is_truncated_in_the_message() -> None:
    secret = "s3cr3t-" + "x" * 10_000
    schema = {"type": "object", "properties": {"token": {"type": "integer"}, "tags": {"maxItems": 1}}}
    report = validate_arguments(SchemaValidators(), "h", schema, {"token": secret, "tags": ["t" * 50] * 100})
    assert pointers(report) == [("/tags", "maxItems"), ("/token", "type")]
    for violation in report.violations:
        assert len(violation.message) < VALUE_REPR_LIMIT + 100
        assert "…" in violation.message
    assert report.violations[1].message.endswith("… is not of type 'integer'")


def test_output_without_structured_content_violates_a_declared_output_schema() -> None:
    report = validate_output(SchemaValidators(), "h", {"type": "object"}, None)
    assert pointers(report) == [("", "outputSchema")]


def test_output_of_the_wrong_type_is_a_violation() -> None:
    schema = {"type": "object", "properties": {"rate": {"type": "number"}}, "required": ["rate"]}
    report = validate_output(SchemaValidators(), "h", schema, {"rate": "1.08"})
    assert pointers(report) == [("/rate", "type")]


def test_a_tool_without_an_output_schema_skips_output_validation() -> None:
    validators = SchemaValidators()
    assert validate_output(validators, "h", None, None).valid
    assert validate_output(validators, "h", None, {"anything": 1}).valid
    assert validators.compiles == 0


def test_the_invalid_arguments_result_lists_each_violation() -> None:
    report = ValidationReport(
        (
            Violation("", "'amount' is a required property", "required"),
            Violation("/items/0/name", "1 is not of type 'string'", "type"),
        )
    )
    assert invalid_arguments_result(report) == {
        "content": [
            {
                "type": "text",
                "text": "(root): 'amount' is a required property\n/items/0/name: 1 is not of type 'string'",
            }
        ],
        "isError": True,
        "_meta": {
            "steward/reason": "invalid_arguments",
            "steward/violations": [
                {"pointer": "", "message": "'amount' is a required property", "keyword": "required"},
                {"pointer": "/items/0/name", "message": "1 is not of type 'string'", "keyword": "type"},
            ],
        },
    }


def test_the_invalid_output_result_says_the_output_did_not_match_its_schema() -> None:
    report = ValidationReport((Violation("/rate", "'1.08' is not of type 'number'", "type"),))
    assert invalid_output_result(report) == {
        "content": [
            {
                "type": "text",
                "text": "The tool's output did not match its declared output schema:\n"
                "/rate: '1.08' is not of type 'number'",
            }
        ],
        "isError": True,
        "_meta": {
            "steward/reason": "invalid_output",
            "steward/violations": [
                {"pointer": "/rate", "message": "'1.08' is not of type 'number'", "keyword": "type"}
            ],
        },
    }


def test_importing_the_module_does_not_import_jsonschema_or_re2() -> None:
    code = (
        "import json, sys\n"
        "import mcp_steward.services.validation, mcp_steward.domain.scanning\n"
        "print(json.dumps([m for m in ('jsonschema', 'referencing', 're2') if m in sys.modules]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []


def test_the_governance_pipeline_does_not_import_the_scanner_until_a_prompt_is_got() -> None:
    # The scanner compiles its rules on import (tens of milliseconds): a cold start must not pay for it.
    code = (
        "import json, sys\n"
        "import mcp_steward.bootstrap, mcp_steward.services.calls, mcp_steward.http.app\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('mcp_steward.domain.scanning')]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []
