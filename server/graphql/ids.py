"""Global node ids (Relay): an opaque string naming a GraphQL type and an MLMD id.

``Artifact:12`` is sent as ``QXJ0aWZhY3Q6MTI`` (URL-safe base64, no padding). Inputs
also take the readable form ``Artifact:12``, and where the kind is known from the
argument (``artifactId``, ``runIds``) a bare MLMD id (``"12"``) too.
"""

from __future__ import annotations

import base64
import binascii

from lineage.errors import InvalidArgument

NODE_TYPENAMES = (
    "Artifact",
    "Execution",
    "Context",
    "PipelineRun",
    "ArtifactType",
    "ExecutionType",
    "ContextType",
)
MAX_MLMD_ID = 2**63 - 1


def to_global_id(typename: str, mlmd_id: int) -> str:
    raw = f"{typename}:{int(mlmd_id)}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _mlmd_id(text: str) -> int | None:
    """The MLMD id written in ``text`` (ASCII digits only: str.isdigit also passes '²',
    which int() refuses), or None."""
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_MLMD_ID:
        return None
    return int(text)


def _parse_plain(text: str) -> tuple[str, int] | None:
    typename, sep, number = text.partition(":")
    mlmd_id = _mlmd_id(number)
    if not sep or typename not in NODE_TYPENAMES or mlmd_id is None:
        return None
    return typename, mlmd_id


def from_global_id(value: str, *, what: str = "id") -> tuple[str, int]:
    """(typename, MLMD id) of a global id; InvalidArgument when it is not one."""
    text = str(value).strip()
    parsed = _parse_plain(text)
    if parsed is None and text:
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        parsed = _parse_plain(decoded)
    if parsed is None:
        raise InvalidArgument(
            f"{what}: {_show(text)} is not a node id (pass an id returned by this API, "
            "or the readable form like 'Artifact:12')"
        )
    return parsed


def parse_id(value: str, accepted: tuple[str, ...], *, what: str = "id") -> tuple[str, int]:
    """A global id of one of the ``accepted`` types, or a bare MLMD id (taken as the
    first accepted type)."""
    text = str(value).strip()
    mlmd_id = _mlmd_id(text)
    if mlmd_id is not None:
        return accepted[0], mlmd_id
    typename, mlmd_id = from_global_id(text, what=what)
    if typename not in accepted:
        raise InvalidArgument(
            f"{what}: {_show(text)} is the id of a {typename}, expected {' or '.join(accepted)}"
        )
    return typename, mlmd_id


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
