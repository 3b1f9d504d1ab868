"""Cache keys: what a step's result depends on, hashed.

``cache_key = sha256(step name, code fingerprint, parameters, inputs)``, where an input
counts by its content (the sha256 of its bytes, plus its metadata) when known, else by
its recorded id or URI. The code fingerprint is the sha256 of the function's source
(plus an optional ``version=`` string; bump it when something the source does not show
changed, e.g. a helper module). The key is stored on the execution as KFP's
``cache_fingerprint`` custom property.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import math
import numbers
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

KEY_VERSION = 1


def code_fingerprint(func: Callable[..., Any], version: str | None = None) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(func))
        payload = text.encode()
    except (OSError, TypeError):  # no source (defined in a REPL, compiled): the bytecode
        code = getattr(func, "__code__", None)
        payload = marshal.dumps(code) if code is not None else repr(func).encode()
    digest = hashlib.sha256()
    digest.update((version or "").encode() + b"\0")
    digest.update(payload)
    return digest.hexdigest()


def plain_value(value: Any, where: str) -> Any:
    """``value`` as JSON-like data (numpy scalars and tuples converted), or TypeError."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{where} must be a finite number, got {number!r}")
        return number
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: dict keys must be str, got {key!r}")
            out[key] = plain_value(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [plain_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and type(value).__module__.startswith("numpy"):
        return plain_value(tolist(), where)
    raise TypeError(
        f"{where} is a {type(value).__name__}: parameters must be str, int, float, bool, "
        "None, or lists/dicts of those. Pass data as an Input[...] artifact instead."
    )


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_key(
    step: str,
    fingerprint: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, Any],
) -> str:
    payload = {
        "v": KEY_VERSION,
        "step": step,
        "code": fingerprint,
        "parameters": parameters,
        "inputs": inputs,
    }
    return hashlib.sha256(canonical(payload).encode()).hexdigest()
