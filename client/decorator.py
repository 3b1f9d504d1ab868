"""``@lineage.step``: a plain function with ``Input[...]``/``Output[...]`` annotations as a
recorded (and cached) pipeline step; ``lineage.step("name", ...)`` as a context manager.

Calling a decorated function runs it as one step of the current run and returns a
:class:`StepHandle` (KFP's task: ``.outputs["model"]``, ``.output`` for the return value).
Outputs are not passed by the caller: the SDK creates them, with a local ``.path``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from lineage.artifacts import Artifact

from . import caching
from .annotations import read_signature
from .runs import StepContext, current_run


@dataclass
class StepHandle:
    """What calling a step function gives back (KFP's ``PipelineTask`` at run time)."""

    name: str
    outputs: dict[str, Artifact] = field(default_factory=dict)
    output: Any = None  # the function's return value
    state: str = ""
    cached: bool = False
    execution_id: int | None = None
    cache_key: str = ""

    def __repr__(self) -> str:
        return (
            f"<lineage step {self.name!r} {self.state} outputs={list(self.outputs)} "
            f"execution_id={self.execution_id}>"
        )


class StepFunction:
    """A function recorded as a step each time it is called."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool = True,
        version: str | None = None,
    ) -> None:
        if not callable(func):
            raise TypeError(f"@lineage.step decorates a function, got {func!r}")
        self.func = func
        self.name = name or func.__name__
        self.cache = cache
        self.signature, self.artifacts = read_signature(func)
        self.fingerprint = caching.code_fingerprint(func, version)
        functools.update_wrapper(self, func)

    def __repr__(self) -> str:
        return f"<lineage step function {self.name!r}>"

    def __call__(self, *args: Any, **kwargs: Any) -> StepHandle:
        where = f"{self.name}()"
        outputs = {n: a for n, a in self.artifacts.items() if a.direction == "output"}
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{where}: {exc}") from None
        given_outputs = sorted(set(bound.arguments) & set(outputs))
        if given_outputs:
            raise TypeError(
                f"{where}: {', '.join(given_outputs)} are outputs: the step creates them; "
                "do not pass them (read them from the returned handle's .outputs)"
            )
        missing = [
            n
            for n, p in self.signature.parameters.items()
            if n not in outputs
            and n not in bound.arguments
            and p.default is inspect.Parameter.empty
        ]
        if missing:
            raise TypeError(f"{where}: missing argument(s) {', '.join(missing)}")
        bound.apply_defaults()
        inputs: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for arg, value in bound.arguments.items():
            spec = self.artifacts.get(arg)
            if spec is None:
                params[arg] = value
            elif spec.direction == "input":
                inputs[arg] = value
        step = StepContext(
            current_run(),
            self.name,
            inputs=inputs,
            params=params,
            cache=self.cache,
            fingerprint=self.fingerprint,
            specs={n: a for n, a in self.artifacts.items() if a.direction == "input"},
        )
        with step:
            if not step.cached:
                call: dict[str, Any] = {}
                for arg in self.signature.parameters:
                    spec = self.artifacts.get(arg)
                    if spec is None:
                        if arg in bound.arguments:
                            call[arg] = bound.arguments[arg]
                    elif spec.direction == "output":
                        call[arg] = step.output(arg, spec.cls)
                    else:
                        call[arg] = step.inputs.get(arg)
                step.return_value = self.func(**call)
        return StepHandle(
            name=step.name,
            outputs=dict(step.outputs),
            output=step.return_value,
            state=step.state,
            cached=step.cached,
            execution_id=step.execution_id,
            cache_key=step.cache_key,
        )


class StepSpec:
    """``lineage.step("name", ...)``: a decorator with options, or a context manager."""

    def __init__(
        self,
        name: str | None,
        *,
        cache: bool | None,
        version: str | None,
        inputs: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
    ) -> None:
        self.name = name
        self.cache = cache
        self.version = version
        self.inputs = inputs
        self.params = params
        self._step: StepContext | None = None

    def __call__(self, func: Callable[..., Any]) -> StepFunction:
        if self.inputs is not None or self.params is not None:
            raise TypeError(
                "@lineage.step(...) as a decorator takes no inputs= or params=: "
                "pass them when calling the function"
            )
        return StepFunction(
            func,
            name=self.name,
            cache=True if self.cache is None else self.cache,
            version=self.version,
        )

    def __enter__(self) -> StepContext:
        if not self.name:
            raise TypeError('lineage.step(...) as a context manager needs a name: step("train")')
        self._step = current_run().step(
            self.name,
            inputs=self.inputs,
            params=self.params,
            cache=bool(self.cache),
            version=self.version,
        )
        return self._step.__enter__()

    def __exit__(self, *exc: Any) -> None:
        assert self._step is not None
        self._step.__exit__(*exc)


@overload
def step(func: Callable[..., Any], /) -> StepFunction: ...


@overload
def step(
    step_name: str | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool | None = None,
    version: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> StepSpec: ...


def step(
    func_or_name: Any = None,
    /,
    *,
    name: str | None = None,
    cache: bool | None = None,
    version: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Record a step.

    * ``@lineage.step`` / ``@lineage.step("name", cache=False, version="2")`` on a function
      with ``Input[...]``/``Output[...]`` annotations (caching on unless ``cache=False``);
    * ``with lineage.step("name", inputs={...}, params={...}) as s:`` around a block
      (caching only with ``cache=True``; see ``Run.step``).
    """
    if callable(func_or_name) and not isinstance(func_or_name, str):
        return StepFunction(
            func_or_name, name=name, cache=True if cache is None else cache, version=version
        )
    if func_or_name is not None and not isinstance(func_or_name, str):
        raise TypeError(f"lineage.step(...) takes a function or a step name, got {func_or_name!r}")
    if func_or_name is not None and name is not None:
        raise TypeError("lineage.step(...): give the name once, positionally or as name=")
    return StepSpec(
        func_or_name or name, cache=cache, version=version, inputs=inputs, params=params
    )
