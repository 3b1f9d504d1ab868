"""Property values to and from rows of the ``*Property`` tables, byte for byte as MLMD.

MLMD keeps a struct as ``string_value`` = ``"mlmd-struct::" + base64(Struct bytes)`` and
a proto as ``proto_value`` = base64 of the serialized ``Any``; both are kept the same way
here so either library reads what the other wrote.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from google.protobuf import any_pb2, struct_pb2
from google.protobuf.message import DecodeError

from lineage.errors import InvalidArgument
from lineage.model import PropertyType, ProtoValue, StructValue, Value

STRUCT_PREFIX = "mlmd-struct::"

VALUE_COLUMNS = ("int_value", "double_value", "string_value", "proto_value", "bool_value")


def encode_struct(data: dict[str, Any]) -> str:
    message = struct_pb2.Struct()
    try:
        message.update(data)
    except RecursionError:
        raise InvalidArgument(
            "struct value is nested too deeply to be stored (at most about 33 levels)"
        ) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidArgument(f"struct value is not JSON-like: {exc}") from None
    raw = message.SerializeToString()
    try:  # refuse what could be written but never read back
        struct_pb2.Struct().ParseFromString(raw)
    except DecodeError:
        raise InvalidArgument(
            "struct value is nested too deeply to be stored (protobuf reads back at most "
            "100 nested messages: about 33 levels of objects)"
        ) from None
    return STRUCT_PREFIX + base64.b64encode(raw).decode("ascii")


def decode_struct(text: str) -> StructValue:
    message = struct_pb2.Struct()
    message.ParseFromString(base64.b64decode(text[len(STRUCT_PREFIX) :]))
    return StructValue(struct_to_dict(message))


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python data, as ``json_format.MessageToDict`` gives it, except
    that NaN and infinite numbers stay floats (MessageToDict refuses them, MLMD keeps
    them: a struct is stored as its serialized bytes)."""
    return {key: _plain(value) for key, value in message.fields.items()}


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def encode_proto(value: ProtoValue) -> bytes:
    message = any_pb2.Any(type_url=value.type_url, value=value.value)
    return base64.b64encode(message.SerializeToString())


def decode_proto(raw: bytes | str) -> ProtoValue:
    if isinstance(raw, str):
        raw = raw.encode("ascii")
    message = any_pb2.Any()
    message.ParseFromString(base64.b64decode(raw))
    return ProtoValue(message.type_url, message.value)


def store_double(data: float) -> float:
    """A double as it is kept: finite, to 15 significant digits.

    MLMD reads doubles from SQLite as text with 15 significant digits, so a value with
    more would read back differently through MLMD's own library than through ours;
    rounding on write keeps the two identical (MLMD itself writes only 6 digits).
    Infinities and NaN have no portable column value (MySQL refuses them), so the
    largest doubles round down, not up to infinity.
    """
    value = float(data)
    if not math.isfinite(value):
        raise InvalidArgument(f"double_value must be a finite number, got {value!r}")
    rounded = float(f"{value:.15g}")
    if not math.isfinite(rounded):  # within 5e293 of the largest double: rounds up to inf
        rounded = math.copysign(float("1.79769313486231e308"), value)
    # -0.0 as 0.0: SQLite (and so MLMD) and MySQL keep no negative zero, PostgreSQL would.
    return rounded + 0.0


def value_to_row(value: Value) -> dict[str, Any]:
    """The column values of one property row (all value columns, unused ones None)."""
    row: dict[str, Any] = dict.fromkeys(VALUE_COLUMNS)
    kind = value.kind
    if kind == PropertyType.INT:
        row["int_value"] = int(value.data)
    elif kind == PropertyType.DOUBLE:
        row["double_value"] = store_double(value.data)
    elif kind == PropertyType.STRING:
        row["string_value"] = value.data
    elif kind == PropertyType.STRUCT:
        row["string_value"] = encode_struct(value.data.data)
    elif kind == PropertyType.PROTO:
        row["proto_value"] = encode_proto(value.data)
    elif kind == PropertyType.BOOLEAN:
        row["bool_value"] = bool(value.data)
    else:
        raise InvalidArgument("a property value must set one of its value fields")
    return row


def value_from_columns(
    int_value: Any, double_value: Any, string_value: Any, proto_value: Any, bool_value: Any
) -> Value | None:
    """The value of a property row's value columns (in VALUE_COLUMNS order)."""
    if int_value is not None:
        return Value(PropertyType.INT, int(int_value))
    if double_value is not None:
        return Value(PropertyType.DOUBLE, float(double_value))
    if string_value is not None:
        if string_value.startswith(STRUCT_PREFIX):
            return Value(PropertyType.STRUCT, decode_struct(string_value))
        return Value(PropertyType.STRING, string_value)
    if proto_value is not None:
        return Value(PropertyType.PROTO, decode_proto(proto_value))
    if bool_value is not None:
        return Value(PropertyType.BOOLEAN, bool(bool_value))
    return None
