"""``Input[...]`` and ``Output[...]``, KFP v2's annotations, and reading them off a function.

``Input[Dataset]`` is ``Annotated[Dataset, INPUT]`` exactly as in ``kfp.dsl``, so type
checkers see a ``Dataset``. KFP's own annotations (``kfp.dsl.Input[kfp.dsl.Model]``) are
understood too: their artifact classes map to ours by schema title.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from lineage.artifacts import ARTIFACT_CLASSES, Artifact

from .errors import AnnotationError

T = TypeVar("T")


class _Direction:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"lineage.{self.kind.title()}"


INPUT = _Direction("input")
OUTPUT = _Direction("output")

Input = Annotated[T, INPUT]
Output = Annotated[T, OUTPUT]

_PLAIN = (str, int, float, bool, list, dict, type(None))
_KFP_MARKERS = {"InputAnnotation": "input", "OutputAnnotation": "output"}


@dataclass(frozen=True)
class ArtifactParam:
    """A parameter of a step function that is an input or output artifact."""

    name: str
    direction: str  # "input" or "output"
    cls: type[Artifact]
    is_list: bool = False
    optional: bool = False


def artifact_class(candidate: Any) -> type[Artifact] | None:
    """Our artifact class for ``candidate`` (ours, or a KFP class by its schema title)."""
    if isinstance(candidate, type):
        if issubclass(candidate, Artifact):
            return candidate
        title = getattr(candidate, "schema_title", None)
        if isinstance(title, str) and title.startswith(("system.", "google.")):
            return ARTIFACT_CLASSES.get(title, Artifact)
    return None


def _direction(metadata: tuple[Any, ...]) -> str | None:
    for marker in metadata:
        if isinstance(marker, _Direction):
            return marker.kind
        name = marker.__name__ if isinstance(marker, type) else type(marker).__name__
        if name in _KFP_MARKERS:
            return _KFP_MARKERS[name]
    return None


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def read_signature(func: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, ArtifactParam]]:
    """The function's signature and its artifact parameters; AnnotationError (a
    TypeError) with a clear message for annotations a step cannot use."""
    where = f"{getattr(func, '__qualname__', func)}()"
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # some forward reference does not resolve: one by one
        hints = {}
        namespace = dict(getattr(func, "__globals__", {}))
        try:
            namespace.update(inspect.getclosurevars(func).nonlocals)
        except (TypeError, ValueError):
            pass
        for name, p in signature.parameters.items():
            annotation = p.annotation
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, namespace)  # noqa: S307 - the author's own code
                except Exception as exc:
                    if "Input[" in annotation or "Output[" in annotation:
                        raise AnnotationError(
                            f"{where}: cannot resolve the annotation {annotation!r} of "
                            f"parameter {name!r} ({exc}); import the names it uses at module "
                            "level"
                        ) from None
                    continue
            if annotation is not inspect.Parameter.empty:
                hints[name] = annotation
    artifacts: dict[str, ArtifactParam] = {}
    for name, parameter in signature.parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise AnnotationError(
                f"{where}: *{name} / **{name} cannot be recorded; name every input and parameter"
            )
        annotation = hints.get(name, inspect.Parameter.empty)
        if annotation is inspect.Parameter.empty:
            continue
        annotation, optional = _strip_optional(annotation)
        direction = None
        inner = annotation
        if typing.get_origin(annotation) is Annotated:
            inner, *metadata = typing.get_args(annotation)
            direction = _direction(tuple(metadata))
            inner, inner_optional = _strip_optional(inner)
            optional = optional or inner_optional
        is_list = False
        if typing.get_origin(inner) in (list, typing.List):  # noqa: UP006 - both spellings
            (element,) = typing.get_args(inner) or (Any,)
            if artifact_class(element) is not None:
                is_list = True
                inner = element
        cls = artifact_class(inner)
        if direction is None:
            if cls is not None:
                # A bare artifact class is an input, as in KFP.
                artifacts[name] = ArtifactParam(name, "input", cls, is_list, optional)
            continue
        marker = "Input" if direction == "input" else "Output"
        if cls is None:
            raise AnnotationError(
                f"{where}: parameter {name!r} is annotated {marker}[{_describe(inner)}], but "
                f"{marker}[...] takes an artifact class: lineage.Dataset, lineage.Model, "
                "lineage.Metrics, lineage.ClassificationMetrics, lineage.Artifact, ... "
                "Annotate plain values (str, int, float, bool, list, dict) without "
                f"{marker}[...]: they are recorded as parameters."
            )
        if direction == "output" and is_list:
            raise AnnotationError(
                f"{where}: parameter {name!r} is Output[list[...]]: an output is one artifact;"
                " declare one Output[...] parameter per artifact"
            )
        if direction == "output" and parameter.default is not inspect.Parameter.empty:
            if parameter.default is not None:
                raise AnnotationError(
                    f"{where}: output {name!r} has a default value; outputs are created by the"
                    " step, remove the default"
                )
        artifacts[name] = ArtifactParam(name, direction, cls, is_list, optional)
    return signature, artifacts


def is_plain_parameter(annotation: Any) -> bool:
    return annotation in _PLAIN
