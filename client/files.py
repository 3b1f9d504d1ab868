"""Artifact bytes on the step's side: hashing, packing directories, the download cache.

An output written as a directory (a saved model, a partitioned dataset) is uploaded as
one tar archive, built deterministically (sorted names, no times or owners), so the same
tree always has the same sha256 and a cache key built from it stays stable; the artifact
gets the custom property ``lineage_archive = "tar"`` and is unpacked again on download.
Downloads land in ``~/.cache/lineage`` by sha256, checked, and are reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lineage.errors import DataLoss

from . import config

ARCHIVE_PROPERTY = "lineage_archive"
TAR = "tar"
CHUNK = 1024 * 1024


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else (0o755 if info.mode & 0o111 else 0o644)
    return info


def pack_directory(directory: Path, into: Path) -> Path:
    """A deterministic tar of ``directory`` at ``into`` (same tree, same bytes)."""
    into.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(into, "w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            rel_root = Path(root).relative_to(directory)
            for name in [*dirs, *sorted(files)]:
                full = Path(root) / name
                arcname = (rel_root / name).as_posix()
                info = _reset(tar.gettarinfo(str(full), arcname=arcname))
                if info.isfile():
                    with open(full, "rb") as handle:
                        tar.addfile(info, handle)
                elif info.isdir() or info.issym():
                    tar.addfile(info)
    return into


def prepare_upload(path: Path, scratch: Path) -> tuple[Path, str, int, str | None]:
    """(file to upload, sha256, size, archive kind) for an output file or directory."""
    if path.is_dir():
        packed = pack_directory(path, scratch / f"{uuid.uuid4().hex}.tar")
        sha, size = hash_file(packed)
        return packed, sha, size, TAR
    sha, size = hash_file(path)
    return path, sha, size, None


def unpack(archive: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r") as tar:
        tar.extractall(directory, filter="data")


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``final``; renamed into place on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def cached_blob(
    sha256: str,
    size: int | None,
    archive: str | None,
    fetch: Callable[[BinaryIO], None],
) -> Path:
    """The local copy of a blob (a directory for a tar archive), fetched once.

    ``fetch`` writes the bytes to the handle it is given; they are checked against
    ``sha256`` (and ``size``) before the copy is used.
    """
    root = config.download_dir()
    blob = root / "blobs" / sha256[:2] / sha256
    if not (blob.is_file() and (size is None or blob.stat().st_size == size)):
        with atomic_file(blob) as handle:
            hashing = _HashingWriter(handle)
            fetch(hashing)  # type: ignore[arg-type]
            if hashing.hexdigest() != sha256 or (size is not None and hashing.size != size):
                raise DataLoss(
                    f"downloaded bytes of blob sha256:{sha256} do not match their checksum "
                    f"({hashing.size} bytes, sha256 {hashing.hexdigest()}); nothing was kept"
                )
    if archive != TAR:
        return blob
    tree = root / "trees" / sha256
    if not tree.is_dir():
        tmp = root / "trees" / f".part-{uuid.uuid4().hex}"
        try:
            unpack(blob, tmp)
            try:
                os.replace(tmp, tree)
            except OSError:
                if not tree.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return tree


class _HashingWriter(io.RawIOBase):
    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._handle.write(data)
        self._digest.update(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def read_uri(uri: str, handle: BinaryIO) -> None:
    """Copy the bytes at an artifact URI (any scheme the blob layer reads) to ``handle``."""
    from lineage.blobs import open_uri

    store, key = open_uri(uri)
    try:
        with store.open_key(key) as reader:
            for chunk in reader:
                handle.write(chunk)
    finally:
        store.close()
