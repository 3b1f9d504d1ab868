"""Runs and steps: the executor behind ``start_run``, ``run.step(...)`` and ``@lineage.step``.

A step's life: its inputs are resolved (artifact id, URI, or an upstream step's output)
and downloaded; with caching on, a COMPLETE execution with the same cache key is looked
up and, if found, the step is recorded CACHED with that execution's outputs and its body
does not run. Otherwise a RUNNING report goes out, the body runs with local ``.path``\\ s
for its outputs, and at the end the outputs are checked (an output never written fails
the step), uploaded, and the final report (COMPLETE, or FAILED with the exception's
message) goes out. Reports that cannot be delivered are spooled (``outbox``).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import errors
from lineage.artifacts import (
    Artifact,
    ClassificationMetrics,
    Metrics,
    SlicedClassificationMetrics,
    artifact_class_for,
    custom_properties_to_metadata,
    metadata_to_custom_properties,
    uri_to_local_path,
)
from lineage.model import ExecutionState
from lineage.steps import (
    CACHED_EXECUTION_ID,
    OUTPUT_JSON,
    OUTPUTS,
    ArtifactRecord,
    CachedStep,
    StepArtifact,
    StepBlob,
    StepReport,
)

from . import caching, config, files
from .annotations import ArtifactParam
from .artifact_io import ArtifactRef, local_of, make_artifact, ref_of
from .errors import CacheWarning, MissingInputError, OutputNotWrittenError
from .spool import PendingUpload

if TYPE_CHECKING:
    from .client import Client

METADATA_ONLY = (Metrics, ClassificationMetrics, SlicedClassificationMetrics)
MAX_NAME = 255
MAX_ERROR = 4000

_active_run: ContextVar[Run | None] = ContextVar("lineage_active_run", default=None)
_implicit_run: Run | None = None


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME:
        raise ValueError(f"{what} must be at most {MAX_NAME} characters")
    return value


def _default_pipeline() -> str:
    given = os.environ.get(config.ENV_PIPELINE, "").strip()
    if given:
        return given
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c") else ""
    return script if script and script not in ("ipykernel_launcher", "__main__") else "default"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60] or "step"


# --------------------------------------------------------------------------- runs


class Run:
    """One run of a pipeline: a ``system.PipelineRun`` context under its
    ``system.Pipeline`` context. Use as a context manager; steps inside join it."""

    def __init__(
        self,
        client: Client,
        pipeline: str | None = None,
        name: str | None = None,
        *,
        cache: bool = True,
    ) -> None:
        self.client = client
        self.pipeline = _check_name(pipeline or _default_pipeline(), "pipeline")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.name = _check_name(name or f"{self.pipeline}-{stamp}-{uuid.uuid4().hex[:6]}", "name")
        self.cache = bool(cache)
        self.pipeline_context_id: int | None = None
        self.run_context_id: int | None = None
        self.steps: list[StepContext] = []
        self._work: Path | None = None
        self._seq = itertools.count(1)
        self._token: Token[Run | None] | None = None

    def __repr__(self) -> str:
        return f"<lineage.Run pipeline={self.pipeline!r} name={self.name!r}>"

    @property
    def work_dir(self) -> Path:
        """Where this run's steps write their outputs before upload (removed at the end)."""
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix=f"lineage-{_safe(self.name)}-"))
        return self._work

    def __enter__(self) -> Run:
        self._token = _active_run.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _active_run.reset(self._token)
            self._token = None
        self.close()

    def close(self) -> None:
        """Remove the work directory, unless reports still need its files."""
        if self._work is None:
            return
        if self.client.outbox.held:
            warnings.warn(
                f"lineage: keeping {self._work}: it holds outputs of reports not yet delivered",
                stacklevel=2,
            )
            return
        if not all([step._detach_outputs() for step in self.steps]):
            # Some outputs' bytes are nowhere else (the store takes no blobs): their
            # recorded URIs point here, so the files stay.
            return
        shutil.rmtree(self._work, ignore_errors=True)
        self._work = None

    def step(
        self,
        name: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        cache: bool = False,
        version: str | None = None,
    ) -> StepContext:
        """A step as a context manager::

            with run.step("train", inputs={"data": ds}, params={"C": 1.0}) as step:
                model = step.output("model", lineage.Model)
                ...

        ``cache=True`` looks the step up by name, ``version``, parameters and inputs: on a
        hit ``step.cached`` is true and ``step.outputs`` hold the cached outputs; the body
        still runs (a ``with`` block cannot be skipped), so guard it with
        ``if not step.cached:``.
        """
        return StepContext(
            self,
            name,
            inputs=inputs or {},
            params=params or {},
            cache=cache,
            fingerprint=caching.code_fingerprint(lambda: None, version) if version else "",
        )


