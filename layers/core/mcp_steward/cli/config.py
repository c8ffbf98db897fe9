"""``steward apply -f steward.yaml [--dry-run] [--prune]`` and ``steward export [-o FILE]``: a plane managed from
a declarative file kept in Git (the format: :mod:`mcp_steward.domain.config_file`).

Exit codes: 0 the plane matches the file; 2 the file is invalid or asks what this plane cannot do, or ``--prune``
would delete something and was not confirmed (nothing changed); 1 a failure, or approvals held because a tool's
definition or code is not the one the file pins (everything else was applied). ``--dry-run`` changes nothing and
exits as the apply would: 2 refused, 1 approvals held, else 0.

``--prune`` lists what it would delete and asks on a terminal before changing anything; ``--yes`` skips the
question, and without a terminal (a script, CI) and without ``--yes`` it refuses rather than delete unasked.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import yaml

from mcp_steward.cli import admin
from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import Target
from mcp_steward.domain.config_file import ConfigFileError, StewardFile, load_config, to_document
from mcp_steward.services.admin.registry import InternalServer, VendorServer
from mcp_steward.services.config_apply import ConfigConflictError, ConfigPorts, apply, plan, read_state
from mcp_steward.services.config_changes import Change, Plan, RegisterServer, RemoveBudget, RemoveGrant, SetRateLimit
from mcp_steward.services.config_export import export_config

HEADER = "# MCP Steward configuration: steward apply -f FILE [--dry-run] [--prune]; written by steward export\n"


class ApplyIncompleteError(Exception):
    """Applied, but the plane does not match the file yet (approvals held): exit 1."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_config(source: str) -> tuple[StewardFile, str]:
    """The file at ``source`` (``-``: standard input), validated, and the SHA-256 of its bytes.

    Raises:
        UsageError: the file cannot be read, is not YAML, or is not a valid configuration (every problem listed).
    """
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    try:
        data = yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise UsageError(f"{source} is not valid YAML: {exc}") from None
    try:
        config = load_config(data)
    except ConfigFileError as exc:
        problems = "\n".join(f"  {path or '(top)'}: {message}" for path, message in exc.problems)
        raise UsageError(f"{source} is not a valid configuration:\n{problems}") from None
    return config, hashlib.sha256(raw).hexdigest()


def _ports(target: Target) -> ConfigPorts:
    def register(change: RegisterServer) -> None:
        """Register the server as ``steward servers add`` does (and audit it)."""
        vendor = change.vendor
        if vendor is not None:
            endpoint = (vendor.url, vendor.allow_hosts, vendor.secret, vendor.auth_header)
            admin.register(target, VendorServer(change.server, *endpoint, aliases=change.aliases))
            return
        logical_id = change.function or ""
        function = target.function(logical_id)
        admin.register(
            target, InternalServer(change.server, function.name, function.timeout_s, logical_id, change.aliases)
        )

    return ConfigPorts(
        directory=target.keys,
        registry=target.registry,
        grants=target.grants,
        budgets=target.budgets,
        functions=frozenset(target.functions),
        register=register,
        audit=target.record_admin,
        vendor_secret_prefix=target.vendor_secret_prefix,
    )


def show_plan(shown: Plan) -> None:
    for change in shown.changes:
        print(change.line())
    for issue in shown.deferred:
        print(f"? {issue.line()}")
    for issue in shown.held:
        print(f"! held {issue.line()}")
    for note in shown.unmanaged:
        print(f"# {note}")
    for issue in shown.refusals:
        print(f"refused {issue.line()}", file=sys.stderr)


def deletes(change: Change) -> bool:
    """Whether ``change`` removes something the plane holds (what only ``--prune`` plans)."""
    if isinstance(change, SetRateLimit):
        return change.per_minute == 0 and change.previous is not None
    return isinstance(change, RemoveGrant | RemoveBudget)


def confirm_deletions(planned: Plan, args: argparse.Namespace) -> None:
    """Lists what ``--prune`` would delete and asks on a terminal, unless ``--yes``.

    Raises:
        UsageError: not confirmed, or no terminal to ask on and no ``--yes`` (nothing changed).
    """
    deletions = [change for change in planned.changes if deletes(change)]
    if not deletions or planned.refusals:  # nothing to delete, or the apply refuses and changes nothing anyway
        return
    what = f"{len(deletions)} {'entry' if len(deletions) == 1 else 'entries'}"
    print(f"--prune would delete {what} the file does not list:")
    for change in deletions:
        print(f"  {change.line()}")
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"--prune would delete {what} and there is no terminal to confirm on: nothing changed "
            "(run it on a terminal, or pass --yes)"
        )
    sys.stderr.write(f"delete {'it' if len(deletions) == 1 else 'them'} and apply {args.file}? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in {"y", "yes"}:
        raise UsageError("not confirmed: nothing changed")


def apply_command(target: Target, args: argparse.Namespace) -> None:
    desired, digest = read_config(args.file)
    if args.dry_run:
        planned = plan(desired, _ports(target), prune=args.prune)
        print(f"Plan for {target.description} (dry run: nothing is changed):")
        show_plan(planned)
        print(f"{len(planned.changes)} changes" if planned.changes else "No changes.")
        if planned.refusals:
            raise UsageError(f"{args.file} cannot be applied to {target.description} as it stands")
        if planned.held:  # the apply would exit 1 for these: so does the dry run
            raise ApplyIncompleteError(
                f"approvals held: {len(planned.held)}; applying {args.file} would not make the plane match it yet"
            )
        return
    if args.prune:
        confirm_deletions(plan(desired, _ports(target), prune=True), args)
    target.actor()  # before any change: who acts is recorded
    try:
        result = apply(desired, _ports(target), prune=args.prune, file_digest=digest)
    except ConfigConflictError as exc:
        raise ApplyIncompleteError(f"{exc}; what was applied before stays applied: run apply again") from exc
    if result.refused:
        show_plan(result.plan)
        registered = ", ".join(change.server for change in result.plan.registrations) if result.applied else ""
        done = f"registered {registered}, nothing else changed" if result.applied else "nothing changed"
        raise UsageError(f"{args.file} cannot be applied to {target.description}: {done}")
    for change in result.applied:
        print(change.line())
    for issue in result.plan.held + result.skipped:
        print(f"! held {issue.line()}")
    for note in result.plan.unmanaged:
        print(f"# {note}")
    print(f"Applied {len(result.applied)} changes." if result.applied else "No changes.")
    not_done = len(result.plan.held) + len(result.skipped)
    if not_done:
        raise ApplyIncompleteError(f"approvals held: {not_done}; the plane does not match {args.file} yet")


def export_command(target: Target, args: argparse.Namespace) -> None:
    try:
        config, notes = export_config(read_state(_ports(target)), versions=not args.no_versions)
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None
    text = HEADER + yaml.safe_dump(to_document(config), sort_keys=False, allow_unicode=True, width=120)
    for note in notes:
        print(f"steward: note: {note}", file=sys.stderr)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return
    output = Path(args.output)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(text)
    partial.replace(output)
    print(f"wrote {output}", file=sys.stderr)
