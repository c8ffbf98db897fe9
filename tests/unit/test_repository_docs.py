"""The design lives in the repository: no tracked file points to design notes kept outside it, and the pre-commit
hooks run the same checks as ``make lint``.

The project started from design files kept beside the repository; their content is now docs/design.md (sections
numbered as before), docs/decisions/ and CONTRIBUTING.md. A reference to the old files, or to the directory that
held them, would send a reader somewhere they cannot follow."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

#: A reference to the design files once kept outside the repository, or to the directory that held them. Spelled
#: so that this file does not match itself (``[d]``, ``[s]``: the same strings, other regex source text).
OUTSIDE_REFERENCE = re.compile(
    r"\b(?:DESIGN|MCP-PROTOCOL|STYLE)\.m[d]\b|\.\./share[d]\b|/work/share[d]\b|product-thesi[s]"
)
_MD = ".md"

#: Tracked files that may mention those names anyway (quoting them, say). Keep it empty.
ALLOWED: frozenset[str] = frozenset()

#: References still to re-point, in files other engineers were editing when the rest was swept: each still holds
#: the references counted here. The lead empties this once those files point to docs/design.md too.
KNOWN_REMAINING_OUTSIDE_REFERENCES: dict[str, int] = {}


def _tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listing.decode("utf-8").split("\0") if name]


def _outside_references() -> dict[str, list[str]]:
    """Each tracked file that refers outside the repository, with its offending lines (``line: text``)."""
    found: dict[str, list[str]] = {}
    for name in _tracked_files():
        path = ROOT / name
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if OUTSIDE_REFERENCE.search(text) is None:
            continue
        found[name] = [
            f"{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if OUTSIDE_REFERENCE.search(line)
        ]
    return found


def test_no_tracked_file_points_outside_the_repository() -> None:
    unexpected = {
        name: lines
        for name, lines in _outside_references().items()
        if name not in ALLOWED and name not in KNOWN_REMAINING_OUTSIDE_REFERENCES
    }
    assert not unexpected, (
        "these files refer to design files outside the repository; point them to docs/design.md (section N), "
        f"docs/decisions/ or CONTRIBUTING.md instead: {unexpected}"
    )


def test_the_known_remaining_references_are_still_there() -> None:
    """The list shrinks as files are fixed: an entry whose references are gone must be removed from it."""
    found = _outside_references()
    stale = {
        name: len(found.get(name, []))
        for name, count in KNOWN_REMAINING_OUTSIDE_REFERENCES.items()
        if len(found.get(name, [])) != count
    }
    assert not stale, f"update KNOWN_REMAINING_OUTSIDE_REFERENCES (and remove fixed files) to match: {stale}"


def test_the_pattern_finds_what_it_is_meant_to_find() -> None:
    for text in (f"see DESIGN{_MD} section 3", f"(MCP-PROTOCOL{_MD})", f"STYLE{_MD}", f"`..{'/'}shared/DESIGN{_MD}`"):
        assert OUTSIDE_REFERENCE.search(text), text
    for text in ("docs/design.md section 3", "a shared team grant", "mcp.shared.exceptions", "CONTRIBUTING.md"):
        assert OUTSIDE_REFERENCE.search(text) is None, text


def test_the_design_keeps_the_section_numbers_the_code_cites() -> None:
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    headings = {int(number) for number in re.findall(r"^## (\d+)\. ", design, flags=re.MULTILINE)}
    cited: set[int] = set()
    for name in _tracked_files():
        path = ROOT / name
        if path.suffix in {".py", ".md", ".yaml", ".toml"} or path.name == "Makefile":
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            cited.update(int(n) for n in re.findall(r"docs/design\.md\s+sections?\s+(\d+)", text))
    assert cited, "nothing cites docs/design.md by section"
    assert cited <= headings, f"cited sections missing from docs/design.md: {sorted(cited - headings)}"


def test_every_decision_record_is_indexed() -> None:
    decisions = ROOT / "docs" / "decisions"
    index = (decisions / "README.md").read_text(encoding="utf-8")
    records = sorted(path.name for path in decisions.glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert records
    assert [name for name in records if f"({name})" not in index] == []
    numbers = [name[:4] for name in records]
    assert len(numbers) == len(set(numbers)), "two records share a number"


def _lint_commands() -> list[str]:
    """The commands of the Makefile's ``lint`` target, with ``$(BIN)`` spelled out as ``.venv/bin``."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("lint:"))
    commands: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line.strip().replace("$(BIN)", ".venv/bin"))
    return commands


def test_the_pre_commit_hooks_run_what_make_lint_runs() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "hooks from the venv only: no fetched repos"
    hooks = config["repos"][0]["hooks"]
    assert all(hook["language"] == "system" and hook["pass_filenames"] is False for hook in hooks)
    entries = [shlex.split(hook["entry"]) for hook in hooks]
    assert entries == [shlex.split(command) for command in _lint_commands()]
    assert all(Path(entry[0]).parts[:2] == (".venv", "bin") for entry in entries)
