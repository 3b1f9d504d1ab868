"""Inside a KFP step's process: wrap ``Executor.execute`` and report the component.

Loaded by the ``.pth`` line of :mod:`lineage.client.kfp` when ``_KFP_RUNTIME=true`` and
``LINEAGE_KFP=1``. :func:`install` waits for ``kfp.dsl.executor`` to be imported (it
does not import kfp itself), then wraps ``Executor.execute``. The wrapper reports the
step RUNNING before the component's function runs and COMPLETE (or FAILED, with the
exception's message) after, with KFP's own view of it: input artifacts (linked by URI to
the upstream step's outputs), output artifacts with their final metadata (metrics,
confusion matrices, ROC curves), input and output parameters. Bytes of outputs on local
disk (``kfp.local``) are uploaded; remote URIs (``gs://``, ``s3://``) are recorded as they
are. Recording never breaks the step: problems are printed and the step goes on.

Names: ``kfp.local`` lays a run out as ``<root>/<pipeline>-<timestamp>/<task>/``, so the
pipeline, run and task names come from the executor output path; ``LINEAGE_PIPELINE``,
``LINEAGE_RUN`` and ``LINEAGE_TASK`` override them (set them on cluster tasks).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

TARGET_MODULE = "kfp.dsl.executor"
_LOCAL_RUN = re.compile(r"^(?P<pipeline>.+)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{6}$")
_installed = False


def _say(message: str) -> None:
    print(f"lineage: {message}", file=sys.stderr, flush=True)


def install() -> None:
    """Wrap ``Executor.execute`` now if kfp's executor is loaded, else when it loads."""
    global _installed
    if _installed:
        return
    _installed = True
    module = sys.modules.get(TARGET_MODULE)
    if module is not None:
        _patch(module)
    else:
        sys.meta_path.insert(0, _Finder())


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: lets the real finder find ``kfp.dsl.executor`` and patches
    the module right after it ran."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET_MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                loader = spec.loader
                original = loader.exec_module  # type: ignore[union-attr]

                def exec_module(module: ModuleType, _original: Any = original) -> None:
                    _original(module)
                    _patch(module)

                loader.exec_module = exec_module  # type: ignore[method-assign]
                return spec
        return None


def _patch(module: ModuleType) -> None:
    executor_cls = getattr(module, "Executor", None)
    if executor_cls is None or getattr(executor_cls.execute, "_lineage_wrapped", False):
        return
    original = executor_cls.execute

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = None
        try:
            recorder = KfpStep(self)
            recorder.start()
        except Exception as exc:  # noqa: BLE001 - recording must never break the step
            _say(f"not recording this step: {type(exc).__name__}: {exc}")
            recorder = None
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            if recorder is not None:
                recorder.finish(exc)
            raise
        if recorder is not None:
            recorder.finish(None)
        return result

    execute._lineage_wrapped = True  # type: ignore[attr-defined]
    executor_cls.execute = execute


def _names(executor_input: dict[str, Any]) -> tuple[str, str, str]:
    output_file = executor_input.get("outputs", {}).get("outputFile", "") or ""
    task_dir = os.path.dirname(output_file)
    run_dir = os.path.dirname(task_dir)
    task = os.path.basename(task_dir)
    run = os.path.basename(run_dir)
    match = _LOCAL_RUN.match(run)
    if match:
        pipeline = match.group("pipeline")
    else:  # not kfp.local's layout: a cluster; names should come from the environment
        pipeline = "kfp"
        run = os.environ.get("KFP_RUN_ID") or socket.gethostname()
        task = os.environ.get("KFP_POD_NAME") or task or "step"
    return (
        os.environ.get("LINEAGE_PIPELINE") or pipeline,
        os.environ.get("LINEAGE_RUN") or run,
        os.environ.get("LINEAGE_TASK") or task,
    )


def _is_local(uri: str) -> bool:
    return bool(uri) and ("://" not in uri or uri.startswith("file://"))


