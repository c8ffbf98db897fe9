"""``steward``: run the local plane and administer a plane (``--local`` or ``--stack NAME``).

Exit codes: 0 success; 2 usage errors and refused input (nothing changed); 1 other failures; 141 (128 + SIGPIPE, as
a shell reports a process a closed pipe ended) when standard output was closed early (``steward audit | head -1``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mcp_steward.cli import DEFAULT_STATE_FILE

# Building the parser and printing help import nothing but argparse: each command's module (and boto3 with it)
# is imported when that command runs. bench/cli_startup.py measures it; tests/unit/cli/test_cli_main.py keeps it.
if TYPE_CHECKING:
    from mcp_steward.cli.target import Target

type Command = Callable[[Target, argparse.Namespace], None]

#: The exit code when standard output is closed before everything was written (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def _command(module: str, name: str) -> Command:
    """``mcp_steward.cli.<module>.<name>``, imported when the command runs."""

    def run(target: Target, args: argparse.Namespace) -> None:
        getattr(importlib.import_module(f"mcp_steward.cli.{module}"), name)(target, args)

    run.__qualname__ = run.__name__ = f"{module}.{name}"
    return run


def local_target(state_file: Path) -> Target:
    """:func:`mcp_steward.cli.target.local_target`, imported when a command needs a plane (boto3 comes with it)."""
    from mcp_steward.cli.target import local_target as build

    return build(state_file)


def stack_target(stack_name: str, region: str | None) -> Target:
    """:func:`mcp_steward.cli.target.stack_target`, imported likewise."""
    from mcp_steward.cli.target import stack_target as build

    return build(stack_name, region)


class _Parser(argparse.ArgumentParser):
    """argparse, naming the closest command when one is mistyped (``unknown command 'grnts' (did you mean
    'grants'?)``, exit 2)."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            import difflib

            known = list(action.choices)
            close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"choose from {', '.join(known)}"
            raise argparse.ArgumentError(None, f"unknown command {value!r} ({hint})")
        super()._check_value(action, value)


