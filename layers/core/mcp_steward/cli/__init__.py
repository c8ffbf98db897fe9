"""The ``steward`` admin CLI: the same commands for the local plane and a deployed stack."""

from pathlib import Path

#: Where ``steward dev`` writes the local plane's state and where commands look for it (here, not in
#: :mod:`mcp_steward.cli.target`, so that building the parser imports nothing more).
DEFAULT_STATE_FILE = Path(".steward/local.json")
