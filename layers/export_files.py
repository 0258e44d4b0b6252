"""Whole-layer download files kept under the state directory, one per layer version and format.

`<state_dir>/downloads/<layer>/<layer>-v<version>.<suffix>`: built on the first request after the
layer's change counter moved (layers/versions.py), written to a temporary name and renamed into
place (os.replace), so a file under its final name is always complete. One builder at a time per
layer and format, across processes: an exclusive flock on `<layer>.<suffix>.lock` (released by
the kernel when a builder dies, even by SIGKILL). A request that finds a build under way gets
the newest complete file of an earlier version when there is one, else waits for the build.
Left-over temporary files of a killed build are removed by the next builder.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from layers import exports
from layers.catalogue import Layer
from layers.database import Database

LOGGER = logging.getLogger(__name__)
KEEP_PREVIOUS = 1          # earlier versions kept (a client may still be reading one)


@dataclass(frozen=True)
class Built:
    """A complete file and the layer version it holds."""

    path: Path
    version: int


class ExportFiles:
    """The whole-layer files of one application."""

    def __init__(self, db: Database, root: Path):
        """Files live under `root` (`<state_dir>/downloads`)."""
        self.db, self.root = db, Path(root)

    def _dir(self, layer: Layer) -> Path:
        """The directory of a layer's files."""
        path = self.root / layer.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, layer: Layer, fmt: str, version: int) -> Path:
        """Where the file of one version lives."""
        suffix = exports.FORMATS[fmt].suffix
        return self._dir(layer) / f"{layer.id}-v{version}.{suffix}"

    def versions(self, layer: Layer, fmt: str) -> list[Built]:
        """Complete files of the layer in this format, newest first."""
        suffix = re.escape(exports.FORMATS[fmt].suffix)
        pattern = re.compile(rf"^{re.escape(layer.id)}-v(\d+)\.{suffix}$")
        found = [Built(p, int(m.group(1))) for p in self._dir(layer).iterdir()
                 if (m := pattern.match(p.name))]
        return sorted(found, key=lambda b: b.version, reverse=True)

    def get(self, layer: Layer, fmt: str, version: int) -> Built:
        """The file of `version`, built if needed; during another process's build, the newest
        earlier file (or, when there is none, the new one once built)."""
        wanted = self.path(layer, fmt, version)
        if wanted.exists():
            return Built(wanted, version)
        lock = self._dir(layer) / f"{layer.id}.{exports.FORMATS[fmt].suffix}.lock"
        with open(lock, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                earlier = [b for b in self.versions(layer, fmt) if b.version < version]
                if earlier:
                    return earlier[0]
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if not wanted.exists():
                    self._build(layer, fmt, wanted)
                self._prune(layer, fmt, version)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return Built(wanted, version)

    def _build(self, layer: Layer, fmt: str, target: Path) -> None:
        """Write the file under a temporary name (removing a killed build's leftovers), then
        rename it into place."""
        folder = target.parent
        for stale in folder.glob(f".{layer.id}.{exports.FORMATS[fmt].suffix}.*"):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(
                missing_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{layer.id}.{exports.FORMATS[fmt].suffix}.",
                                     dir=folder))
        started = time.perf_counter()
        try:
            partial = work / f"partial.{exports.FORMATS[fmt].suffix}"
            scratch = work / "scratch"
            scratch.mkdir()
            with self.db.connection() as conn:
                exports.write_file(conn, exports.Selection.whole(layer), fmt, partial, scratch)
            os.replace(partial, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        LOGGER.info("built %s in %.1f s", target.name, time.perf_counter() - started)

    def _prune(self, layer: Layer, fmt: str, version: int) -> None:
        """Remove files older than the kept earlier versions."""
        older = [b for b in self.versions(layer, fmt) if b.version < version]
        for built in older[KEEP_PREVIOUS:]:
            built.path.unlink(missing_ok=True)
