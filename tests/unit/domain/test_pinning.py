from pathlib import Path
from typing import Any

import pytest

from mcp_steward.domain.pinning import PinningError, code_dir_hash, definition_hash


def test_the_hash_ignores_key_order_and_unpinned_fields() -> None:
    a = {"name": "add", "description": "Adds.", "inputSchema": {"type": "object", "properties": {}}}
    b = {"inputSchema": {"properties": {}, "type": "object"}, "description": "Adds.", "name": "add", "_meta": {"x": 1}}
    assert definition_hash(a) == definition_hash(b)


def test_any_pinned_field_changes_the_hash() -> None:
    base: dict[str, Any] = {"name": "add", "description": "Adds."}
    changed = [
        {**base, "name": "add2"},
        {**base, "description": "Adds!"},
        {**base, "title": "Add"},
        {**base, "annotations": {"readOnlyHint": True}},
        {**base, "outputSchema": {"type": "object"}},
        {**base, "inputSchema": {"type": "object"}},
    ]
    assert len({definition_hash(d) for d in [base, *changed]}) == 7


def test_the_hash_is_sha256_of_the_rfc8785_form() -> None:
    import hashlib

    expected = hashlib.sha256(b'{"description":"\\u0007x","name":"a"}').hexdigest()
    assert definition_hash({"name": "a", "description": "\u0007x"}) == expected


def test_a_definition_without_canonical_form_is_refused() -> None:
    with pytest.raises(PinningError):
        definition_hash({"name": "a", "inputSchema": {"maximum": 2**60}})


def test_a_code_dir_hash_changes_with_content_and_ignores_caches(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    first = code_dir_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"\0")
    assert code_dir_hash(tmp_path) == first
    (tmp_path / "app.py").write_text("x = 2\n")
    assert code_dir_hash(tmp_path) != first
