"""Where the local plane's state file lives by default: a module of its own, standard library ``pathlib`` only, so
that building the CLI's parser (whose ``--state-file`` defaults to it) imports nothing of the state file's codec."""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Where ``steward dev`` writes its state file and where commands look for it.
DEFAULT_PATH: Final = Path(".steward/local.json")
