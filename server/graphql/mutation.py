"""The Mutation root: what a dashboard changes. Each mutation is one transaction;
inputs are checked first and refused with an INVALID_ARGUMENT error saying what is
wrong; an unknown node is NOT_FOUND."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import strawberry
from strawberry.types import Info

from lineage import model
from lineage.errors import InvalidArgument
from lineage.server.graphql.ids import parse_id
from lineage.server.graphql.loaders import Loaders
from lineage.server.graphql.results import CustomPropertyInput
from lineage.server.graphql.types import (
    Artifact,
    ArtifactState,
    Context,
    Execution,
    Long,
    MetadataNode,
    PipelineRun,
)
from lineage.store import dashboard
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, KINDS

MAX_PROPERTIES_PER_CALL = 100
MAX_NAME_LENGTH = 255
MAX_STRING_LENGTH = 64 * 1024
MAX_STRUCT_BYTES = 64 * 1024
MAX_NOTE_LENGTH = 10_000
MAX_LABELS_PER_CALL = 50
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.\-/]{0,61}[A-Za-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Custom properties Lineage records itself (blob checksum and size, step timings, error
# messages, idempotency keys: lineage/steps.py, lineage/blobs/records.py). Changing them
# from a dashboard would point an artifact at other bytes or rewrite history.
RESERVED_PREFIX = "lineage_"

_TARGETS = ("Artifact", "Execution", "Context", "PipelineRun")
_KIND_OF = {
    "Artifact": "artifact",
    "Execution": "execution",
    "Context": "context",
    "PipelineRun": "context",
}


def check_name(name: str, what: str = "custom property name") -> str:
    if not name or not name.strip():
        raise InvalidArgument(f"{what} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{what} {name[:40]!r}...: at most {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):
        raise InvalidArgument(f"{what} {name!r} must not contain control characters")
    return name


def _not_reserved(name: str) -> str:
    if name.startswith(RESERVED_PREFIX):
        raise InvalidArgument(
            f"custom property {name!r} is recorded by Lineage itself (names starting with "
            f"{RESERVED_PREFIX!r}) and cannot be set or removed here"
        )
    return name


def property_value(given: CustomPropertyInput) -> model.Value:
    """The one value of a CustomPropertyInput, checked."""
    set_fields = [
        (field, value)
        for field, value in (
            ("intValue", given.int_value),
            ("doubleValue", given.double_value),
            ("stringValue", given.string_value),
            ("boolValue", given.bool_value),
            ("structValue", given.struct_value),
        )
        if value is not None
    ]
    if len(set_fields) != 1:
        listed = ", ".join(f for f, _ in set_fields) or "none"
        raise InvalidArgument(
            f"custom property {given.name!r}: set exactly one of intValue, doubleValue, "
            f"stringValue, boolValue, structValue (got {listed})"
        )
    field, value = set_fields[0]
    if field == "intValue":
        return model.Value(model.PropertyType.INT, int(value))  # type: ignore[call-overload]
    if field == "doubleValue":
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            raise InvalidArgument(f"custom property {given.name!r}: doubleValue must be finite")
        return model.Value(model.PropertyType.DOUBLE, number)
    if field == "stringValue":
        text = str(value)
        if len(text) > MAX_STRING_LENGTH:
            raise InvalidArgument(
                f"custom property {given.name!r}: stringValue is longer than "
                f"{MAX_STRING_LENGTH} characters"
            )
        return model.Value(model.PropertyType.STRING, text)
    if field == "boolValue":
        return model.Value(model.PropertyType.BOOLEAN, bool(value))
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"custom property {given.name!r}: structValue must be a JSON object, got "
            f"{type(value).__name__}"
        )
    try:
        encoded = json.dumps(value, allow_nan=False)
    except ValueError:
        raise InvalidArgument(
            f"custom property {given.name!r}: structValue must hold finite numbers only"
        ) from None
    if len(encoded) > MAX_STRUCT_BYTES:
        raise InvalidArgument(
            f"custom property {given.name!r}: structValue is larger than {MAX_STRUCT_BYTES} bytes"
        )
    return model.Value(model.PropertyType.STRUCT, model.StructValue(value))


def check_label(label: str) -> str:
    if not LABEL_PATTERN.fullmatch(label):  # match() with $ lets a trailing newline in
        raise InvalidArgument(
            f"label {label[:70]!r} is not valid: 1 to 63 letters, digits, '_', '-', '.' or "
            "'/', starting and ending with a letter or digit"
        )
    return label


def _target(node_id: str) -> tuple[str, int]:
    typename, mlmd_id = parse_id(node_id, _TARGETS, what="id")
    return typename, mlmd_id


async def _reload(loaders: Loaders, typename: str, mlmd_id: int) -> MetadataNode:
    kind = KINDS[_KIND_OF[typename]]
    loaders.forget(kind, mlmd_id)
    found: Any = await {
        ARTIFACT: loaders.artifact,
        EXECUTION: loaders.execution,
        CONTEXT: loaders.context,
    }[kind].load(mlmd_id)
    if typename == "Artifact":
        return Artifact.of(found, loaders)
    if typename == "Execution":
        return Execution.of(found, loaders)
    if typename == "PipelineRun":
        return PipelineRun.of(found, loaders)
    return Context.of(found, loaders)


async def _set(
    info: Info,
    node_id: str,
    values: dict[str, model.Value],
    remove: list[str],
    expected: int | None = None,
) -> MetadataNode:
    loaders: Loaders = info.context.loaders
    typename, mlmd_id = _target(node_id)
    kind_name = _KIND_OF[typename]
    if typename == "PipelineRun":
        is_run = await loaders.read(
            dashboard.context_is_of_type, mlmd_id, dashboard.PIPELINE_RUN_TYPE
        )
        if not is_run:
            raise InvalidArgument(f"id {node_id!r}: context {mlmd_id} is not a pipeline run")
    await loaders.write(
        dashboard.set_custom_properties,
        kind_name,
        mlmd_id,
        values,
        remove,
        expected_last_update=expected,
    )
    return await _reload(loaders, typename, mlmd_id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Set an artifact's state (any state but UNKNOWN).")
    async def set_artifact_state(
        self, info: Info, id: strawberry.ID, state: ArtifactState
    ) -> Artifact:
        loaders: Loaders = info.context.loaders
        _, mlmd_id = parse_id(id, ("Artifact",), what="id")
        if state == ArtifactState.UNKNOWN:
            raise InvalidArgument("state: UNKNOWN cannot be set; pick a known state")
        await loaders.write(dashboard.set_artifact_state, mlmd_id, state.value)
        node = await _reload(loaders, "Artifact", mlmd_id)
        assert isinstance(node, Artifact)
        return node

    @strawberry.mutation(
        description="Set and remove custom properties of an artifact, execution, context or "
        "pipeline run (at most 100 names a call), leaving the others as they are. With "
        "expectedLastUpdateTimeSinceEpoch, refused (FAILED_PRECONDITION) if the node "
        "changed since that time."
    )
    async def set_custom_properties(
        self,
        info: Info,
        id: strawberry.ID,
        set: list[CustomPropertyInput] | None = None,
        remove: list[str] | None = None,
        expected_last_update_time_since_epoch: Long | None = None,
    ) -> MetadataNode:
        given = list(set or ())
        removed = [_not_reserved(check_name(n)) for n in remove or ()]
        if len(given) + len(removed) > MAX_PROPERTIES_PER_CALL:
            raise InvalidArgument(
                f"at most {MAX_PROPERTIES_PER_CALL} custom properties a call, got "
                f"{len(given) + len(removed)}"
            )
        if not given and not removed:
            raise InvalidArgument("give custom properties to set or names to remove")
        values: dict[str, model.Value] = {}
        for item in given:
            _not_reserved(check_name(item.name))
            if item.name in values:
                raise InvalidArgument(f"custom property {item.name!r} is given twice")
            values[item.name] = property_value(item)
        return await _set(info, id, values, removed, expected_last_update_time_since_epoch)

    @strawberry.mutation(
        description="Add labels (custom properties 'label:<name>' = true) to a node."
    )
    async def add_labels(self, info: Info, id: strawberry.ID, labels: list[str]) -> MetadataNode:
        checked = _labels(labels)
        values = {
            dashboard.LABEL_PREFIX + label: model.Value(model.PropertyType.BOOLEAN, True)
            for label in checked
        }
        return await _set(info, id, values, [])

    @strawberry.mutation(description="Remove labels from a node (absent ones are ignored).")
    async def remove_labels(self, info: Info, id: strawberry.ID, labels: list[str]) -> MetadataNode:
        checked = _labels(labels)
        return await _set(info, id, {}, [dashboard.LABEL_PREFIX + label for label in checked])

    @strawberry.mutation(
        description="Set a node's note (custom property 'note'); null or empty removes it."
    )
    async def set_note(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> MetadataNode:
        if note:
            if len(note) > MAX_NOTE_LENGTH:
                raise InvalidArgument(f"note: at most {MAX_NOTE_LENGTH} characters")
            return await _set(info, id, {"note": model.Value(model.PropertyType.STRING, note)}, [])
        return await _set(info, id, {}, ["note"])


def _labels(labels: list[str]) -> list[str]:
    if not labels:
        raise InvalidArgument("labels: give at least one label")
    if len(labels) > MAX_LABELS_PER_CALL:
        raise InvalidArgument(f"labels: at most {MAX_LABELS_PER_CALL} a call")
    return list(dict.fromkeys(check_label(label) for label in labels))
