"""The ``steward`` admin CLI: the same commands for the local plane and a deployed stack."""

from mcp_steward.contracts.state_path import DEFAULT_PATH

#: Where ``steward dev`` writes the local plane's state and where commands look for it (here, not in
#: :mod:`mcp_steward.cli.target`, so that building the parser imports nothing more).
DEFAULT_STATE_FILE = DEFAULT_PATH