class _Version(argparse.Action):
    """``--version``: the installed package's version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("mcp-steward")
        except PackageNotFoundError:
            text = "unknown (the package is not installed)"
        sys.stdout.write(f"steward {text}\n")
        parser.exit()


def _target_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--local``/``--state-file``/``--stack``/``--region``, accepted before or after the subcommand."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("plane")
    group.add_argument(
        "--local", action="store_true", default=False if top else argparse.SUPPRESS, help="the local plane (default)"
    )
    group.add_argument(
        "--state-file", type=Path, default=default, help=f"the local plane's state file (default {DEFAULT_STATE_FILE})"
    )
    group.add_argument("--stack", default=default, help="a deployed stack's name")
    group.add_argument("--region", default=default, help="the stack's region (default: AWS configuration)")


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (amounts as *_micro integers and decimals)")


def _actions(parser: argparse.ArgumentParser, help_: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION", help=help_)


def _scan_options(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = commands.add_parser(
        "scan",
        help="scan tool definitions for poisoning (no plane needed)",
        description='Scan tool definitions (a JSON array, {"tools": [...]}, or JSON Lines) and print the verdicts.',
    )
    scan.add_argument("source", metavar="PATH|-", help="a file, or - for standard input")
    scan.add_argument(
        "--fail-on", choices=["suspicious", "malicious"], help="exit 1 when any tool's verdict is this or worse"
    )
    scan.set_defaults(func=None, scan=True)


def _new_server_options(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "new-server",
        help="scaffold an internal tool server: function, unit test, events and template resources",
        description="Scaffold functions/NAME (a handler built with the SDK), its unit test and events, and add the "
        "function and its log group to infra/template.yaml. Nothing is written if anything is refused.",
    )
    parser.add_argument("name", metavar="NAME", help="the server name, ^[a-z][a-z0-9-]{0,15}$")
    parser.add_argument("--description", metavar="TEXT", help="one line of printable ASCII")
    parser.add_argument("--root", type=Path, metavar="DIR", help="the repository root (default: the current directory)")
    parser.set_defaults(func=None, new_server=True)


def _put_vendor_options(put: argparse.ArgumentParser) -> None:
    put.add_argument("name", metavar="NAME", help="the secret is <stack>/vendor/NAME (^[a-z0-9][a-z0-9-]{0,63}$)")
    source = put.add_mutually_exclusive_group(required=True)
    source.add_argument("--value-file", type=Path, metavar="FILE", help="read the credential from FILE")
    source.add_argument(
        "--from-stdin", action="store_true", help="read it from standard input (a terminal does not echo it)"
    )
    put.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        help="an https origin the credential may be sent to, e.g. the vendor server's URL (its path is dropped)",
    )
    put.add_argument(
        "--allow-host", action="append", metavar="HOST", help="https://HOST too (as servers add --allow-host)"
    )
    put.add_argument(
        "--for-server", metavar="SERVER", help="a registered vendor server: its URL's origin and its allowed hosts"
    )


def _config_options(apply_parser: argparse.ArgumentParser, export_parser: argparse.ArgumentParser) -> None:
    apply_parser.add_argument("-f", "--file", required=True, metavar="FILE", help="the configuration (- for stdin)")
    apply_parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the changes and change nothing; exits as the apply would (2 refused, 1 approvals held)",
    )
    apply_parser.add_argument(
        "--prune", action="store_true", help="also remove grants, budgets and rate limits the file does not list"
    )
    apply_parser.add_argument(
        "--yes",
        action="store_true",
        help="with --prune, delete without asking (without a terminal to ask on, --prune refuses unless --yes)",
    )
    export_parser.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export_parser.add_argument(
        "--no-versions",
        action="store_true",
        help="leave pinned code versions out (a file for several planes: approvals then pin definitions only)",
    )


type _Sub = Callable[
    [argparse._SubParsersAction[argparse.ArgumentParser], str, str | None, str], argparse.ArgumentParser
]


def _entry_commands(
    sub: _Sub,
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    group: str,
    primitive: str,
    what: str,
    named: str,
) -> None:
    """``steward tools|prompts|resources list|show|approve|reject|reset|disable``: one lifecycle, one set of
    commands per primitive (``args.primitive`` tells the command which)."""
    actions = _actions(commands.add_parser(group, help=f"registered {group}"), f"what to do with {group}")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        parser = sub(actions, name, f"admin.tools_{name}", help_)
        parser.set_defaults(primitive=primitive)
        return parser

    _json(command("list", f"list {group} and their status"))
    approve = command("approve", f"approve a {what}: pin its definition and code version")
    approve.add_argument("name", help=named)
    approve.add_argument(
        "--acknowledge", action="append", metavar="RULE", help="a suspicious finding's rule (repeatable)"
    )
    for name, help_ in (
        ("reject", f"reject a {what} (recording who did)"),
        ("reset", f"return a rejected or disabled {what} to pending"),
        ("disable", f"disable a {what}"),
    ):
        command(name, help_).add_argument("name", help=named)
    show = command("show", f"a {what}'s definition, status, findings, pins and changes")
    show.add_argument("name", help=named)
    _json(show)


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(prog="steward", description=__doc__)
    parser.add_argument("--version", action=_Version, help="print the version of MCP Steward and exit")
    _target_options(parser, top=True)
    commands = parser.add_subparsers(dest="group", required=True, metavar="COMMAND", help="what to do")

    def sub(
        parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, func: str | None, help_: str
    ) -> argparse.ArgumentParser:
        command = parent.add_parser(name, help=help_, description=help_)
        if func is not None:
            _target_options(command, top=False)
            command.set_defaults(func=_command(*func.split(".")))
        return command

    dev = commands.add_parser("dev", help="run the local plane (no AWS, no Docker)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8787)
    dev.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE)
    dev.add_argument("--template", type=Path, default=Path("infra/template.yaml"))
    dev.add_argument(
        "--vendor-origin",
        action="append",
        metavar="https://HOST:PORT",
        help="a loopback vendor the egress function may reach, listed exactly (also STEWARD_LOCAL_VENDOR_ORIGINS, "
        "comma-separated); any other non-global address stays refused",
    )
    dev.add_argument(
        "--vendor-ca-file",
        type=Path,
        help="a CA (PEM) the egress function trusts besides the system's, for local vendors' TLS "
        "(also STEWARD_VENDOR_CA_FILE)",
    )
    dev.add_argument(
        "--fresh",
        action="store_true",
        help="delete the stored state (.steward/store/ next to --state-file: tables, secrets, demo tokens, "
        "published versions) and start empty with a new demo seed",
    )
    dev.add_argument(
        "--conformance-fixtures",
        action="store_true",
        help="deploy the MCP conformance suite's fixture server (template parameter ConformanceFixtures=true), "
        "register it unprefixed and approved, and grant it to the principal conformance (team qa)",
    )
    dev.set_defaults(func=None, dev=True)
    _scan_options(commands)
    _new_server_options(commands)

    keys = _actions(commands.add_parser("keys", help="API keys"), "what to do with keys")
    create = sub(keys, "create", "admin.keys_create", "create a key (and its principal and team)")
    create.add_argument("--principal", required=True, help="who the key authenticates (created if new)")
    create.add_argument("--team", required=True, help="the principal's team (a principal has exactly one)")
    create.add_argument("--role", action="append", choices=["admin"], help="a role the key carries (repeatable)")
    create.add_argument("--on-behalf-of", metavar="USER", help="a principal the plane knows")
    create.add_argument(
        "--allow-unknown", action="store_true", help="admit an --on-behalf-of user only an OIDC issuer knows"
    )
    create.add_argument("--expires", metavar="ISO8601", help="when the key stops working (default: never)")
    _json(sub(keys, "list", "admin.keys_list", "list keys"))
    sub(keys, "revoke", "admin.keys_revoke", "revoke a key").add_argument("key_id", help="the key's id (keys list)")

    grants = _actions(
        commands.add_parser("grants", help="who may call which tools, get which prompts, read which resources"),
        "what to do with grants",
    )
    for action in ("add", "remove"):
        grant = sub(grants, action, f"admin.grants_{action}", f"{action} a grant")
        who = grant.add_mutually_exclusive_group(required=True)
        who.add_argument("--principal", help="the grant is a principal's")
        who.add_argument("--team", help="the grant is a team's (each of its principals)")
        who.add_argument("--server", help="the grant is a tool server's (its nested calls)")
        what = grant.add_mutually_exclusive_group(required=True)
        what.add_argument("--tool", metavar="NAME|SERVER__*", help="an exposed tool name, or every tool of a server")
        what.add_argument(
            "--prompt", metavar="NAME|SERVER__*", help="an exposed prompt name, or every prompt of a server"
        )
        what.add_argument(
            "--resource",
            metavar="URI|SERVER__*",
            help="an exposed resource URI or URI template, or every resource and template of a server",
        )
        if action == "add":
            grant.add_argument(
                "--allow-unknown",
                action="store_true",
                help="admit a principal or team only an OIDC issuer knows (never a tool or server)",
            )
    _json(sub(grants, "list", "admin.grants_list", "list grants"))

    servers = _actions(commands.add_parser("servers", help="registered MCP servers"), "what to do with servers")
    add = sub(servers, "add", "admin.servers_add", "register an internal or vendor server (its tools start pending)")
    add.add_argument("name", help="the server's name, the prefix of its tools' exposed names")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--function", metavar="LOGICAL_ID", help="an internal server: its function in the template")
    kind.add_argument("--url", help="a vendor server: its MCP endpoint (https), reached through the egress function")
    add.add_argument("--secret", metavar="SECRET_ID", help="the vendor credential's secret, under <stack>/vendor/")
    add.add_argument("--auth-header", metavar="'NAME: ...{secret}...'", help="default 'Authorization: Bearer {secret}'")
    add.add_argument("--allow-host", action="append", metavar="HOST", help="another host egress may use for it")
    add.add_argument(
        "--alias", action="append", metavar="UPSTREAM=EXPOSED", help="expose the upstream tool under another name"
    )
    add.add_argument(
        "--unprefixed",
        action="store_true",
        help="expose its names as the server spells them (no SERVER__ prefix, original URIs); refused when one "
        "is another server's",
    )
    _json(sub(servers, "list", "admin.servers_list", "list servers"))
    server_show = sub(servers, "show", "admin.servers_show", "a server and every entry it exposes, with its kind")
    server_show.add_argument("name", help="a registered server")
    _json(server_show)
    nested = sub(servers, "delegation", "admin.servers_delegation", "what one invocation may spend on nested calls")
    nested.add_argument("name", help="a registered server")
    nested.add_argument("--calls", type=int, required=True, help="nested calls per invocation (0: none)")
    nested.add_argument("--credit", default="0", help="credits their reservations may total per invocation")
    nested.add_argument(
        "--mode", choices=["service", "intersect"], default="service", help="intersect: the person's grant too"
    )
    sync = sub(servers, "sync", "admin.servers_sync", "list a server again: quarantine changes, add new tools")
    sync.add_argument("name", nargs="?", help="a registered server (or --all)")
    sync.add_argument("--all", action="store_true", help="every registered server")

    secrets = _actions(commands.add_parser("secrets", help="vendor credentials"), "what to do with credentials")
    _put_vendor_options(
        sub(
            secrets,
            "put-vendor",
            "vendor_secrets.put_vendor",
            "create or update the vendor credential <stack>/vendor/NAME; only the egress role can read it",
        )
    )

    for group, primitive, noun, named in (
        ("tools", "tool", "tool", "the tool's exposed name"),
        ("prompts", "prompt", "prompt", "the prompt's exposed name"),
        ("resources", "resource", "resource or resource template", "its exposed URI (with '{': a template's)"),
    ):
        _entry_commands(sub, commands, group, primitive, noun, named)

    teams = _actions(commands.add_parser("teams", help="teams and their principals"), "what to do with teams")
    _json(sub(teams, "list", "budgets.teams_list", "teams, principals and this month's budget"))

    prices = _actions(commands.add_parser("prices", help="what tools cost"), "what to do with prices")
    price = sub(
        prices,
        "set",
        "budgets.prices_set",
        "price a tool, prompt or resource (without the metering options, metering is cleared)",
    )
    priced = price.add_mutually_exclusive_group(required=True)
    priced.add_argument("tool", metavar="TOOL", nargs="?", help="the tool's exposed name")
    priced.add_argument("--prompt", metavar="NAME", help="price a prompt's gets instead (free by default)")
    priced.add_argument("--resource", metavar="URI", help="price a resource's (or template's) reads instead")
    price.add_argument("--price", required=True, metavar="CREDITS", help="per call, decimal credits")
    price.add_argument("--unit-price", metavar="CREDITS", help="per reported unit (with --max-units)")
    price.add_argument("--max-units", metavar="N", help="units charged at most per call (with --unit-price)")

    budget = _actions(commands.add_parser("budgets", help="monthly limits and caps"), "what to do with budgets")
    budget_set = sub(budget, "set", "budgets.budgets_set", "set a team's monthly limit or a principal's monthly cap")
    budget_set.add_argument("--team", required=True, help="the team (the principal's, with --principal)")
    budget_set.add_argument("--principal", help="a principal of the team: set its cap")
    budget_set.add_argument("--limit", required=True, metavar="CREDITS", help="decimal credits a month")
    show = sub(budget, "show", "budgets.budgets_show", "standing limits and caps with this month's figures")
    show.add_argument("--team", help="one team (default: every team)")
    _json(show)

    limits = _actions(commands.add_parser("limits", help="rate limits"), "what to do with rate limits")
    limit = sub(limits, "set", "budgets.limits_set", "set a rate limit (0 clears it)")
    scope = limit.add_mutually_exclusive_group(required=True)
    scope.add_argument("--principal", help="limit a principal's calls")
    scope.add_argument("--tool", help="limit a tool's calls (everyone's together)")
    limit.add_argument("--per-minute", required=True, metavar="N", help="calls a minute (0 clears the limit)")
    _json(sub(limits, "list", "budgets.limits_list", "list rate limits"))

    usage = sub(commands, "usage", "reports.usage", "spend per team and tool, and each team's budget burn, for a month")
    usage.add_argument("--team", help="one team (default: every team)")
    usage.add_argument("--period", metavar="YYYY-MM", help="default: the current month (UTC)")
    usage.add_argument(
        "--by",
        choices=["team", "principal"],
        default="team",
        help="group the spend by team (default) or by principal (read from the month's ledger)",
    )
    _json(usage)
    audit = sub(commands, "audit", "reports.audit", "audit records: call decisions and admin actions")
    audit.add_argument("--since", metavar="ISO8601|YYYY-MM-DD", help="default: 24 hours ago")
    audit.add_argument("--until", metavar="ISO8601|YYYY-MM-DD", help="default: now (a date: the end of that day)")
    audit.add_argument("--kind", metavar="decision|admin", help="one kind of record (default: both)")
    audit.add_argument(
        "--principal", help="records of this principal: its calls, calls on its behalf, admin changes about it"
    )
    audit.add_argument("--tool", metavar="NAME", help="records of this tool: its calls and admin changes about it")
    _json(audit)

    _config_options(
        sub(commands, "apply", "config.apply_command", "make the plane match a configuration file (kept in Git)"),
        sub(commands, "export", "config.export_command", "write the plane's configuration in the file's format"),
    )
    return parser


def _target(args: argparse.Namespace) -> Target:
    from mcp_steward.cli.admin import UsageError

    if args.stack and args.local:
        raise UsageError("--local and --stack are exclusive")
    if args.stack:
        return stack_target(args.stack, args.region)
    return local_target(args.state_file or DEFAULT_STATE_FILE)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; its exit code. Output to a closed pipe ends it quietly with 141 (no traceback)."""
    try:
        try:
            return _main(argv)
        finally:  # what is still buffered goes out now, so that a closed pipe is noticed here
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _discard_stdout() -> None:
    """Point standard output at /dev/null: the interpreter's last flush at exit then has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout): nothing to redirect
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "dev", False):
        from mcp_steward.local.plane import run_dev  # the local plane's imports are for this command only

        origins = args.vendor_origin or [
            o.strip() for o in os.environ.get("STEWARD_LOCAL_VENDOR_ORIGINS", "").split(",") if o.strip()
        ]
        ca_file = args.vendor_ca_file or (
            Path(os.environ["STEWARD_VENDOR_CA_FILE"]) if os.environ.get("STEWARD_VENDOR_CA_FILE") else None
        )
        return run_dev(
            host=args.host,
            port=args.port,
            state_file=args.state_file,
            template=args.template,
            vendor_origins=tuple(origins),
            vendor_ca_file=ca_file,
            fresh=args.fresh,
            conformance_fixtures=args.conformance_fixtures,
        )
    if getattr(args, "scan", False):
        from mcp_steward.cli import scan

        return scan.run(args)
    if getattr(args, "new_server", False):
        from mcp_steward.cli import new_server

        return new_server.run(args)
    from mcp_steward.cli.admin import UsageError
    from mcp_steward.cli.config import ApplyIncompleteError
    from mcp_steward.cli.target import TargetError
    from mcp_steward.domain.names import InvalidNameError
    from mcp_steward.domain.ports import ConcurrentChangeError, StoreUnavailableError
    from mcp_steward.services.registration import RegistrationError

    try:
        args.func(_target(args), args)
    except UsageError as exc:  # refused input or a refused admin change: nothing changed
        print(f"steward: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except InvalidNameError as exc:
        print(f"steward: error: {exc}", file=sys.stderr)
        return 2
    except (
        TargetError,
        RegistrationError,
        StoreUnavailableError,
        ConcurrentChangeError,
        ApplyIncompleteError,
    ) as exc:
        print(f"steward: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
