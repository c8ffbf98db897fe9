"""Re-creates the scanner corpus (``benign.jsonl``, ``malicious.jsonl``) from the public sources it was taken from.

Usage::

    .venv/bin/python tests/data/scanner/build_corpus.py [--sources DIR] [--check]

``DIR`` (default ``/work/.mirror``) holds one copy of each source repository, named ``<owner>+<name>``: either a git
directory as the stored-repository fetch leaves it (``<owner>+<name>/repo``), any clone (read at the pinned commit
with ``git show``), or a plain tree of raw files at that commit (read as they are). ``--check`` rebuilds in memory and
exits 1 if the committed files differ; otherwise both files are rewritten. The output is deterministic: sources are
read at pinned commits, files in sorted order, and every choice below is by path and tool name, never by position.

Definitions are *data* taken from those repositories; no code from them is run. Three ways of reading them:

- JSON as committed (GitHub's tool snapshots, SAFE-MCP test logs, MCP-SafetyBench task files);
- Python: FastMCP ``@tool`` functions (name, docstring cleaned as ``inspect.cleandoc`` does, parameters from the
  signature), or ``Tool(...)`` calls whose description is a literal;
- TypeScript: ``{ name: ..., description: ..., inputSchema: ... }`` literals, or ``server.tool(name, description,
  {zod shape})`` calls.

A few definitions cannot be read mechanically (quoted in a README or blog post, commented out, or assembled at run time)
and were transcribed by hand: they live in ``transcribed.jsonl``, each with its provenance. Exact duplicates of a
malicious description are kept once, in the first source read. SOURCES.md says what each source is and why some of
its definitions were left out.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Definition = dict[str, Any]
Entry = dict[str, Any]


class Repo:
    """One source repository at a pinned commit, read from a local copy."""

    def __init__(self, root: Path, slug: str, commit: str) -> None:
        self.slug, self.commit = slug, commit
        base = root / slug.replace("/", "+")
        self.path = base / "repo" if (base / "repo").is_dir() else base
        self.is_git = (self.path / "HEAD").is_file() or (self.path / ".git").exists()
        if not self.path.is_dir():
            sys.exit(f"missing source {slug}: expected a copy at {base}")

    def url(self, path: str) -> str:
        return f"https://github.com/{self.slug}/blob/{self.commit}/{path}"

    def read(self, path: str) -> str:
        if not self.is_git:
            return (self.path / path).read_text(encoding="utf-8")
        command = ["git", "-C", str(self.path), "show", f"{self.commit}:{path}"]
        return subprocess.run(command, capture_output=True, check=True).stdout.decode("utf-8")

    def files(self, under: str, suffix: str) -> dict[str, str]:
        """Every file below ``under`` whose name ends in ``suffix``, by path, in sorted order."""
        if not self.is_git:
            found = sorted(self.path.joinpath(under).rglob(f"*{suffix}"))
            return {str(p.relative_to(self.path)): p.read_text(encoding="utf-8") for p in found if p.is_file()}
        command = ["git", "-C", str(self.path), "archive", "--format=tar", self.commit, under]
        archive = subprocess.run(command, capture_output=True, check=True).stdout
        out: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(suffix):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        out[member.name] = handle.read().decode("utf-8", errors="replace")
        return dict(sorted(out.items()))


# --- Python: FastMCP @tool functions and Tool(...) calls --------------------------------------------------------------

PY_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "list": "array", "dict": "object"}


def _signature_schema(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """Parameters as FastMCP lists them, simplified: the outer annotation's JSON type, defaults, required."""
    props: dict[str, Any] = {}
    required: list[str] = []
    args = fn.args.args
    defaults: list[ast.expr | None] = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
    for arg, default in zip(args, defaults, strict=True):
        if arg.arg in ("self", "ctx", "context") and (
            arg.annotation is None or "Context" in ast.unparse(arg.annotation)
        ):
            continue
        prop: dict[str, Any] = {}
        if arg.annotation is not None:
            outer = ast.unparse(arg.annotation).split("[")[0].split("|")[0].strip()
            prop["type"] = PY_TYPES.get(outer, "string")
        if isinstance(default, ast.Constant) and default.value is not None:
            prop["default"] = default.value
        elif default is None:
            required.append(arg.arg)
        props[arg.arg] = {"title": arg.arg.replace("_", " ").title(), **prop}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def fastmcp_tools(source: str) -> Iterator[Definition]:
    """Functions decorated with something ending in ``tool`` (``@mcp.tool()``, ``@server.tool``, ...)."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            if not ast.unparse(call.func if call else decorator).endswith("tool"):
                continue
            keywords = {
                k.arg: k.value.value for k in (call.keywords if call else []) if isinstance(k.value, ast.Constant)
            }
            description = keywords.get("description", ast.get_docstring(node, clean=True)) or ""
            name = keywords.get("name", node.name)
            yield {"name": name, "description": description, "inputSchema": _signature_schema(node)}


def pydantic_tool_calls(source: str) -> Iterator[Definition]:
    """``Tool(name=..., description="literal", inputSchema=Model.model_json_schema())``: the reference Python servers.

    Properties come from the model's annotated fields (typed ``string``, with their ``Field(description=...)``)."""
    tree = ast.parse(source)
    models: dict[str, dict[str, Any]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            props: dict[str, Any] = {}
            for statement in node.body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    field = statement.target.id
                    prop: dict[str, Any] = {"title": field.replace("_", " ").title(), "type": "string"}
                    if isinstance(statement.value, ast.Call):
                        for keyword in statement.value.keywords:
                            if keyword.arg == "description" and isinstance(keyword.value, ast.Constant):
                                prop["description"] = keyword.value.value
                    props[field] = prop
            models[node.name] = props
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Tool"):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        name, description, schema = kw.get("name"), kw.get("description"), kw.get("inputSchema")
        if name is None or description is None or isinstance(description, ast.JoinedStr):
            continue
        try:
            text = ast.literal_eval(description)
        except ValueError:
            continue
        tool_name = name.value if isinstance(name, ast.Constant) else ast.unparse(name).split(".")[-1].lower()
        model = ast.unparse(schema.func).split(".")[0] if isinstance(schema, ast.Call) else ""
        yield {
            "name": tool_name,
            "description": text,
            "inputSchema": {"type": "object", "properties": models.get(model, {})},
        }


def python_dict_literals(source: str) -> Iterator[Definition]:
    """Constant dict literals with a string ``name`` and ``description`` (a server's hard-coded ``tools/list``).

    Where the literal has no ``inputSchema`` the source gives none: an empty object schema stands in."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        if not {"name", "description"} <= keys:
            continue
        try:
            literal = ast.literal_eval(node)
        except ValueError:
            continue
        if isinstance(literal["name"], str) and isinstance(literal["description"], str):
            schema = literal.get("inputSchema", {"type": "object", "properties": {}})
            yield {"name": literal["name"], "description": literal["description"], "inputSchema": schema}


# --- TypeScript: Tool object literals and server.tool(...) calls ------------------------------------------------------


def _ts_balanced(source: str, start: int, open_: str = "{", close: str = "}") -> str:
    """The text from ``start`` (an opening bracket) to its matching close, skipping quoted strings."""
    depth, i, quote = 0, start, ""
    while i < len(source):
        c = source[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return source[start : i + 1]
        i += 1
    return ""


def _ts_to_json(block: str) -> Any:
    """A TypeScript object literal of constants as JSON: strings re-quoted, keys quoted, comments and '+' dropped."""
    out: list[str] = []
    i, n = 0, len(block)
    while i < n:
        c = block[i]
        if c in "\"'`":
            j, chars = i + 1, []
            while block[j] != c:
                if block[j] == "\\":
                    chars.append(block[j : j + 2])
                    j += 2
                    continue
                chars.append(block[j])
                j += 1
            text = "".join(chars)
            if c != '"':
                text = text.replace("\\" + c, c).replace('"', '\\"')
            out.append('"' + text.replace("\n", "\\n") + '"')
            i = j + 1
            continue
        if block.startswith("//", i):
            while i < n and block[i] != "\n":
                i += 1
            continue
        out.append(c)
        i += 1
    text = re.sub(r'"\s*\+\s*"', "", "".join(out))
    text = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', text)
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def ts_tool_literals(source: str) -> Iterator[Definition]:
    """``{ name: "...", description: "...", inputSchema: {...} }`` literals (``zodToJsonSchema(...)`` made empty)."""
    source = re.sub(r"zodToJsonSchema\([^)]*\)(\s+as\s+\w+)?", '{"type": "object", "properties": {}}', source)
    for match in re.finditer(r"\{\s*name:\s*[\"'`]", source):
        try:
            literal = _ts_to_json(_ts_balanced(source, match.start()))
        except (ValueError, IndexError):
            continue
        named = isinstance(literal.get("name"), str) and isinstance(literal.get("description"), str)
        if named and "inputSchema" in literal:
            yield literal


ZOD_TYPES = {"number": "number", "string": "string", "boolean": "boolean", "object": "object", "array": "array"}


def ts_server_tool_calls(source: str) -> Iterator[Definition]:
    """``server.tool('name', `description`, { key: z.type()... }, handler)``: the shape's keys and outer zod types."""
    source = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)  # whole-line comments (quotes in them are prose)
    for match in re.finditer(r"server\.tool\(", source):
        args = _ts_balanced(source, match.end() - 1, "(", ")")
        name_match = re.match(r"\(\s*'([^']*)',\s*", args)
        if not name_match:
            continue
        rest = args[name_match.end() :]
        quote = rest[0]
        end = rest.index(quote, 1)
        description = rest[1:end]
        if quote != "`":  # a variable holds the description: resolved by the caller
            continue
        shape = _ts_balanced(rest, rest.index("{", end))
        props: dict[str, Any] = {}
        required: list[str] = []
        for key, zod_type, chain in re.findall(r"(\w+):\s*z\.(\w+)\(([^\n]*)", shape):
            props[key] = {"type": ZOD_TYPES.get(zod_type, "string")}
            if ".optional()" not in chain:
                required.append(key)
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        yield {"name": name_match.group(1), "description": description, "inputSchema": schema}