def active_run() -> Run | None:
    return _active_run.get()


def current_run() -> Run:
    """The run steps join: the innermost ``with start_run(...)``, else one run per
    process, created on first use (pipeline ``LINEAGE_PIPELINE`` or the script's name)."""
    run = _active_run.get()
    if run is not None:
        return run
    global _implicit_run
    if _implicit_run is None:
        from .client import default_client

        _implicit_run = Run(default_client())
        atexit.register(_implicit_run.close)
    return _implicit_run


# --------------------------------------------------------------------------- inputs


@dataclass
class _Input:
    key: str
    index: int
    record: ArtifactRecord
    artifact: Artifact
    identity: dict[str, Any]
    upload: PendingUpload | None = None


def _metadata_identity(metadata: Mapping[str, Any]) -> str:
    """Metadata as the store keeps it (numbers as doubles, no display name), so an
    in-process output and the same artifact read back from the store count the same."""
    try:
        props = metadata_to_custom_properties(dict(metadata))
    except (TypeError, ValueError):
        return repr(sorted(metadata.items()))
    return _props_identity(props)


def _ref_of(record: ArtifactRecord) -> ArtifactRef:
    """Where a recorded artifact's bytes are, as the artifact objects carry it."""
    archive = record.custom_properties.get(files.ARCHIVE_PROPERTY)
    return ArtifactRef(
        id=record.id,
        external_id=record.external_id,
        sha256=record.blob.sha256 if record.blob else "",
        size=record.blob.size if record.blob else 0,
        archive=archive if isinstance(archive, str) else None,
    )


def _props_identity(props: Mapping[str, Any]) -> str:
    kept = {k: v for k, v in props.items() if k != "display_name" and not k.startswith("lineage_")}
    try:
        return caching.canonical(caching.plain_value(kept, "metadata"))
    except (TypeError, ValueError):
        return repr(sorted(kept.items()))


def _record_metadata(record: ArtifactRecord) -> dict[str, Any]:
    props = {k: v for k, v in record.custom_properties.items() if not k.startswith("lineage_")}
    return custom_properties_to_metadata(props)


# --------------------------------------------------------------------------- steps


