"""Every admin operation, with its validation and its audit record: keys and principals, grants, prices, budgets
and rate limits, servers and tools.

The CLI (``cli/``), ``steward apply`` (:mod:`mcp_steward.services.config_apply`), the local plane's seed and the
console call these functions with typed arguments and an :class:`AdminPorts`; none of them writes an admin change
or its audit record itself. A refusal is an :class:`AdminRefusedError` (nothing changed; its ``exit_code`` is the
CLI's); each change is followed by its admin audit record, with the action and detail the CLI has always written.
"""

from mcp_steward.services.admin.ports import AdminConflictError, AdminPorts, AdminRefusedError, AuditSink, Directory

__all__ = ["AdminConflictError", "AdminPorts", "AdminRefusedError", "AuditSink", "Directory"]