def ts_register_tool_calls(source: str) -> Iterator[Definition]:
    """``server.registerTool("name", { title, description: `...`, inputSchema: z.object({ key: z.type().describe("...")
    }) })``: title and description verbatim; each parameter's outer zod type and ``describe`` text."""
    for match in re.finditer(r"\.registerTool\(", source):
        args = _ts_balanced(source, match.end() - 1, "(", ")")
        name = re.match(r"\(\s*\"([^\"]+)\",\s*", args)
        if not name:
            continue
        config = _ts_balanced(args, args.index("{", name.end()))
        description = re.search(r"description:\s*`([^`]*)`", config)
        if description is None:
            continue
        definition: Definition = {"name": name.group(1)}
        title = re.search(r"title:\s*\"([^\"]*)\"", config)
        if title:
            definition["title"] = title.group(1)
        props: dict[str, Any] = {}
        chain = r"((?:\s*\.\w+\((?:[^()\"]|\"(?:[^\"\\]|\\.)*\")*\))*)"  # .optional(), .describe("...(e.g.)...")
        for key, zod_type, rest in re.findall(r"(\w+):\s*z\s*\.(\w+)\(\)" + chain, config):
            prop: dict[str, Any] = {"type": ZOD_TYPES.get(zod_type, "string")}
            text = re.search(r"\.describe\(\s*\"((?:[^\"\\]|\\.)*)\"\s*\)", rest)
            if text:
                prop["description"] = json.loads(f'"{text.group(1)}"')
            props[key] = prop
        yield {**definition, "description": description.group(1), "inputSchema": object_schema(props)}