class StepContext:
    """One step of a run; a context manager (``run.step(...)``, ``lineage.step(...)``).

    Attributes: ``inputs`` (name -> artifact, downloaded), ``outputs`` (name -> artifact),
    ``params``, ``cached``, ``state`` ("RUNNING", "COMPLETE", "CACHED", "FAILED"),
    ``execution_id`` (None until the store recorded it; spooled reports have none yet),
    ``return_value`` (a function step's). ``output(name, cls)`` creates an output.
    """

    def __init__(
        self,
        run: Run,
        name: str,
        *,
        inputs: Mapping[str, Any],
        params: Mapping[str, Any],
        cache: bool,
        fingerprint: str,
        specs: Mapping[str, ArtifactParam] | None = None,
    ) -> None:
        self.run = run
        self.name = _check_name(name, "step name")
        self.params: dict[str, Any] = {
            k: caching.plain_value(v, f"parameter {k!r} of step {name!r}")
            for k, v in params.items()
        }
        self._given_inputs = dict(inputs)
        self._specs = dict(specs or {})
        self._cache = cache and run.cache and config.cache_enabled()
        self._fingerprint = fingerprint
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Artifact] = {}
        self.return_value: Any = None
        self.cached = False
        self.state = "NEW"
        self.execution_id: int | None = None
        self.error: str | None = None
        self.cache_key = ""
        self._inputs: list[_Input] = []
        self._work_paths: dict[str, str] = {}
        self._stored: set[str] = set()  # outputs whose bytes the store or the spool has
        self._cached_step: CachedStep | None = None
        self._key = uuid.uuid4().hex
        self._dir: Path | None = None
        self._started_ms = 0
        self._return_recordable = True
        self._what = f"step {self.name!r} of run {run.name!r}"

    def __repr__(self) -> str:
        return f"<lineage step {self.name!r} {self.state}>"

    # -- public ------------------------------------------------------------------------

    def output(self, name: str, cls: type[Artifact] = Artifact) -> Artifact:
        """The output ``name`` (created on first call): write its bytes at ``.path``."""
        _check_name(name, "output name")
        if name in self.outputs:
            return self.outputs[name]
        if name in self._given_inputs:
            raise ValueError(f"{self._what}: {name!r} is already an input name")
        if not (isinstance(cls, type) and issubclass(cls, Artifact)):
            raise TypeError(
                f"output {name!r}: the class must be lineage.Artifact or a subclass "
                f"(Dataset, Model, Metrics, ...), got {cls!r}"
            )
        if self.state not in ("RUNNING", "CACHED"):
            raise RuntimeError(f"{self._what}: outputs are created inside the step")
        if self._dir is None:
            self._dir = self.run.work_dir / f"{next(self.run._seq):03d}-{_safe(self.name)}"
            self._dir.mkdir(parents=True, exist_ok=True)
        path = str(self._dir / _safe(name))
        self._work_paths[name] = path
        artifact = make_artifact(
            cls,
            name=name,
            uri=path,
            local=path,
            ref=ArtifactRef(external_id=f"lineage-step:{self._key}:{name}"),
        )
        self.outputs[name] = artifact
        return artifact

    def set_param(self, name: str, value: Any) -> None:
        """Record one more parameter (reported with the step's final state)."""
        self.params[name] = caching.plain_value(value, f"parameter {name!r}")

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> StepContext:
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.finish(exc)

    # -- the life of a step --------------------------------------------------------------

    @property
    def _client(self) -> Client:
        return self.run.client

    def _report(self, state: int, **fields: Any) -> StepReport:
        return StepReport(
            idempotency_key=f"{self._key}-{ExecutionState(state).name.lower()}",
            pipeline=self.run.pipeline,
            run=self.run.name,
            step=self.name,
            state=state,
            start_time_ms=self._started_ms,
            parameters=dict(self.params),
            inputs=[StepArtifact(i.key, i.record, i.index) for i in self._inputs],
            **fields,
        )

    def _deliver(self, report: StepReport, uploads: list[PendingUpload]) -> Any:
        delivery = self._client.outbox.submit(report, uploads, self._what)
        if delivery.result is not None:
            self.execution_id = delivery.result.execution_id
            self.run.pipeline_context_id = delivery.result.pipeline_context_id
            self.run.run_context_id = delivery.result.run_context_id
        return delivery

    def start(self) -> None:
        self._started_ms = _now_ms()
        self._resolve_inputs()
        if self._cache or self._fingerprint:
            # Recorded even when not looked up, so a later run with caching on can hit it.
            self.cache_key = caching.cache_key(
                self.name,
                self._fingerprint,
                self.params,
                {f"{i.key}[{i.index}]": i.identity for i in self._inputs},
            )
        if self._cache and not self._client.outbox.offline:
            try:
                self._cached_step = self._client.transport.find_cached(self.cache_key)
            except errors.Unavailable as exc:
                warnings.warn(
                    f"lineage: {self._what} runs without the cache: {exc.message}",
                    CacheWarning,
                    stacklevel=3,
                )
        self.run.steps.append(self)
        if self._cached_step is not None and not self._cache_usable(self._cached_step):
            self._cached_step = None
        if self._cached_step is not None:
            self.state = "CACHED"
            self.cached = True
            self._load_cached(self._cached_step)
            return
        self.state = "RUNNING"
        running = self._report(int(ExecutionState.RUNNING))
        # The first report records the inputs, so it carries the bytes of new ones.
        self._deliver(running, self._input_uploads())

    def finish(self, exc: BaseException | None = None) -> None:
        end = _now_ms()
        if exc is not None:
            self._fail(f"{type(exc).__name__}: {exc}", end)
            return
        if self._cached_step is not None:
            self._finish_cached(self._cached_step, end)
            return
        try:
            outputs, uploads = self._collect_outputs()
        except OutputNotWrittenError as error:
            self._fail(error.message, end)
            raise
        except (TypeError, ValueError) as error:
            self._fail(f"{type(error).__name__}: {error}", end)
            raise
        custom: dict[str, Any] = {}
        if self.return_value is not None:
            try:
                produced = caching.plain_value(self.return_value, "return value")
                custom[OUTPUTS] = {"Output": produced}
                custom[OUTPUT_JSON] = caching.canonical(produced)
            except (TypeError, ValueError):
                custom[OUTPUTS] = {"Output": repr(self.return_value)[:MAX_ERROR]}
                self._return_recordable = False
        final = self._report(
            int(ExecutionState.COMPLETE),
            end_time_ms=end,
            outputs=outputs,
            custom_properties=custom,
            cache_key=self.cache_key if self._return_recordable else "",
            running_idempotency_key=f"{self._key}-running",
        )
        delivery = self._deliver(final, uploads)
        self.state = "COMPLETE"
        if delivery.spooled:
            self._stored.update(self.outputs)  # the spool keeps copies of the bytes
        else:
            self._stored.update(o.key for o in outputs if o.artifact.blob is not None)
        if delivery.result is not None:
            for item, artifact_id in zip(outputs, delivery.result.output_artifact_ids, strict=True):
                artifact = self.outputs[item.key]
                ref = ref_of(artifact)
                if ref is not None:
                    ref.id = artifact_id
                if item.artifact.blob is not None and artifact.uri == self._work_paths.get(
                    item.key
                ):
                    artifact.uri = item.artifact.uri  # where the store keeps the bytes

    def _detach_outputs(self) -> bool:
        """The run's work directory is going away: outputs whose bytes the store (or the
        spool) has are read from there on first use of ``.path``. False if some output's
        bytes are only in the work directory."""
        transport = self._client.transport
        spool_blobs = self._client.spool.blobs_dir
        detached = True
        for name, artifact in self.outputs.items():
            work = self._work_paths.get(name)
            ref = ref_of(artifact)
            if work is None or ref is None or local_of(artifact) != work:
                continue
            if not ref.sha256:
                continue
            if name not in self._stored:
                detached = False
                continue

            def fetch(ref: ArtifactRef = ref, artifact_id: int = 0) -> str:
                def copy(handle: Any) -> None:
                    spooled = spool_blobs / ref.sha256
                    if spooled.exists():
                        with open(spooled, "rb") as source:
                            shutil.copyfileobj(source, handle)
                        return
                    blob = StepBlob(ref.sha256, ref.size, "")
                    transport.download(blob, ref.id, handle)

                return str(files.cached_blob(ref.sha256, ref.size or None, ref.archive, copy))

            artifact.__dict__["_lineage_local"] = None
            artifact.__dict__["_lineage_fetch"] = fetch
        return detached

    def _fail(self, message: str, end: int) -> None:
        self.state = "FAILED"
        self.error = message[:MAX_ERROR]
        report = self._report(
            int(ExecutionState.FAILED),
            end_time_ms=end,
            error_message=self.error,
            running_idempotency_key=f"{self._key}-running" if not self.cached else "",
        )
        self._deliver(report, [])

    # -- inputs ------------------------------------------------------------------------

    def _resolve_inputs(self) -> None:
        for key, value in self._given_inputs.items():
            _check_name(key, "input name")
            spec = self._specs.get(key)
            if value is None:
                if spec is not None and not spec.optional:
                    raise MissingInputError(f"{self._what}: input {key!r} is None")
                continue
            values = value if isinstance(value, list | tuple) else [value]
            if spec is not None and not spec.is_list and isinstance(value, list | tuple):
                raise TypeError(
                    f"{self._what}: input {key!r} takes one artifact, got a "
                    f"{type(value).__name__}; annotate it Input[list[...]] to take several"
                )
            resolved = [
                self._resolve_one(key, i, v, spec.cls if spec else Artifact)
                for i, v in enumerate(values)
            ]
            self._inputs.extend(resolved)
            artifacts = [r.artifact for r in resolved]
            self.inputs[key] = (
                artifacts
                if (spec is not None and spec.is_list) or isinstance(value, list | tuple)
                else artifacts[0]
            )

    def _resolve_one(self, key: str, index: int, value: Any, cls: type[Artifact]) -> _Input:
        where = f"{self._what}: input {key!r}"
        from .decorator import StepHandle

        if isinstance(value, StepContext | StepHandle):
            outs = value.outputs
            if len(outs) != 1:
                raise TypeError(
                    f"{where}: step {value.name!r} has {len(outs)} outputs "
                    f"({', '.join(outs) or 'none'}); pass one of them, e.g. "
                    f"step.outputs[{next(iter(outs), 'name')!r}]"
                )
            value = next(iter(outs.values()))
        if isinstance(value, bool):
            raise TypeError(f"{where}: got a bool; pass an artifact, an artifact id or a URI")
        if isinstance(value, int):
            return self._by_reference(key, index, ArtifactRecord(id=value), cls, f"id {value}")
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, str):
            return self._by_uri(key, index, value, cls, None, {})
        title = getattr(value, "schema_title", None)
        if isinstance(title, str) and hasattr(value, "uri"):
            ref = ref_of(value)
            metadata = dict(getattr(value, "metadata", None) or {})
            self._check_type(where, cls, title)
            if ref is not None and (ref.id or ref.external_id):
                record = ArtifactRecord(id=ref.id, external_id="" if ref.id else ref.external_id)
                local = local_of(value)
                artifact = value if isinstance(value, Artifact) else None
                if artifact is None or (local is None and ref.sha256):
                    return self._by_reference(key, index, record, cls, f"{title} {value.name!r}")
                identity: dict[str, Any] = (
                    {"sha256": ref.sha256} if ref.sha256 else {"id": ref.id or ref.external_id}
                )
                identity["metadata"] = _metadata_identity(metadata)
                return _Input(key, index, record, artifact, identity)
            return self._by_uri(key, index, value.uri, artifact_class_for(title), value, metadata)
        raise TypeError(
            f"{where}: got a {type(value).__name__}; pass an artifact (an upstream step's "
            "output, lineage.Dataset(uri=...)), an artifact id (int) or a URI (str)"
        )

    @staticmethod
    def _check_type(where: str, cls: type[Artifact], title: str) -> None:
        if cls is not Artifact and title != cls.schema_title:
            raise TypeError(f"{where} takes a {cls.schema_title}, got a {title} artifact")

    def _lookup(self, ref: ArtifactRecord, what: str, where: str) -> ArtifactRecord | None:
        try:
            [found] = self._client.transport.resolve([ref])
        except errors.Unavailable as exc:
            raise MissingInputError(
                f"{where}: cannot look up {what}: {exc.message}. Inputs must be resolved "
                "before a step runs; retry when the store is reachable."
            ) from None
        return found

    def _by_reference(
        self, key: str, index: int, ref: ArtifactRecord, cls: type[Artifact], what: str
    ) -> _Input:
        where = f"{self._what}: input {key!r}"
        found = self._lookup(ref, f"artifact {what}", where)
        if found is None:
            raise MissingInputError(
                f"{where}: there is no artifact {what} in {self._client.target.describe()}; "
                "check the id, or pass the upstream step's output itself"
            )
        self._check_type(where, cls, found.schema_title)
        return self._from_record(key, index, found)

    def _from_record(self, key: str, index: int, record: ArtifactRecord) -> _Input:
        cls = artifact_class_for(record.schema_title)
        metadata = _record_metadata(record)
        identity: dict[str, Any] = (
            {"sha256": record.blob.sha256} if record.blob else {"id": record.id}
        )
        identity["metadata"] = _props_identity(record.custom_properties)
        ref = _ref_of(record)
        artifact = make_artifact(cls, name=key, uri=record.uri, metadata=metadata, ref=ref)
        local = self._fetch(key, record, cls, ref)
        artifact.__dict__["_lineage_local"] = local
        return _Input(key, index, ArtifactRecord(id=record.id), artifact, identity)

    def _fetch(
        self, key: str, record: ArtifactRecord, cls: type[Artifact], ref: ArtifactRef
    ) -> str | None:
        """Download the input's bytes (once, into the cache); the local path."""
        where = f"{self._what}: input {key!r}"
        transport = self._client.transport
        if record.blob is not None:
            blob = record.blob
            try:
                return str(
                    files.cached_blob(
                        blob.sha256,
                        blob.size or None,
                        ref.archive,
                        lambda handle: transport.download(blob, record.id, handle),
                    )
                )
            except errors.LineageError as exc:
                # The store is out of reach, but the bytes may be right here (an embedded
                # blob directory, a shared disk); never after a checksum mismatch.
                local = uri_to_local_path(record.uri) if record.uri else ""
                if (
                    isinstance(exc, errors.Unavailable)
                    and ref.archive is None
                    and local
                    and os.path.isfile(local)
                ):
                    return local
                raise MissingInputError(
                    f"{where}: cannot download the bytes of artifact {record.id} "
                    f"(sha256 {blob.sha256}): {exc.message}"
                ) from None
        if not record.uri:
            return None
        local = uri_to_local_path(record.uri)
        if os.path.exists(local):
            return local
        if issubclass(cls, METADATA_ONLY):
            return None
        try:
            return str(_download_uri(record.uri))
        except Exception as exc:
            raise MissingInputError(
                f"{where}: artifact {record.id} has no stored bytes and its URI "
                f"{record.uri} cannot be read here ({exc})"
            ) from None

    def _by_uri(
        self,
        key: str,
        index: int,
        uri: str,
        cls: type[Artifact],
        given: Any,
        metadata: dict[str, Any],
    ) -> _Input:
        where = f"{self._what}: input {key!r}"
        if not uri:
            raise MissingInputError(f"{where}: the artifact has no URI and is not recorded")
        lookup_uri = uri
        local = uri_to_local_path(uri)
        is_local = "://" not in uri or uri.startswith("file://")
        if is_local:
            local = os.path.abspath(local)
            lookup_uri = uri if uri.startswith("file://") else local
        try:
            [found] = self._client.transport.resolve([ArtifactRecord(uri=lookup_uri)])
        except errors.Unavailable:
            found = None
        # A local file or directory counts by its bytes now: recorded ones that differ
        # (edited since) make a new artifact, as other bytes under the same URI.
        prepared = (
            files.prepare_upload(Path(local), self.run.work_dir)
            if is_local and os.path.exists(local)
            else None
        )
        if found is not None and (
            prepared is None or (found.blob is not None and found.blob.sha256 == prepared[1])
        ):
            self._check_type(where, cls, found.schema_title)
            return self._from_record(key, index, found)
        # Not recorded: recorded now, with its bytes, like KFP's importer.
        record = ArtifactRecord(
            schema_title=cls.schema_title,
            uri=lookup_uri,
            custom_properties=metadata_to_custom_properties(metadata) if metadata else {},
        )
        upload = None
        identity: dict[str, Any]
        if is_local:
            path = Path(local)
            if prepared is None:
                raise MissingInputError(
                    f"{where}: {local} does not exist and no artifact has the URI {lookup_uri!r}"
                )
            packed, sha, size, archive = prepared
            if archive:
                record.custom_properties[files.ARCHIVE_PROPERTY] = archive
            upload = PendingUpload("inputs", -1, str(packed), sha, size, set_uri=False)
            identity = {"sha256": sha}
            local_path: str | None = str(path)
        else:
            identity = {"uri": uri}
            try:
                local_path = str(_download_uri(uri))
            except Exception as exc:
                if issubclass(cls, METADATA_ONLY):
                    local_path = None
                else:
                    raise MissingInputError(
                        f"{where}: {uri} is not recorded and cannot be read here ({exc})"
                    ) from None
        identity["metadata"] = _metadata_identity(metadata)
        artifact = make_artifact(cls, name=key, uri=uri, metadata=dict(metadata), local=local_path)
        return _Input(key, index, record, artifact, identity, upload)

    # -- outputs -----------------------------------------------------------------------

    def _input_uploads(self) -> list[PendingUpload]:
        """The bytes of inputs recorded by this step (a local file or directory), each
        at its position in the report's inputs."""
        uploads: list[PendingUpload] = []
        for i, item in enumerate(self._inputs):
            if item.upload is not None:
                item.upload.position = i
                uploads.append(item.upload)
        return uploads

    def _collect_outputs(self) -> tuple[list[StepArtifact], list[PendingUpload]]:
        outputs: list[StepArtifact] = []
        uploads = self._input_uploads()
        missing: list[str] = []
        for name, artifact in self.outputs.items():
            work = self._work_paths.get(name)
            ref = ref_of(artifact) or ArtifactRef()
            props = metadata_to_custom_properties(artifact.metadata, display_name=name)
            record = ArtifactRecord(
                schema_title=artifact.schema_title,
                uri=artifact.uri,
                external_id=ref.external_id,
                custom_properties=props,
            )
            written: Path | None = None
            set_uri = True
            if work is not None and artifact.uri == work:
                candidate = Path(work)
                if candidate.exists():
                    written = candidate
                elif isinstance(artifact, METADATA_ONLY):
                    record.uri = ""
                else:
                    missing.append(name)
                    continue
            elif artifact.uri:
                local = uri_to_local_path(artifact.uri)
                if ("://" not in artifact.uri or artifact.uri.startswith("file://")) and (
                    os.path.exists(local)
                ):
                    written, set_uri = Path(local), False
            if written is not None:
                packed, sha, size, archive = files.prepare_upload(
                    written, self.run.work_dir / ".packed"
                )
                if archive:
                    record.custom_properties[files.ARCHIVE_PROPERTY] = archive
                    ref.archive = archive
                ref.sha256, ref.size = sha, size
                uploads.append(
                    PendingUpload("outputs", len(outputs), str(packed), sha, size, set_uri)
                )
            outputs.append(StepArtifact(name, record, 0))
        if missing:
            hints = "; ".join(
                f"{n}: write a file or directory at {n}.path ({self._work_paths[n]}) or set "
                f"{n}.uri to where the data is"
                for n in missing
            )
            raise OutputNotWrittenError(
                f"{self._what} finished without writing output(s) {', '.join(missing)} "
                f"({hints}). Metadata-only outputs are lineage.Metrics, ClassificationMetrics "
                "and SlicedClassificationMetrics. The step is recorded as FAILED."
            )
        return outputs, uploads

    # -- cache -------------------------------------------------------------------------

    def _cache_usable(self, cached: CachedStep) -> bool:
        """A cached execution is only used if every output's bytes can be had: stored in
        the blob store, or at a URI readable here, or none needed (metrics)."""
        if cached.lost_outputs:
            warnings.warn(
                f"lineage: {self._what} is not served from cache: the stored bytes of output(s) "
                f"{', '.join(cached.lost_outputs)} of execution {cached.execution_id} are gone "
                "from the blob store; the step runs",
                CacheWarning,
                stacklevel=4,
            )
            return False
        for item in cached.outputs:
            record = item.artifact
            cls = artifact_class_for(record.schema_title)
            if record.blob is not None or issubclass(cls, METADATA_ONLY) or not record.uri:
                continue
            local = uri_to_local_path(record.uri)
            if (
                os.path.exists(local)
                or "://" in record.uri
                and not record.uri.startswith("file://")
            ):
                continue
            warnings.warn(
                f"lineage: {self._what} is not served from cache: output {item.key!r} of "
                f"execution {cached.execution_id} has no stored bytes and {record.uri} is "
                "gone; the step runs",
                CacheWarning,
                stacklevel=4,
            )
            return False
        return True

    def _load_cached(self, cached: CachedStep) -> None:
        transport = self._client.transport
        for item in cached.outputs:
            record = item.artifact
            cls = artifact_class_for(record.schema_title)
            ref = _ref_of(record)

            def fetch(record: ArtifactRecord = record, ref: ArtifactRef = ref) -> str:
                blob = record.blob
                if blob is None:
                    return uri_to_local_path(record.uri)
                return str(
                    files.cached_blob(
                        blob.sha256,
                        blob.size or None,
                        ref.archive,
                        lambda handle: transport.download(blob, record.id, handle),
                    )
                )

            self.outputs[item.key] = make_artifact(
                cls,
                name=item.key,
                uri=record.uri,
                metadata=_record_metadata(record),
                fetch=fetch,
                ref=ref,
            )
        self.return_value = _cached_return_value(cached.custom_properties)

    def _finish_cached(self, cached: CachedStep, end: int) -> None:
        custom: dict[str, Any] = {CACHED_EXECUTION_ID: str(cached.execution_id)}
        produced = cached.custom_properties.get(OUTPUTS)
        if isinstance(produced, dict):
            custom[OUTPUTS] = produced
        exact = cached.custom_properties.get(OUTPUT_JSON)
        if isinstance(exact, str):
            custom[OUTPUT_JSON] = exact
        report = self._report(
            int(ExecutionState.CACHED),
            end_time_ms=end,
            outputs=[
                StepArtifact(item.key, ArtifactRecord(id=item.artifact.id), item.index)
                for item in cached.outputs
            ],
            custom_properties=custom,
            cache_key=self.cache_key,
        )
        self._deliver(report, self._input_uploads())


def _cached_return_value(props: Mapping[str, Any]) -> Any:
    """A cached execution's return value as the step returned it (ints stay ints)."""
    exact = props.get(OUTPUT_JSON)
    if isinstance(exact, str):
        try:
            return json.loads(exact)
        except ValueError:
            pass
    produced = props.get(OUTPUTS)
    if isinstance(produced, dict):
        return produced.get("Output")
    return None


def _download_uri(uri: str) -> Path:
    """The bytes at a URI no blob records, copied once into the download cache."""
    import hashlib

    target = config.download_dir() / "uris" / hashlib.sha256(uri.encode()).hexdigest()
    if target.exists():
        return target
    with files.atomic_file(target) as handle:
        files.read_uri(uri, handle)
    return target
