"""What ``make dev`` prints for MCP Inspector is the command the README shows: the same pinned version and options,
with the README's URL and a placeholder for alice's token."""

from __future__ import annotations

from mcp_steward.local.plane import banner
from tests.conftest import ROOT


def test_the_readme_shows_the_inspector_command_make_dev_prints() -> None:
    state = {
        "mcp_url": "http://127.0.0.1:8787/mcp",
        "aws_endpoint_url": "http://127.0.0.1:1",
        "lambda_endpoint_url": "http://127.0.0.1:2",
        "principals": {"alice": {"token": "stw_…", "team": "finance", "roles": []}},
    }
    printed = [line.strip() for line in banner(state).splitlines() if "@modelcontextprotocol/inspector" in line]
    assert len(printed) == 1
    assert printed[0] in (ROOT / "README.md").read_text(encoding="utf-8")
