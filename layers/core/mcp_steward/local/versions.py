"""Lambda's published versions on the local plane: immutable snapshots of a function's code directory.

In AWS, approval pins a function's published version and governance invokes that version, so a later
deploy cannot change what an approved tool runs. The local runner gives the same guarantee: publishing
copies the function's ``CodeUri`` directory aside (caches skipped) and numbers it like Lambda does
(``1``, ``2``, …), and an invocation qualified with that number runs the copy, whatever happens to the
working tree afterwards. Publishing code that equals the latest version's returns that version, as
``lambda:PublishVersion`` does. Layers are not copied: locally they are the repository's own source.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from mcp_steward.domain.pinning import SKIPPED_PARTS, code_dir_hash
from mcp_steward.local.template import FunctionSpec

LATEST = "$LATEST"


@dataclass(frozen=True)
class PublishedVersion:
    """One published version: its number, its code's hash, and the spec that runs its snapshot."""

    number: str
    code_hash: str
    spec: FunctionSpec
    published_at: datetime

    def configuration(self) -> dict[str, object]:
        """The ``FunctionConfiguration`` that ``PublishVersion`` answers with (the fields boto3 users read)."""
        digest = bytes.fromhex(self.code_hash.removeprefix("dir-sha256:"))
        return {
            "FunctionName": self.spec.function_name,
            "FunctionArn": f"{self.spec.function_arn}:{self.number}",
            "Version": self.number,
            "CodeSha256": base64.b64encode(digest).decode(),
            "Runtime": self.spec.runtime,
            "Handler": self.spec.handler,
            "Timeout": self.spec.timeout_s,
            "MemorySize": self.spec.memory_mb,
            "LastModified": self.published_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "State": "Active",
        }


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in SKIPPED_PARTS or name.endswith(".pyc")}


class VersionStore:
    """The published versions of every function, as snapshots under one directory (a fresh temporary
    directory unless one is given; it is removed on :meth:`close` only when the store created it)."""

    def __init__(self, root: Path | None = None) -> None:
        self._owned = root is None
        self._root = Path(tempfile.mkdtemp(prefix="steward-versions-")) if root is None else root
        self._versions: dict[str, list[PublishedVersion]] = {}
        self._lock = threading.Lock()

    def publish(self, spec: FunctionSpec) -> PublishedVersion:
        """Snapshot the function's code as a new version, or return the latest one when the code is the same.

        The hash is taken of the snapshot, not of the working tree, so a file changed mid-copy cannot make the
        recorded hash disagree with the code that runs.
        """
        with self._lock:
            published = self._versions.setdefault(spec.logical_id, [])
            number = str(len(published) + 1)
            snapshot = self._root / spec.logical_id / number
            shutil.rmtree(snapshot, ignore_errors=True)  # a leftover of an interrupted publish
            shutil.copytree(spec.code_dir, snapshot, ignore=_ignore)
            code_hash = code_dir_hash(snapshot)
            if published and published[-1].code_hash == code_hash:
                shutil.rmtree(snapshot)
                return published[-1]
            version = PublishedVersion(number, code_hash, replace(spec, code_dir=snapshot), datetime.now(UTC))
            published.append(version)
            return version

    def get(self, spec: FunctionSpec, qualifier: str) -> PublishedVersion | None:
        """The published version ``qualifier`` of ``spec``; None when there is no such version."""
        with self._lock:
            published = self._versions.get(spec.logical_id, [])
        if not qualifier.isdigit() or not 1 <= int(qualifier) <= len(published):
            return None
        return published[int(qualifier) - 1]

    def close(self) -> None:
        if self._owned:
            shutil.rmtree(self._root, ignore_errors=True)
