"""``steward new-server``: what it refuses (exit 2, nothing written), how it names things, and that a failed write
leaves nothing behind. Runs on a copy of the repository's template, functions and events in a temporary
directory; tests/integration/cli/test_new_server.py checks that a scaffold passes the repository's own checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mcp_steward.cli import new_server
from mcp_steward.cli.main import main
from tests.conftest import ROOT


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name in ("infra", "functions", "events"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests" / "unit" / "functions").mkdir(parents=True)
    return tmp_path


def _snapshot(root: Path) -> tuple[list[str], bytes]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")), (root / new_server.TEMPLATE).read_bytes()


def test_a_new_server_gets_its_function_test_events_and_template_resources(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-server", "weather", "--root", str(repo)]) == 0
    assert (repo / "functions" / "weather" / "app.py").is_file()
    assert (repo / "tests" / "unit" / "functions" / "test_weather.py").is_file()
    assert sorted(p.name for p in (repo / "events" / "weather").iterdir()) == ["list_tools.json", "tools_call.json"]
    template = (repo / new_server.TEMPLATE).read_text()
    assert "  WeatherFunction:\n" in template
    assert "FunctionName: !Sub ${AWS::StackName}-tool-weather\n" in template
    assert "LogGroupName: !Sub /aws/lambda/${AWS::StackName}-tool-weather\n" in template
    assert "steward servers add weather --function WeatherFunction" in capsys.readouterr().out


def test_the_root_defaults_to_the_current_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    assert main(["new-server", "weather"]) == 0
    assert (repo / "functions" / "weather" / "app.py").is_file()


def test_a_hyphenated_name_becomes_an_underscored_module_and_a_camel_case_logical_id() -> None:
    assert new_server.names("my-tool2") == ("my_tool2", "MyTool2")
    assert new_server.names("a") == ("a", "A")


@pytest.mark.parametrize("name", ["Weather", "9lives", "my_tool", "x" * 17, "", "a.b", "a b"])
def test_an_invalid_name_is_refused_and_nothing_is_written(
    repo: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(repo)
    assert main(["new-server", name, "--root", str(repo)]) == 2
    assert _snapshot(repo) == before
    assert "nothing was written" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "existing"),
    [
        ("currency", None),  # functions/currency
        ("hr", None),  # HrDirectoryFunction is already named ${AWS::StackName}-tool-hr
        ("fresh", "events/fresh"),
        ("fresh", "tests/unit/functions/test_fresh.py"),
    ],
)
def test_a_name_whose_directory_file_or_function_exists_is_refused(repo: Path, name: str, existing: str | None) -> None:
    if existing is not None:
        path = repo / existing
        if path.suffix:
            path.write_text("# a team's own file\n")
        else:
            path.mkdir()
    before = _snapshot(repo)
    assert main(["new-server", name, "--root", str(repo)]) == 2
    assert _snapshot(repo) == before


def test_a_logical_id_the_template_already_declares_is_refused(repo: Path) -> None:
    template = repo / new_server.TEMPLATE
    template.write_text(template.read_text().replace("  CurrencyLogGroup:", "  FreshLogGroup:\n  CurrencyLogGroup:", 1))
    with pytest.raises(new_server.ScaffoldError, match="FreshLogGroup"):
        new_server.plan(repo, "fresh")


@pytest.mark.parametrize("marker", [new_server.FUNCTIONS_MARKER, new_server.LOG_GROUPS_MARKER])
def test_a_template_without_a_marker_is_refused_and_nothing_is_written(repo: Path, marker: str) -> None:
    template = repo / new_server.TEMPLATE
    template.write_text(template.read_text().replace(marker + "\n", ""))
    before = _snapshot(repo)
    assert main(["new-server", "fresh", "--root", str(repo)]) == 2
    assert _snapshot(repo) == before


@pytest.mark.parametrize("description", ["two\nlines", 'say "hi"', "back\\slash", "caf\u00e9", "x" * 201, "  "])
def test_a_description_that_cannot_be_quoted_safely_is_refused(repo: Path, description: str) -> None:
    before = _snapshot(repo)
    assert main(["new-server", "fresh", "--description", description, "--root", str(repo)]) == 2
    assert _snapshot(repo) == before


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    assert main(["new-server", "fresh", "--root", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_failed_template_update_removes_every_file_and_directory_it_created(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(repo / "tests")  # so the run also creates tests/unit/functions, which must go again
    before = _snapshot(repo)

    def fail(path: Path, expected: str, content: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(new_server, "_replace_template", fail)
    assert main(["new-server", "fresh", "--root", str(repo)]) == 1
    assert _snapshot(repo) == before


def test_a_template_changed_after_planning_is_not_overwritten(repo: Path) -> None:
    scaffold = new_server.plan(repo, "fresh")
    template = repo / new_server.TEMPLATE
    template.write_text(template.read_text() + "# someone else's edit\n")
    before = _snapshot(repo)
    with pytest.raises(OSError, match="changed"):
        new_server.write(repo, scaffold)
    assert _snapshot(repo) == before


def test_the_description_reaches_the_docstring_and_the_functions_description(repo: Path) -> None:
    scaffold = new_server.plan(repo, "fresh", "Looks things up")
    app = scaffold.files[Path("functions", "fresh", "app.py")]
    assert app.startswith('"""Fresh tool server (``fresh``): Looks things up.\n')
    assert 'Description: "Internal MCP server fresh: Looks things up."\n' in scaffold.template_after