class KfpStep:
    """One component execution, reported RUNNING then COMPLETE or FAILED."""

    def __init__(self, executor: Any) -> None:
        from lineage.client.client import Client

        self.executor = executor
        self.executor_input: dict[str, Any] = executor.executor_input
        self.pipeline, self.run, self.task = _names(self.executor_input)
        self.client = Client(replay=True)
        self.key = uuid.uuid4().hex
        self.started = int(time.time() * 1000)
        self.scratch = Path(tempfile.mkdtemp(prefix="lineage-kfp-"))
        self.inputs: list[Any] = []
        self.input_uploads: list[Any] = []
        self.parameters = self._parameters()
        self.what = f"KFP step {self.task!r} of run {self.run!r}"

    def _parameters(self) -> dict[str, Any]:
        from lineage.client.caching import plain_value

        values = self.executor_input.get("inputs", {}).get("parameterValues", {}) or {}
        out: dict[str, Any] = {}
        for name, value in values.items():
            try:
                out[name] = plain_value(value, f"parameter {name!r}")
            except (TypeError, ValueError):
                out[name] = repr(value)
        return out

    def _collect_inputs(self) -> None:
        from lineage import errors
        from lineage.artifacts import metadata_to_custom_properties
        from lineage.client import files
        from lineage.client.spool import PendingUpload
        from lineage.steps import ArtifactRecord, StepArtifact

        artifacts = self.executor_input.get("inputs", {}).get("artifacts", {}) or {}
        for name, entry in artifacts.items():
            for index, runtime in enumerate(entry.get("artifacts") or ()):
                uri = runtime.get("uri") or ""
                if not uri:
                    continue
                try:
                    props = metadata_to_custom_properties(runtime.get("metadata") or {})
                except (TypeError, ValueError):
                    props = {}
                record = ArtifactRecord(
                    schema_title=(runtime.get("type") or {}).get("schemaTitle")
                    or "system.Artifact",
                    uri=uri,
                    custom_properties=props,
                )
                self.inputs.append(StepArtifact(name, record, index))
        # Inputs nobody recorded yet (an importer's) are recorded with their bytes.
        refs = [ArtifactRecord(uri=item.artifact.uri) for item in self.inputs]
        try:
            known = self.client.transport.resolve(refs) if refs else []
        except errors.LineageError:
            return
        for position, (item, found) in enumerate(zip(self.inputs, known, strict=True)):
            local = item.artifact.uri.removeprefix("file://")
            if found is None and _is_local(item.artifact.uri) and os.path.exists(local):
                packed, sha, size, archive = files.prepare_upload(Path(local), self.scratch)
                if archive:
                    item.artifact.custom_properties[files.ARCHIVE_PROPERTY] = archive
                self.input_uploads.append(
                    PendingUpload("inputs", position, str(packed), sha, size, set_uri=False)
                )

    def _report(self, state: int, **fields: Any) -> Any:
        from lineage.model import ExecutionState
        from lineage.steps import StepReport

        custom = fields.pop("custom_properties", {})
        for env, prop in (("KFP_POD_NAME", "pod_name"), ("KFP_POD_UID", "pod_uid")):
            if os.environ.get(env):
                custom[prop] = os.environ[env]
        return StepReport(
            idempotency_key=f"kfp-{self.key}-{ExecutionState(state).name.lower()}",
            pipeline=self.pipeline,
            run=self.run,
            step=self.task,
            state=state,
            start_time_ms=self.started,
            parameters=self.parameters,
            inputs=list(self.inputs),
            custom_properties=custom,
            **fields,
        )

    def start(self) -> None:
        from lineage.model import ExecutionState

        self._collect_inputs()
        self.client.outbox.submit(
            self._report(int(ExecutionState.RUNNING)), list(self.input_uploads), self.what
        )

    def _outputs(self) -> tuple[list[Any], list[Any]]:
        from lineage.artifacts import metadata_to_custom_properties, uri_to_local_path
        from lineage.client import files
        from lineage.client.spool import PendingUpload
        from lineage.steps import ArtifactRecord, StepArtifact

        outputs: list[Any] = []
        uploads: list[Any] = []
        for name, artifact in (getattr(self.executor, "output_artifacts", {}) or {}).items():
            metadata = dict(getattr(artifact, "metadata", None) or {})
            try:
                props = metadata_to_custom_properties(metadata, display_name=name)
            except (TypeError, ValueError) as exc:
                _say(f"output {name!r}: its metadata cannot be stored ({exc}); recorded without")
                props = {"display_name": name}
            uri = getattr(artifact, "uri", "") or ""
            record = ArtifactRecord(
                schema_title=getattr(artifact, "schema_title", None) or "system.Artifact",
                uri=uri,
                external_id=f"kfp:{self.key}:{name}",
                custom_properties=props,
            )
            local = uri_to_local_path(uri) if _is_local(uri) else ""
            if local and os.path.exists(local):
                packed, sha, size, archive = files.prepare_upload(Path(local), self.scratch)
                if archive:
                    record.custom_properties[files.ARCHIVE_PROPERTY] = archive
                uploads.append(
                    PendingUpload("outputs", len(outputs), str(packed), sha, size, False)
                )
            outputs.append(StepArtifact(name, record, 0))
        return outputs, uploads

    def _output_parameters(self) -> dict[str, Any]:
        path = self.executor_input.get("outputs", {}).get("outputFile")
        if not path or not os.path.exists(path):
            return {}
        try:
            with open(path) as handle:
                written = json.load(handle)
        except (OSError, ValueError):
            return {}
        values = written.get("parameterValues") or {}
        return dict(values) if isinstance(values, dict) else {}

    def finish(self, exc: BaseException | None) -> None:
        from lineage.model import ExecutionState

        try:
            end = int(time.time() * 1000)
            input_uploads = list(self.input_uploads)
            if exc is not None:
                message = f"{type(exc).__name__}: {exc}"[:4000]
                report = self._report(
                    int(ExecutionState.FAILED),
                    end_time_ms=end,
                    error_message=message,
                    running_idempotency_key=f"kfp-{self.key}-running",
                )
                delivery = self.client.outbox.submit(report, input_uploads, self.what)
            else:
                outputs, uploads = self._outputs()
                custom: dict[str, Any] = {}
                produced = self._output_parameters()
                if produced:
                    custom["outputs"] = produced
                report = self._report(
                    int(ExecutionState.COMPLETE),
                    end_time_ms=end,
                    outputs=outputs,
                    custom_properties=custom,
                    running_idempotency_key=f"kfp-{self.key}-running",
                )
                delivery = self.client.outbox.submit(report, input_uploads + uploads, self.what)
            if delivery.result is not None:
                _say(
                    f"recorded {self.what} as execution {delivery.result.execution_id} "
                    f"in {self.client.target.url}"
                )
            elif delivery.spooled:
                _say(f"spooled {self.what} to {self.client.spool.root} (store unreachable)")
            self.client.outbox.final_attempt()
        except Exception as error:  # noqa: BLE001 - recording must never break the step
            _say(f"could not record {self.what}: {type(error).__name__}: {error}")
            traceback.print_exc(file=sys.stderr)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
