"""Lambda's published versions on the local plane: immutable snapshots of a function's code directory.

In AWS, approval pins a function's published version and governance invokes that version, so a later
deploy cannot change what an approved tool runs. The local runner gives the same guarantee: publishing
copies the function's ``CodeUri`` directory aside (caches skipped) and numbers it like Lambda does
(``1``, ``2``, …), and an invocation qualified with that number runs the copy, whatever happens to the
working tree afterwards. Publishing code that equals the latest version's returns that version, as
``lambda:PublishVersion`` does. Layers are not copied: locally they are the repository's own source.

``steward dev`` keeps the versions across restarts (the registry pins them): the runner's store lives in the
directory named by ``STEWARD_LOCAL_VERSIONS_DIR`` (``.steward/store/versions/``), one ``<logical id>/<n>/``
snapshot per version, complete once its ``<n>.json`` (code hash, publish time) is written; a restarted runner
reads them back the first time a function is published or invoked. A version runs its snapshot's code with the
function's current configuration from the template (its endpoints change with every start).
"""

from __future__ import annotations

import base64
import json
import os
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


VERSIONS_DIR_VARIABLE = "STEWARD_LOCAL_VERSIONS_DIR"


class VersionStore:
    """The published versions of every function, as snapshots under one directory: ``root``, else the
    directory ``STEWARD_LOCAL_VERSIONS_DIR`` names (both kept, and read back), else a fresh temporary
    directory, removed on :meth:`close`."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None and os.environ.get(VERSIONS_DIR_VARIABLE):
            root = Path(os.environ[VERSIONS_DIR_VARIABLE])
        self._owned = root is None
        self._root = Path(tempfile.mkdtemp(prefix="steward-versions-")) if root is None else root
        self._versions: dict[str, list[PublishedVersion]] = {}
        self._lock = threading.Lock()

    def _published(self, spec: FunctionSpec) -> list[PublishedVersion]:
        """The versions of ``spec`` (read from disk the first time; the caller holds the lock). A snapshot
        without its record is the leftover of an interrupted publish: it and any later number are ignored."""
        published = self._versions.get(spec.logical_id)
        if published is None:
            published = self._versions[spec.logical_id] = []
            while True:
                number = str(len(published) + 1)
                snapshot = self._root / spec.logical_id / number
                try:
                    record = json.loads((self._root / spec.logical_id / f"{number}.json").read_text())
                    code_hash, at = str(record["code_hash"]), datetime.fromisoformat(record["published_at"])
                except (OSError, ValueError, KeyError, TypeError):
                    break
                if not snapshot.is_dir():
                    break
                published.append(PublishedVersion(number, code_hash, replace(spec, code_dir=snapshot), at))
        return published

    def _record(self, logical_id: str, version: PublishedVersion) -> None:
        """Mark a snapshot complete (atomically) so a restarted store reads it back."""
        if self._owned:
            return
        record = {"code_hash": version.code_hash, "published_at": version.published_at.isoformat()}
        path = self._root / logical_id / f"{version.number}.json"
        temporary = path.with_name(f".{path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)

    def publish(self, spec: FunctionSpec) -> PublishedVersion:
        """Snapshot the function's code as a new version, or return the latest one when the code is the same.

        The hash is taken of the snapshot, not of the working tree, so a file changed mid-copy cannot make the
        recorded hash disagree with the code that runs.
        """
        with self._lock:
            published = self._published(spec)
            number = str(len(published) + 1)
            snapshot = self._root / spec.logical_id / number
            shutil.rmtree(snapshot, ignore_errors=True)  # a leftover of an interrupted publish
            shutil.copytree(spec.code_dir, snapshot, ignore=_ignore)
            code_hash = code_dir_hash(snapshot)
            if published and published[-1].code_hash == code_hash:
                shutil.rmtree(snapshot)
                return published[-1]
            version = PublishedVersion(number, code_hash, replace(spec, code_dir=snapshot), datetime.now(UTC))
            self._record(spec.logical_id, version)
            published.append(version)
            return version

    def get(self, spec: FunctionSpec, qualifier: str) -> PublishedVersion | None:
        """The published version ``qualifier`` of ``spec``; None when there is no such version."""
        with self._lock:
            published = list(self._published(spec))
        if not qualifier.isdigit() or not 1 <= int(qualifier) <= len(published):
            return None
        return published[int(qualifier) - 1]

    def close(self) -> None:
        if self._owned:
            shutil.rmtree(self._root, ignore_errors=True)
