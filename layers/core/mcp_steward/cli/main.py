"""``steward``: run the local plane and administer a plane (``--local`` or ``--stack NAME``).

Exit codes: 0 success; 2 usage errors and refused input (nothing changed); 1 other failures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mcp_steward.cli import admin, budgets, config, new_server, reports, scan, vendor_secrets
from mcp_steward.cli.target import DEFAULT_STATE_FILE, Target, TargetError, local_target, stack_target
from mcp_steward.domain.names import InvalidNameError
from mcp_steward.domain.ports import ConcurrentChangeError, StoreUnavailableError
from mcp_steward.services.registration import RegistrationError

type Command = Callable[[Target, argparse.Namespace], None]


def _target_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--local``/``--state-file``/``--stack``/``--region``, accepted before or after the subcommand."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("plane")
    group.add_argument(
        "--local", action="store_true", default=False if top else argparse.SUPPRESS, help="the local plane (default)"
    )
    group.add_argument("--state-file", type=Path, default=default, help=f"default {DEFAULT_STATE_FILE}")
    group.add_argument("--stack", default=default, help="a deployed stack's name")
    group.add_argument("--region", default=default, help="the stack's region (default: AWS configuration)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steward", description=__doc__)
    _target_options(parser, top=True)
    commands = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def sub(
        parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, func: Command | None, help_: str
    ) -> argparse.ArgumentParser:
        command = parent.add_parser(name, help=help_, description=help_)
        if func is not None:
            _target_options(command, top=False)
            command.set_defaults(func=func)
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
    dev.set_defaults(func=None, dev=True)
    scan.add_parser(commands)
    new_server.add_parser(commands)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = sub(keys, "create", admin.keys_create, "create a key (and its principal and team)")
    create.add_argument("--principal", required=True)
    create.add_argument("--team", required=True)
    create.add_argument("--role", action="append", choices=["admin"])
    create.add_argument("--on-behalf-of", metavar="USER", help="a principal the plane knows")
    create.add_argument(
        "--allow-unknown", action="store_true", help="admit an --on-behalf-of user only an OIDC issuer knows"
    )
    create.add_argument("--expires", metavar="ISO8601")
    sub(keys, "list", admin.keys_list, "list keys").add_argument("--json", action="store_true")
    sub(keys, "revoke", admin.keys_revoke, "revoke a key").add_argument("key_id")

    grants = commands.add_parser("grants", help="who may call which tools").add_subparsers(dest="action", required=True)
    for action, func in (("add", admin.grants_add), ("remove", admin.grants_remove)):
        grant = sub(grants, action, func, f"{action} a grant")
        who = grant.add_mutually_exclusive_group(required=True)
        who.add_argument("--principal")
        who.add_argument("--team")
        who.add_argument("--server")
        grant.add_argument("--tool", required=True, metavar="NAME|SERVER__*")
        if action == "add":
            grant.add_argument(
                "--allow-unknown",
                action="store_true",
                help="admit a principal or team only an OIDC issuer knows (never a tool or server)",
            )
    sub(grants, "list", admin.grants_list, "list grants").add_argument("--json", action="store_true")

    servers = commands.add_parser("servers", help="registered MCP servers").add_subparsers(dest="action", required=True)
    add = sub(servers, "add", admin.servers_add, "register an internal or vendor server (its tools start pending)")
    add.add_argument("name")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--function", metavar="LOGICAL_ID", help="an internal server: its function in the template")
    kind.add_argument("--url", help="a vendor server: its MCP endpoint (https), reached through the egress function")
    add.add_argument("--secret", metavar="SECRET_ID", help="the vendor credential's secret, under <stack>/vendor/")
    add.add_argument("--auth-header", metavar="'NAME: ...{secret}...'", help="default 'Authorization: Bearer {secret}'")
    add.add_argument("--allow-host", action="append", metavar="HOST", help="another host egress may use for it")
    add.add_argument("--alias", action="append", metavar="UPSTREAM=EXPOSED")
    sub(servers, "list", admin.servers_list, "list servers").add_argument("--json", action="store_true")
    nested = sub(servers, "delegation", admin.servers_delegation, "what one invocation may spend on nested calls")
    nested.add_argument("name")
    nested.add_argument("--calls", type=int, required=True, help="nested calls per invocation (0: none)")
    nested.add_argument("--credit", default="0", help="credits their reservations may total per invocation")
    nested.add_argument(
        "--mode", choices=["service", "intersect"], default="service", help="intersect: the person's grant too"
    )
    sync = sub(servers, "sync", admin.servers_sync, "list a server again: quarantine changes, add new tools")
    sync.add_argument("name", nargs="?")
    sync.add_argument("--all", action="store_true", help="every registered server")

    secrets = commands.add_parser("secrets", help="vendor credentials").add_subparsers(dest="action", required=True)
    vendor_secrets.add_arguments(
        sub(
            secrets,
            "put-vendor",
            vendor_secrets.put_vendor,
            "create or update the vendor credential <stack>/vendor/NAME; only the egress role can read it",
        )
    )

    tools = commands.add_parser("tools", help="registered tools").add_subparsers(dest="action", required=True)
    sub(tools, "list", admin.tools_list, "list tools and their status").add_argument("--json", action="store_true")
    approve = sub(tools, "approve", admin.tools_approve, "approve a tool: pin its definition and code version")
    approve.add_argument("name")
    approve.add_argument("--acknowledge", action="append", metavar="RULE", help="a suspicious finding's rule")
    sub(tools, "reject", admin.tools_reject, "reject a tool (recording who did)").add_argument("name")
    sub(tools, "reset", admin.tools_reset, "return a rejected or disabled tool to pending").add_argument("name")
    sub(tools, "disable", admin.tools_disable, "disable a tool").add_argument("name")
    show = sub(tools, "show", admin.tools_show, "a tool's definition, status, findings, pins and changes")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")

    teams = commands.add_parser("teams", help="teams and their principals").add_subparsers(dest="action", required=True)
    sub(teams, "list", budgets.teams_list, "teams, principals and this month's budget").add_argument(
        "--json", action="store_true"
    )

    prices = commands.add_parser("prices", help="what tools cost").add_subparsers(dest="action", required=True)
    price = sub(prices, "set", budgets.prices_set, "price a tool (without the metering options, metering is cleared)")
    price.add_argument("tool", metavar="TOOL")
    price.add_argument("--price", required=True, metavar="CREDITS", help="per call, decimal credits")
    price.add_argument("--unit-price", metavar="CREDITS", help="per reported unit (with --max-units)")
    price.add_argument("--max-units", metavar="N", help="units charged at most per call (with --unit-price)")

    budget = commands.add_parser("budgets", help="monthly limits and caps").add_subparsers(dest="action", required=True)
    budget_set = sub(budget, "set", budgets.budgets_set, "set a team's monthly limit or a principal's monthly cap")
    budget_set.add_argument("--team", required=True)
    budget_set.add_argument("--principal", help="a principal of the team: set its cap")
    budget_set.add_argument("--limit", required=True, metavar="CREDITS", help="decimal credits a month")
    show = sub(budget, "show", budgets.budgets_show, "standing limits and caps with this month's figures")
    show.add_argument("--team")
    show.add_argument("--json", action="store_true")

    limits = commands.add_parser("limits", help="rate limits").add_subparsers(dest="action", required=True)
    limit = sub(limits, "set", budgets.limits_set, "set a rate limit (0 clears it)")
    scope = limit.add_mutually_exclusive_group(required=True)
    scope.add_argument("--principal")
    scope.add_argument("--tool")
    limit.add_argument("--per-minute", required=True, metavar="N")
    sub(limits, "list", budgets.limits_list, "list rate limits").add_argument("--json", action="store_true")

    usage = sub(commands, "usage", reports.usage, "spend per team and tool, and each team's budget burn, for a month")
    usage.add_argument("--team")
    usage.add_argument("--period", metavar="YYYY-MM", help="default: the current month (UTC)")
    usage.add_argument("--json", action="store_true")
    audit = sub(commands, "audit", reports.audit, "audit records: call decisions and admin actions")
    audit.add_argument("--since", metavar="ISO8601|YYYY-MM-DD", help="default: 24 hours ago")
    audit.add_argument("--until", metavar="ISO8601|YYYY-MM-DD", help="default: now (a date: the end of that day)")
    audit.add_argument("--kind", metavar="decision|admin")
    audit.add_argument("--json", action="store_true")

    config.add_arguments(
        sub(commands, "apply", config.apply_command, "make the plane match a configuration file (kept in Git)"),
        sub(commands, "export", config.export_command, "write the plane's configuration in the file's format"),
    )
    return parser


def _target(args: argparse.Namespace) -> Target:
    if args.stack and args.local:
        raise admin.UsageError("--local and --stack are exclusive")
    if args.stack:
        return stack_target(args.stack, args.region)
    return local_target(args.state_file or DEFAULT_STATE_FILE)


def main(argv: list[str] | None = None) -> int:
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
        )
    if getattr(args, "scan", False):
        return scan.run(args)
    if getattr(args, "new_server", False):
        return new_server.run(args)
    try:
        args.func(_target(args), args)
    except (admin.UsageError, InvalidNameError) as exc:
        print(f"steward: error: {exc}", file=sys.stderr)
        return 2
    except (
        TargetError,
        RegistrationError,
        StoreUnavailableError,
        ConcurrentChangeError,
        config.ApplyIncompleteError,
    ) as exc:
        print(f"steward: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
