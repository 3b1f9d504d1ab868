"""Artifact objects handed to step code: KFP's classes with a local ``.path`` and an id.

Inside a step, an artifact's ``.path`` must be a local file even when its ``uri`` names
a blob store (``s3://...``) or a downloaded copy. The objects are instances of small
subclasses of ``lineage.Dataset``, ``lineage.Model``, ... (``isinstance`` and
``schema_title`` unchanged) whose ``path`` returns the local copy, fetched on first use
where it was not fetched already, and whose ``id`` is the recorded artifact's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lineage.artifacts import Artifact, uri_to_local_path


@dataclass
class ArtifactRef:
    """How the store knows an artifact (filled as the SDK learns it)."""

    id: int = 0
    external_id: str = ""
    sha256: str = ""
    size: int = 0
    archive: str | None = None


class _Local:
    """Mixin: a local path that wins over the one derived from ``uri``."""

    _lineage_local: str | None
    _lineage_fetch: Callable[[], str] | None
    _lineage_ref: ArtifactRef

    @property
    def path(self) -> str:
        local = self.__dict__.get("_lineage_local")
        if local is None:
            fetch = self.__dict__.get("_lineage_fetch")
            if fetch is not None:
                local = fetch()
                self.__dict__["_lineage_local"] = local
                self.__dict__["_lineage_fetch"] = None
        if local is not None:
            return str(local)
        return uri_to_local_path(self.uri)  # type: ignore[attr-defined]

    @path.setter
    def path(self, path: Any) -> None:
        Artifact.path.fset(self, path)  # type: ignore[attr-defined]
        self.__dict__["_lineage_local"] = None
        self.__dict__["_lineage_fetch"] = None

    @property
    def id(self) -> int | None:
        """The recorded artifact's id (None until the store has recorded it)."""
        ref = self.__dict__.get("_lineage_ref")
        return ref.id if ref is not None and ref.id else None


_SUBCLASSES: dict[type, type] = {}


def local_class(cls: type[Artifact]) -> type[Artifact]:
    if issubclass(cls, _Local):
        return cls
    if cls not in _SUBCLASSES:
        _SUBCLASSES[cls] = type(cls.__name__, (_Local, cls), {"__module__": cls.__module__})
    return _SUBCLASSES[cls]


def make_artifact(
    cls: type[Artifact],
    *,
    name: str = "",
    uri: str = "",
    metadata: dict[str, Any] | None = None,
    local: str | None = None,
    fetch: Callable[[], str] | None = None,
    ref: ArtifactRef | None = None,
) -> Artifact:
    artifact = local_class(cls)(name=name, uri=uri, metadata=metadata)
    artifact.__dict__["_lineage_local"] = local
    artifact.__dict__["_lineage_fetch"] = fetch
    artifact.__dict__["_lineage_ref"] = ref or ArtifactRef()
    return artifact


def ref_of(artifact: Any) -> ArtifactRef | None:
    ref = getattr(artifact, "__dict__", {}).get("_lineage_ref")
    return ref if isinstance(ref, ArtifactRef) else None


def local_of(artifact: Any) -> str | None:
    """The local copy the SDK already has (no fetching)."""
    return getattr(artifact, "__dict__", {}).get("_lineage_local")


def set_local(artifact: Any, local: str | None) -> None:
    artifact.__dict__["_lineage_local"] = local
