"""Blobs on local disk: write ``<root>/tmp/<uuid>``, fsync, ``os.replace`` into place."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lineage.errors import FailedPrecondition, Unavailable

from .base import CHUNK_SIZE, TEMP_DIR, BlobStore, HashingSource, ObjectStat, read_chunks

__all__ = ["LocalBlobStore"]


class LocalBlobStore(BlobStore):
    kind = "local"

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).expanduser().absolute()
        self.fsync = fsync

    def describe(self) -> str:
        return f"local directory {self.root}"

    def check(self) -> None:
        try:
            (self.root / TEMP_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(f"cannot use blob directory {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise FailedPrecondition(f"blob directory {self.root} is not writable")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def _uri(self, key: str) -> str:
        return self._path(key).as_uri()

    # -- primitives ------------------------------------------------------------------
    def _stage(self, source: HashingSource, size_hint: int | None) -> Path:
        tmp_dir = self.root / TEMP_DIR
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(f"cannot create blob directory {tmp_dir}: {exc}") from exc
        tmp = tmp_dir / uuid.uuid4().hex
        try:
            with open(tmp, "xb", buffering=0) as f:
                for chunk in source.chunks():
                    f.write(chunk)
                if self.fsync:
                    os.fsync(f.fileno())
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                raise Unavailable(f"cannot write blob to {self.root}: {exc}") from exc
            raise
        return tmp

    def _publish(self, staged: Any, key: str, sha256: str, size: int) -> None:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        if self.fsync:
            fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _discard(self, staged: Any) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)

    def _stat(self, key: str) -> ObjectStat | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None  # a directory (KFP's output URIs often are) holds no object
        return ObjectStat(st.st_size, st.st_mtime)

    def _touch(self, key: str) -> None:
        with contextlib.suppress(OSError):
            os.utime(self._path(key))

    def _read(
        self, key: str, start: int, length: int | None
    ) -> tuple[Iterator[bytes], Callable[[], None]]:
        f = open(self._path(key), "rb", buffering=0)  # noqa: SIM115 - closed by the reader
        if start:
            f.seek(start)

        return read_chunks(f, CHUNK_SIZE, length), f.close

    def _delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        # Tidy empty fan-out directories (best effort; a concurrent put re-creates them).
        for parent in (path.parent, path.parent.parent):
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break
        return True

    def _list(self, prefix: str) -> Iterator[tuple[str, ObjectStat]]:
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                yield rel, ObjectStat(st.st_size, st.st_mtime)
