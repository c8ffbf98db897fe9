"""``steward dev --conformance-fixtures``: the template as every process of the plane reads it, and what the seed
grants. The plane's start itself (registration through the runner) is exercised by tests/e2e/test_conformance.py."""

from __future__ import annotations

from pathlib import Path

from mcp_steward.cli.main import build_parser
from mcp_steward.domain.grants import allows
from mcp_steward.local.plane import (
    CONFORMANCE_FUNCTION_ID,
    CONFORMANCE_GRANTS,
    CONFORMANCE_PRINCIPAL,
    CONFORMANCE_SERVER,
    LocalPlane,
    banner,
)
from mcp_steward.local.runner import TemplateSource
from tests.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"


def test_without_the_flag_the_fixture_function_is_not_in_the_template() -> None:
    plane = LocalPlane(template_path=TEMPLATE)
    assert plane.parameter_overrides == {}
    assert CONFORMANCE_FUNCTION_ID not in plane.load_template().functions()


def test_with_the_flag_the_plane_and_the_runner_load_the_fixture_function() -> None:
    plane = LocalPlane(template_path=TEMPLATE, conformance_fixtures=True)
    assert plane.parameter_overrides == {"ConformanceFixtures": "true"}
    spec = plane.load_template().functions()[CONFORMANCE_FUNCTION_ID]
    assert spec.code_dir == (ROOT / "functions" / "conformance").resolve()
    # the runner re-reads the template with the overrides it is given (--parameter), as the plane passes them
    runner = TemplateSource(Path(TEMPLATE), parameter_overrides=plane.parameter_overrides)
    assert CONFORMANCE_FUNCTION_ID in runner.load().functions()


def test_the_dev_command_takes_the_flag_off_by_default() -> None:
    parser = build_parser()
    assert parser.parse_args(["dev"]).conformance_fixtures is False
    assert parser.parse_args(["dev", "--conformance-fixtures"]).conformance_fixtures is True


def test_the_principal_is_granted_every_primitive_of_the_fixture_server_and_nothing_else() -> None:
    principal = CONFORMANCE_PRINCIPAL[0]
    assert {g.subject for g in CONFORMANCE_GRANTS} == {principal}
    for entry in ("test_simple_text", "prompt:test_simple_prompt", "resource:test://static-text"):
        assert allows(CONFORMANCE_GRANTS, entry, CONFORMANCE_SERVER), entry
        assert not allows(CONFORMANCE_GRANTS, entry, "currency"), entry
    assert not allows(CONFORMANCE_GRANTS, "currency__convert", "currency")


def test_the_banner_aligns_a_principal_name_longer_than_the_demos() -> None:
    principals = {
        "alice": {"team": "finance", "token": "stw_a", "roles": []},
        "conformance": {"team": "qa", "token": "stw_c", "roles": []},
    }
    state = {"mcp_url": "http://127.0.0.1:1/mcp", "aws_endpoint_url": "x", "lambda_endpoint_url": "y"}
    lines = [
        line for line in banner({**state, "principals": principals}).splitlines() if line.endswith(("stw_a", "stw_c"))
    ]
    assert len(lines) == 2
    assert len({line.index(" team ") for line in lines}) == 1
