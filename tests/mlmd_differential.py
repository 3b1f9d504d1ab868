"""Run the same calls on MLMD's own store and on ours, and compare what comes back.

MLMD's in-process store (its C++ library on a SQLite file) is the oracle. A scenario
is a function of (store, record); ``record(label, call, kinds)`` runs the call and
keeps either its result, normalized, or the class of the ``ml_metadata.errors``
exception it raised. Ids are compared by order of first appearance per id space
(types, artifacts, executions, contexts), because PostgreSQL and MySQL burn ids on
rolled-back inserts where SQLite does not; timestamps are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import message as pb_message
from google.protobuf.json_format import MessageToDict
from ml_metadata import errors

TIME_FIELDS = {
    "create_time_since_epoch",
    "last_update_time_since_epoch",
    "milliseconds_since_epoch",
}

# Which id space each field name of each message refers to.
_ID_FIELDS = {
    "Artifact": {"id": "a", "type_id": "t"},
    "Execution": {"id": "e", "type_id": "t"},
    "Context": {"id": "c", "type_id": "t"},
    "ArtifactType": {"id": "t"},
    "ExecutionType": {"id": "t"},
    "ContextType": {"id": "t"},
    "Event": {"artifact_id": "a", "execution_id": "e"},
    "Attribution": {"artifact_id": "a", "context_id": "c"},
    "Association": {"execution_id": "e", "context_id": "c"},
    "ParentContext": {"child_id": "c", "parent_id": "c"},
}


class IdMap:
    def __init__(self) -> None:
        self.spaces: dict[str, dict[int, int]] = {}

    def __call__(self, space: str, value: int) -> str:
        ids = self.spaces.setdefault(space, {})
        if value not in ids:
            ids[value] = len(ids) + 1
        return f"{space}#{ids[value]}"


def normalize(value: Any, ids: IdMap, kinds: str | tuple[str, ...] | None = None) -> Any:
    if isinstance(kinds, tuple):  # a tuple result, one id space per element
        return [normalize(v, ids, k) for v, k in zip(value, kinds, strict=True)]
    if isinstance(value, pb_message.Message):
        return _normalize_message(value, ids)
    if isinstance(value, (list, tuple)):
        return [normalize(v, ids, kinds) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v, ids, kinds) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and kinds:
        return ids(kinds, value)
    return value


def _normalize_message(message: pb_message.Message, ids: IdMap) -> Any:
    name = message.DESCRIPTOR.name
    result: dict[str, Any] = {}
    for field, data in message.ListFields():
        if field.name in TIME_FIELDS or field.name == "next_page_token":
            continue
        space = _ID_FIELDS.get(name, {}).get(field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is not None:
                # property maps: keep as plain dicts; contexts-by-contexts maps: id keys
                if value_field.message_type.name in (
                    "ParentContextsPerChild",
                    "ChildrenContextsPerParent",
                ):
                    result[field.name] = {
                        ids("c", k): _normalize_message(v, ids) for k, v in sorted(data.items())
                    }
                else:
                    result[field.name] = {
                        k: MessageToDict(v, preserving_proto_field_name=True)
                        for k, v in data.items()
                    }
            else:
                result[field.name] = dict(data)
        elif field.label == field.LABEL_REPEATED:
            if field.message_type is not None:
                result[field.name] = [_normalize_message(v, ids) for v in data]
            else:
                result[field.name] = [ids(space, v) if space else v for v in data]
        elif field.message_type is not None:
            result[field.name] = _normalize_message(data, ids)
        elif space:
            result[field.name] = ids(space, data)
        else:
            result[field.name] = data
    return {name: result}


class Recorder:
    def __init__(self) -> None:
        self.ids = IdMap()
        self.log: list[tuple[str, Any]] = []

    def __call__(
        self, label: str, call: Callable[[], Any], kinds: str | tuple[str, ...] | None = None
    ) -> Any:
        try:
            result = call()
        except errors.StatusError as exc:
            self.log.append((label, ("error", type(exc).__name__)))
            return None
        except Exception as exc:
            if type(exc).__name__ != "OracleCannot":
                raise
            self.log.append((label, ("oracle cannot",)))
            return None
        self.log.append((label, normalize(result, self.ids, kinds)))
        return result


def compare(expected: list[tuple[str, Any]], actual: list[tuple[str, Any]]) -> list[str]:
    """Human-readable differences, empty when the two logs agree."""
    problems = []
    for (label, want), (label2, got) in zip(expected, actual, strict=False):
        assert label == label2, (label, label2)
        if want == ("oracle cannot",):
            continue  # checked against explicit expectations elsewhere
        if want != got:
            problems.append(f"{label}:\n  MLMD:    {want!r}\n  Lineage: {got!r}")
    if len(expected) != len(actual):
        problems.append(f"log lengths differ: MLMD {len(expected)}, Lineage {len(actual)}")
    return problems