# --- helpers ---------------------------------------------------------------------------------------------------------


def entry(definition: Definition, label: str, source: str, provenance: str) -> Entry:
    return {"definition": definition, "label": label, "source": source, "provenance": provenance}


def pick(
    found: Iterator[Definition], names: set[str], keep: Callable[[Definition], bool] = lambda d: True
) -> list[Definition]:
    """The definitions named in ``names`` (and passing ``keep``), in file order, one per name."""
    chosen: list[Definition] = []
    seen: set[str] = set()
    for definition in found:
        if definition["name"] in names and definition["name"] not in seen and keep(definition):
            seen.add(definition["name"])
            chosen.append({k: definition[k] for k in ("name", "description", "inputSchema")})
    return chosen


def object_schema(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": v} if isinstance(v, str) else v for k, v in props.items()}}


def transcribed(where: str) -> list[Entry]:
    """Hand-transcribed entries whose provenance mentions ``where`` (a source id or an ``owner/name``)."""
    lines = (HERE / "transcribed.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return [e for e in entries if e["source"] == where or f"github.com/{where}/" in e["provenance"]]


# --- benign ----------------------------------------------------------------------------------------------------------


def github_snapshots(root: Path) -> list[Entry]:
    """github/github-mcp-server's tool snapshots, without the ``_typed`` and feature-flag (``_ff_``) variants."""
    repo = Repo(root, "github/github-mcp-server", "64a49f34d076b6f5917dae1424521d43c7bcae84")
    snaps = repo.files("pkg/github/__toolsnaps__", ".snap")
    return [
        entry(json.loads(text), "benign", "github-mcp-server", repo.url(path))
        for path, text in snaps.items()
        if "_typed" not in path and "_ff_" not in path
    ]


REFERENCE_TS = ["brave-search", "google-maps", "puppeteer", "slack", "everart", "aws-kb-retrieval-server", "redis"]
REFERENCE_TS += ["gdrive", "postgres", "memory", "sequentialthinking", "filesystem", "everything", "github", "gitlab"]
REFERENCE_PY = ["src/git/src/mcp_server_git/server.py", "src/time/src/mcp_server_time/server.py"]
REFERENCE_PY += ["src/fetch/src/mcp_server_fetch/server.py"]


def reference_servers(root: Path) -> list[Entry]:
    """modelcontextprotocol/servers just before the unmaintained servers were archived."""
    repo = Repo(root, "modelcontextprotocol/servers", "1f705677a930ec618b7a16d87d00cee7db747ff2")
    out: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for server in REFERENCE_TS:
        for path, text in repo.files(f"src/{server}", ".ts").items():
            for definition in ts_tool_literals(text):
                if (server, definition["name"]) in seen:
                    continue
                seen.add((server, definition["name"]))
                note = (
                    ""
                    if definition["inputSchema"].get("properties")
                    else " (inputSchema from a zod schema, not reproduced)"
                )
                out.append(entry(definition, "benign", "mcp-reference-servers", repo.url(path) + note))
    for path in REFERENCE_PY:
        for definition in pydantic_tool_calls(repo.read(path)):
            out.append(entry(definition, "benign", "mcp-reference-servers", repo.url(path)))
    return out


def longest_per_group(
    repo: Repo, under: str, source: str, per_group: int | None, group_of: Callable[[str], str]
) -> list[Entry]:
    """FastMCP tools of every Python file under ``under``; per group, the ``per_group`` longest descriptions."""
    groups: dict[str, dict[str, tuple[str, Definition]]] = {}
    for path, text in repo.files(under, ".py").items():
        if "/tests/" in path:  # test fixtures, not a server's tools
            continue
        try:
            found = list(fastmcp_tools(text))
        except SyntaxError:
            continue
        for definition in found:
            if definition["description"].strip():
                groups.setdefault(group_of(path), {}).setdefault(definition["name"], (path, definition))
    out: list[Entry] = []
    for _, tools in sorted(groups.items()):
        ranked = sorted(tools.values(), key=lambda item: -len(item[1]["description"]))
        for path, definition in ranked[: per_group or len(ranked)]:
            note = " (docstring and signature as FastMCP lists them)"
            out.append(entry(definition, "benign", source, repo.url(path) + note))
    return out


def awslabs(root: Path) -> list[Entry]:
    """awslabs/mcp: the three longest descriptions of each server (the hardest imperative ones)."""
    repo = Repo(root, "awslabs/mcp", "100b55b6d92f731bc8d23486ce9efd5bbf90c606")
    return longest_per_group(repo, "src", "awslabs-mcp", 3, lambda path: path.split("/")[1])


def blender(root: Path) -> list[Entry]:
    repo = Repo(root, "ahujasid/blender-mcp", "da4e16d2069ce5154eaa2535bf995e843caf5c73")
    return longest_per_group(repo, "src/blender_mcp", "blender-mcp", None, lambda path: "")


def popular_servers(root: Path) -> list[Entry]:
    """Widely used servers added after the rules of the MCP-SafetyBench round: every tool, verbatim."""
    out: list[Entry] = []
    for slug, commit in (
        ("mendableai/firecrawl-mcp-server", "1b9c89b502a04d7c6383b20484dabdf67a326363"),
        ("tavily-ai/tavily-mcp", "7bcf90750ef5180968b78abb891eed837d9f7c20"),
    ):
        repo = Repo(root, slug, commit)
        out += [
            entry(d, "benign", "popular-servers", repo.url("src/index.ts"))
            for d in ts_tool_literals(repo.read("src/index.ts"))
        ]
    repo = Repo(root, "upstash/context7", "c3248289c2ad431a9f34849a3f3d047fc4400373")
    path = "packages/mcp/src/index.ts"
    note = " (zod schema: each parameter's type and describe() text)"
    return out + [
        entry(d, "benign", "popular-servers", repo.url(path) + note) for d in ts_register_tool_calls(repo.read(path))
    ]


def mcp_universe_servers(root: Path) -> list[Entry]:
    """The unmodified servers MCP-SafetyBench poisons (Salesforce's MCP-Universe): every tool, as FastMCP lists it."""
    repo = Repo(root, "xjzzzzzzzz/MCPSafety", "7872437b6369aac1150e3a19e350a981dc554f81")
    note = " (docstring and signature as FastMCP lists them)"
    return [
        entry(d, "benign", "mcp-universe-servers", repo.url(path) + note)
        for path, text in repo.files("mcpuniverse/mcp/servers", "server.py").items()
        for d in fastmcp_tools(text)
    ]


# --- malicious: the sources measured since the corpus was first built ------------------------------------------------


def from_python(repo: Repo, path: str, names: set[str], source: str, note: str = "", **kw: Any) -> list[Entry]:
    return [
        entry(d, "malicious", source, repo.url(path) + note) for d in pick(fastmcp_tools(repo.read(path)), names, **kw)
    ]


CISCO = {
    "examples/example-malicious-servers/line_jumping_server.py": {"send_mail", "get_workstation_environment"},
    "examples/example-malicious-servers/malicious_mcp_streamable_server.py": {
        "execute_system_command",
        "run_injection_code",
    },
    "examples/example-malicious-servers/server.py": {"send_email"},
}
CISCO_EVALS = [  # prompt-injection cases whose *definition* carries the attack (others' attack is in the code)
    ("safety_bypass_emergency_access", "emergency_system_access"),
    ("hidden_system_instructions", "read_file_safely"),
    ("jailbreak_mode_context_manipulation", "process_request"),
    ("system_prompt_override", "configure_assistant"),
    ("nested_ignore_trust_escalation", "format_text"),
    ("override_instruction_injection", "process_data"),
    ("contradictory_description_validation_bypass", "validate_input"),
    ("act_as_role_injection", "execute_system_command"),
    ("admin_privilege_escalation", "query_database"),
    ("hidden_metadata_filter_bypass", "search_documentation"),
]


def cisco(root: Path) -> list[Entry]:
    repo = Repo(root, "cisco-ai-defense/mcp-scanner", "893327c54d223ea07296f68f32d8294f5c045f4a")
    out: list[Entry] = []
    for path, names in CISCO.items():
        out += from_python(repo, path, names, "cisco-mcp-scanner")
    for case, name in CISCO_EVALS:
        out += from_python(
            repo, f"evals/behavioral-analysis/data/prompt-injection/{case}.py", {name}, "cisco-mcp-scanner"
        )
    return out


def damn_vulnerable(root: Path) -> list[Entry]:
    """The challenges whose tool descriptions are poisoned; the rest attack through code or results."""
    repo = Repo(root, "devsecboy/damn-vulnerable-MCP-server", "a8310accdc6bc8b0069d9d2502d722072e343d02")
    out: list[Entry] = []
    for path, names in {
        "challenges/easy/challenge2/server_stdio.py": {"get_company_data", "search_company_database"},
        "challenges/hard/challenge10/server_stdio.py": {"get_user_profile", "malicious_check_system_status"},
    }.items():
        out += from_python(repo, path, names, "damn-vulnerable-mcp")
    five = "challenges/medium/challenge5/server_stdio.py"
    out += from_python(repo, five, {"calculate"}, "damn-vulnerable-mcp", keep=lambda d: "<HIDDEN>" in d["description"])
    return out + from_python(repo, five, {"enhanced_calculate"}, "damn-vulnerable-mcp")


def vuln_labs(root: Path) -> list[Entry]:
    """Deliberately vulnerable training servers; some transcribed (descriptions built at run time, a flag elided)."""
    out = transcribed("beejak/Vulnerable-MCP-Server") + transcribed("kholcomb/DevSecOps_Arena")
    sarvesh = Repo(root, "SarveshChandak/MCP-Server-Tool-Poisoning", "7cfd8ff4a2f7bf7914b6ae015bc65ed910a40817")
    out += from_python(sarvesh, "tool_poisoning.py", {"add", "subtract"}, "vuln-labs")
    out += transcribed("nmeisenzahl/hijack-agentic-ai")
    acuvity = Repo(root, "acuvity/mcp-server-everything-wrong", "d6930774989bdb7572760e21ccda17c876177b39")
    path = "src/mcp_server_everything_wrong/server.py"
    return out + from_python(acuvity, path, {"joke_teller", "shadowing_attack"}, "vuln-labs")


ENKRYPT = {
    "mpma_mcp.py": ["premium_weather_lookup", "elite_search_engine", "calculate_premium", "urgent_time_service"],
    "prompt_injection_mcp.py": ["fetch_user_profile", "read_document", "search_knowledge_base", "translate_text"],
    "tool_poisoning_mcp.py": ["calculate_statistics", "format_document", "validate_email", "generate_report"],
}
ENKRYPT["mpma_mcp.py"] += ["superior_translator", "revolutionary_file_reader", "must_use_converter"]
ENKRYPT["mpma_mcp.py"] += ["exclusive_quote_generator", "ultimate_best_tool", "list_tools"]
ENKRYPT["prompt_injection_mcp.py"] += ["get_recommendations"]
ENKRYPT["tool_poisoning_mcp.py"] += ["parse_config"]


def enkrypt(root: Path) -> list[Entry]:
    """The intentionally bad servers whose definitions carry the attack (others attack in code or results)."""
    repo = Repo(root, "enkryptai/secure-mcp-gateway", "b4f0165e1f17100313b2b78164cf035a2ff084f5")
    note = " (after the Adversa AI MCP Top 25; MPMA per arXiv:2505.11154)"
    out: list[Entry] = []
    for name, tools in ENKRYPT.items():
        out += from_python(repo, f"src/secure_mcp_gateway/bad_mcps/{name}", set(tools), "enkrypt-gateway", note)
    return out


def safe_mcp(root: Path) -> list[Entry]:
    """SAFE-MCP technique test data: T1001 cases its own test expects detected, T1008 and T1402 attack groups."""
    repo = Repo(root, "safe-agentic-framework/safe-mcp", "d533c803bcb0764370abd91c24b95c652c20afe2")
    out: list[Entry] = []
    path = "techniques/SAFE-T1001/test-logs.json"
    for line in repo.read(path).splitlines():
        case = json.loads(line) if line.strip() else {}
        if case.get("tool_name") in {"data_processor", "api_client", "analyzer", "formatter", "helper"}:
            definition = {
                "name": case["tool_name"],
                "description": case["tool_description"],
                "inputSchema": object_schema({}),
            }
            out.append(entry(definition, "malicious", "safe-mcp", repo.url(path)))
    path = "techniques/SAFE-T1008/test-logs.json"
    for group, cases in json.loads(repo.read(path)).items():
        if group in {"legitimate_tools", "tool_impersonation"}:  # benign text, or an attack in behaviour only
            continue
        for case in cases:
            schema = object_schema(case.get("parameters") or {})
            definition = {"name": case["tool_name"], "description": case["tool_description"], "inputSchema": schema}
            out.append(entry(definition, "malicious", "safe-mcp", f"{repo.url(path)} ({group})"))
    path = "techniques/SAFE-T1402/test-logs.json"
    for case in json.loads(repo.read(path)):
        if case["tool_id"].startswith(("shadow-", "rogue-")):
            description = case["metadata"]["description"]
            definition = {"name": case["tool_name"], "description": description, "inputSchema": object_schema({})}
            out.append(entry(definition, "malicious", "safe-mcp", repo.url(path)))
    return out


# --- malicious: sources added later, measured held out before any rule changed for them -------------------------------


def mcp_safetybench(root: Path) -> list[Entry]:
    """MCP-SafetyBench (arXiv:2512.15163): every attack task that poisons a definition, each distinct text once.

    ``mcp_server_modifications`` replace a real tool's description (its schema is read from the benchmark's own server,
    ``mcpuniverse/mcp/servers/*/server.py``); ``mcp_server_additions`` add a tool (schema from ``input_parameters``).
    Tasks whose attack is in code (``mcp_server_update``: rug pulls), in results (``modification_return``) or in the
    user's or host's turn (intent injection, replay, data tampering, identity spoofing) have no poisoned definition.
    """
    repo = Repo(root, "xjzzzzzzzz/MCPSafety", "7872437b6369aac1150e3a19e350a981dc554f81")
    schemas: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, text in repo.files("mcpuniverse/mcp/servers", "server.py").items():
        for definition in fastmcp_tools(text):
            schemas.setdefault(definition["name"], (path, definition["inputSchema"]))
    note = "MCP-SafetyBench, arXiv:2512.15163"
    out: list[Entry] = []
    for path, text in repo.files("mcpuniverse/benchmark/configs/test", ".json").items():
        task = json.loads(text)
        category = task.get("attack_category")
        for change in task.get("mcp_server_modifications") or []:
            if "modification_description" in change:
                server_path, schema = schemas[change["tool_name"]]
                definition = {"name": change["tool_name"], "description": change["modification_description"]}
                provenance = f"{repo.url(path)} ({note}; {category}; inputSchema from {server_path})"
                out.append(entry({**definition, "inputSchema": schema}, "malicious", "mcp-safetybench", provenance))
        added = task.get("mcp_server_additions")
        if added:
            definition = {"name": added["tool_name"], "description": added["description"]}
            schema = object_schema(added["input_parameters"])
            provenance = f"{repo.url(path)} ({note}; {category}; an added tool)"
            out.append(entry({**definition, "inputSchema": schema}, "malicious", "mcp-safetybench", provenance))
    return out


def demo_servers(root: Path) -> list[Entry]:
    """Proof-of-concept and scanner-demo servers published with tool-poisoning write-ups and scanners."""
    shield = Repo(root, "riseandignite/mcp-shield", "379140c3555bf35c6f8f451ee320da24302e792e")
    path = "mcp-servers-example/bad-mcp-server.js"
    text = shield.read(path)
    found = {d["name"]: d for d in ts_server_tool_calls(text)}
    out = [
        entry(found[n], "malicious", "demo-servers", shield.url(path))
        for n in ("calculateSum", "sendEmail", "readFile")
    ]
    # getFactOfTheDay's description is a variable: the value served once the trigger file exists (the rug pull)
    triggered = re.findall(r"factDescription = `([^`]*)`", text)[-1]
    definition = {
        "name": "getFactOfTheDay",
        "description": triggered,
        "inputSchema": {"type": "object", "properties": {}},
    }
    out.append(entry(definition, "malicious", "demo-servers", shield.url(path) + " (after the trigger file exists)"))

    scan_demo = Repo(root, "invariantlabs-ai/mcp-scan", "9d6f6f911182ca9e401261a3d93d7b5a80cafb8b")
    rug = " (the definition served on the second start: a rug pull)"
    out += from_python(
        scan_demo,
        "demoserver/server.py",
        {"multiply"},
        "demo-servers",
        rug,
        keep=lambda d: "IMPORTANT" in d["description"],
    )
    notebook = Repo(root, "invariantlabs-ai/mcp-scan", "244c3b968a6fdd04c2bf9e015a7b6fef4277552a")
    out += from_python(notebook, "notebooks/servers/direct-poisoning.py", {"add"}, "demo-servers")

    poc_files = {  # fake_mcp_server.py as last committed, before the PoC was restructured into src/
        "b8f40a3ccf9c264589eb06b3d984cc9a7bf408fb": ["fake_mcp_server.py"],
        "67fd8c6fdeeec33be27cdd16271855914f1ab000": [
            "src/demo/malicious_server.py",
            "src/attacks/data_exfiltration.py",
            "src/attacks/tool_hijacking.py",
        ],
    }
    for commit, paths in poc_files.items():
        poc = Repo(root, "gensecaihq/mcp-poisoning-poc", commit)
        for path in paths:
            out += [entry(d, "malicious", "demo-servers", poc.url(path)) for d in python_dict_literals(poc.read(path))]
    receiver = Repo(root, "robbarto2/MCP_Tool_Poisoning", "609291664518a4725867fb8f9e6f1a0972c513ee")
    path = "mcp_server.py"
    out += [
        entry(d, "malicious", "demo-servers", receiver.url(path)) for d in python_dict_literals(receiver.read(path))
    ]
    return out


# --- assembly --------------------------------------------------------------------------------------------------------

BENIGN = [github_snapshots, reference_servers, awslabs, blender, popular_servers, mcp_universe_servers]
MALICIOUS_BEFORE = [cisco, damn_vulnerable]
MALICIOUS_AFTER = [vuln_labs, enkrypt, safe_mcp, mcp_safetybench, demo_servers]


def build(root: Path) -> dict[str, list[Entry]]:
    benign = [e for step in BENIGN for e in step(root)]
    malicious = transcribed("invariant")
    malicious += [e for step in MALICIOUS_BEFORE for e in step(root)]
    malicious += transcribed("mcpsecbench")
    malicious += [e for step in MALICIOUS_AFTER for e in step(root)]
    seen: set[str] = set()
    unique = []
    for e in malicious:
        if e["definition"]["description"] not in seen:
            seen.add(e["definition"]["description"])
            unique.append(e)
    return {"benign": benign, "malicious": unique}


def render(entries: list[Entry]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sources", type=Path, default=Path("/work/.mirror"), help="copies of the source repositories")
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    corpus = build(args.sources)
    status = 0
    for name, entries in corpus.items():
        target, text = HERE / f"{name}.jsonl", render(entries)
        counts: dict[str, int] = {}
        for e in entries:
            counts[e["source"]] = counts.get(e["source"], 0) + 1
        print(f"{name}: {len(entries)} {counts}")
        if args.check:
            if target.read_text(encoding="utf-8") != text:
                print(f"{target} differs from a rebuild", file=sys.stderr)
                status = 1
        else:
            target.write_text(text, encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
