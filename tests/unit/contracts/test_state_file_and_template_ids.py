"""The state file (the plane writes it, admin commands read it) and the template's logical IDs (the template is
the other side)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.cli import DEFAULT_STATE_FILE
from mcp_steward.contracts import template_ids
from mcp_steward.contracts.state_file import DEFAULT_PATH, FunctionEntry, LocalState, StateFileError, load
from mcp_steward.local.template import load_template_document

ROOT = Path(__file__).resolve().parents[3]
names = st.text(min_size=1, max_size=12)
states = st.builds(
    LocalState,
    mcp_url=names,
    aws_endpoint_url=names,
    lambda_endpoint_url=names,
    region=names,
    principals=st.dictionaries(
        names, st.fixed_dictionaries({"team": names, "token": names, "roles": st.lists(names, max_size=2)}), max_size=3
    ),
    tables=st.dictionaries(names, names, max_size=3),
    functions=st.dictionaries(
        names,
        st.builds(FunctionEntry, name=names, timeout_s=st.integers(1, 900), code_dir=st.none() | names),
        max_size=3,
    ),
    stack_name=names,
    pid=st.none() | st.integers(1, 2**22),
    pids=st.dictionaries(names, st.integers(1, 2**22), max_size=3),
)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(states)
def test_an_encoded_state_decodes_to_the_same_state(state: LocalState) -> None:
    assert LocalState.decode(json.loads(json.dumps(state.encode()))) == state


def test_readers_ignore_unknown_keys_and_default_what_older_planes_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    raw = {"mcp_url": "m", "aws_endpoint_url": "a", "lambda_endpoint_url": "l", "region": "r", "later": 1}
    path.write_text(json.dumps(raw))
    assert load(path) == LocalState("m", "a", "l", "r")
    assert DEFAULT_STATE_FILE == DEFAULT_PATH == Path(".steward/local.json")


def _valid() -> dict[str, Any]:
    return {"mcp_url": "m", "aws_endpoint_url": "a", "lambda_endpoint_url": "l", "region": "r"}


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"mcp_url": "m"},
        _valid() | {"region": 3},
        _valid() | {"principals": {"alice": {"team": "finance"}}},
        _valid() | {"principals": []},
        _valid() | {"tables": {"keys": 1}},
        _valid() | {"functions": {"F": {"name": "f", "timeout_s": "10"}}},
        _valid() | {"functions": {"F": {"name": "f", "timeout_s": True}}},
        _valid() | {"pid": "1"},
        _valid() | {"stack_name": None},
    ],
)
def test_a_malformed_state_is_refused(raw: object) -> None:
    with pytest.raises(StateFileError):
        LocalState.decode(raw)


def test_a_missing_or_unreadable_file_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="make dev"):
        load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StateFileError, match="not valid JSON"):
        load(tmp_path / "bad.json")


def test_every_logical_id_the_code_relies_on_is_in_the_template() -> None:
    resources = load_template_document((ROOT / "infra" / "template.yaml").read_text())["Resources"]
    functions = [
        template_ids.GOVERNANCE_FUNCTION,
        template_ids.EGRESS_FUNCTION,
        template_ids.CURRENCY_FUNCTION,
        template_ids.HR_DIRECTORY_FUNCTION,
    ]
    for logical_id in functions:
        assert resources[logical_id]["Type"] == "AWS::Serverless::Function", logical_id
    for logical_id in template_ids.TABLES.values():
        assert resources[logical_id]["Type"] == "AWS::DynamoDB::Table", logical_id
    assert set(template_ids.DEMO_SERVERS.values()) <= set(functions)
