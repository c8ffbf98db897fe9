"""A server scaffolded by ``steward new-server`` passes the repository's own checks, on a copy of the repository
in a temporary directory (the real one is never touched): the local plane's template loader resolves the new
function, the template keeps every line it had, ruff and mypy (strict) accept the generated code, and pytest in
the copy passes the generated unit test, the template tests (cfn-lint included) and the events machinery, which
finds the new function in the template and runs its events through its handler. Where `make validate` has
installed them, cfn-lint with the serverless rules and checkov accept the scaffolded template too."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_steward.cli.main import main
from mcp_steward.local.template import LocalTemplate
from tests.conftest import ROOT

NAME, MODULE, LOGICAL_ID = "weather-now", "weather_now", "WeatherNowFunction"
GENERATED = (f"functions/{MODULE}/app.py", f"tests/unit/functions/test_{MODULE}.py")
BIN = Path(sys.executable).parent
EVENTS_TEST = "test_every_tool_functions_event_gets_a_json_rpc_result_echoing_its_id"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the checks read, scaffolded with NAME. The core layer is linked, not copied: mypy and the
    template's ContentUri find it under layers/core as in the repository."""
    root = tmp_path_factory.mktemp("repo")
    skip = shutil.ignore_patterns("__pycache__", ".pytest_cache", "data")
    for name in ("infra", "functions", "events", "tests"):
        shutil.copytree(ROOT / name, root / name, ignore=skip)
    for name in ("pyproject.toml", ".cfnlintrc", ".checkov.yaml"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, root / name)
    (root / "layers" / "core").mkdir(parents=True)
    shutil.copy2(ROOT / "layers" / "core" / "requirements.txt", root / "layers" / "core" / "requirements.txt")
    (root / "layers" / "core" / "mcp_steward").symlink_to(ROOT / "layers" / "core" / "mcp_steward")
    _before(root).write_bytes((root / "infra" / "template.yaml").read_bytes())
    assert main(["new-server", NAME, "--description", "Forecasts for a city", "--root", str(root)]) == 0
    return root


def _before(repo: Path) -> Path:
    return repo.with_name(f"{repo.name}-template-before.yaml")


def _run(repo: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600, check=False)


def test_the_local_plane_resolves_the_new_function_from_the_template(repo: Path) -> None:
    spec = LocalTemplate.load(repo / "infra" / "template.yaml").function_by_name(LOGICAL_ID)
    assert spec is not None
    assert spec.function_name == f"steward-local-tool-{NAME}"
    assert spec.code_dir == (repo / "functions" / MODULE).resolve()
    assert (spec.code_dir / "app.py").is_file()
    assert spec.handler == "app.handler"
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == MODULE


def test_the_template_keeps_every_line_and_comment_it_had(repo: Path) -> None:
    before = _before(repo).read_text().splitlines()
    after = (repo / "infra" / "template.yaml").read_text().splitlines()
    opcodes = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
    assert [op[0] for op in opcodes if op[0] != "equal"] == ["insert", "insert"]  # the function, then its log group


def test_the_generated_handler_imports_without_network_io(repo: Path) -> None:
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network I/O at import')\n"
        "socket.socket.connect = refuse\n"
        "from tests.conftest import load_function\n"
        f"assert callable(load_function({MODULE!r}).handler)\n"
    )
    finished = _run(repo, sys.executable, "-c", script)
    assert finished.returncode == 0, finished.stderr[-3000:]


def test_ruff_and_strict_mypy_accept_the_generated_code(repo: Path, tmp_path: Path) -> None:
    for command in (("ruff", "check"), ("ruff", "format", "--check")):
        finished = _run(repo, str(BIN / command[0]), *command[1:], *GENERATED)
        assert finished.returncode == 0, finished.stdout + finished.stderr
    finished = _run(repo, str(BIN / "mypy"), "--cache-dir", str(tmp_path / "mypy"), *GENERATED)
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.mark.parametrize(
    "command",
    [
        (".tools/sam/bin/cfn-lint",),  # with .cfnlintrc: the serverless rules, informational findings included
        (".tools/checkov/bin/checkov", "--config-file", ".checkov.yaml", "-f", "infra/template.yaml"),
    ],
    ids=["cfn-lint-serverless", "checkov"],
)
def test_make_validates_linters_accept_the_scaffolded_template(repo: Path, command: tuple[str, ...]) -> None:
    tool = ROOT / command[0]
    if not tool.is_file():
        pytest.skip(f"{command[0]} is installed by `make validate`")
    finished = _run(repo, str(tool), *command[1:])
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]


def test_pytest_in_the_copy_passes_the_generated_test_the_template_tests_and_the_new_events(repo: Path) -> None:
    finished = _run(
        repo,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"tests/unit/functions/test_{MODULE}.py",
        "tests/infra/test_template.py",
        f"tests/integration/test_example_servers_moto.py::{EVENTS_TEST}[{MODULE}]",
        "tests/e2e/test_events.py::test_every_events_directory_is_exercised_by_a_test",
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    assert " failed" not in finished.stdout
    assert " skipped" not in finished.stdout  # cfn-lint and the event-directory rule ran
