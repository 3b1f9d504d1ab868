"""``lineage.v1`` messages to and from the core's step dataclasses (``lineage.steps``).

Used by the SDK's gRPC transport and by the server's native service, so both ends agree.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage.model import ProtoValue
from lineage.steps import (
    ArtifactRecord,
    CachedStep,
    StepArtifact,
    StepBlob,
    StepReport,
    StepResult,
)


def value_to_pb(value: Any) -> pb.Value:
    if isinstance(value, bool):
        return pb.Value(bool_value=value)
    if isinstance(value, int):
        return pb.Value(int_value=value)
    if isinstance(value, float):
        return pb.Value(double_value=value)
    if isinstance(value, str):
        return pb.Value(string_value=value)
    if isinstance(value, Mapping):
        struct = struct_pb2.Struct()
        struct.update(dict(value))
        return pb.Value(struct_value=struct)
    if isinstance(value, ProtoValue):
        # An MLMD proto_value (a google.protobuf.Any), which this API's Value has no case
        # for: as GraphQL shows it, its type URL and its bytes in base64.
        struct = struct_pb2.Struct()
        struct.update(
            {"typeUrl": value.type_url, "value": base64.b64encode(value.value).decode("ascii")}
        )
        return pb.Value(struct_value=struct)
    raise TypeError(f"cannot send a {type(value).__name__} as a property value")


def value_from_pb(value: pb.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind is None:
        return None
    return getattr(value, kind)


def _props_to_pb(target: Any, props: Mapping[str, Any]) -> None:
    for name, value in props.items():
        target[name].CopyFrom(value_to_pb(value))


def _props_from_pb(props: Any) -> dict[str, Any]:
    return {name: value_from_pb(value) for name, value in props.items()}


def artifact_to_pb(record: ArtifactRecord) -> pb.ArtifactRecord:
    message = pb.ArtifactRecord(
        id=record.id,
        schema_title=record.schema_title,
        uri=record.uri,
        name=record.name,
        external_id=record.external_id,
        state=record.state,
    )
    _props_to_pb(message.custom_properties, record.custom_properties)
    if record.blob is not None:
        message.blob.CopyFrom(
            pb.BlobRef(sha256=record.blob.sha256, size=record.blob.size, uri=record.blob.uri)
        )
    return message


def artifact_from_pb(message: pb.ArtifactRecord) -> ArtifactRecord:
    blob = None
    if message.HasField("blob") and message.blob.sha256:
        blob = StepBlob(message.blob.sha256, int(message.blob.size), message.blob.uri)
    return ArtifactRecord(
        id=int(message.id),
        schema_title=message.schema_title,
        uri=message.uri,
        name=message.name,
        external_id=message.external_id,
        state=int(message.state),
        custom_properties=_props_from_pb(message.custom_properties),
        blob=blob,
    )


def step_artifact_to_pb(item: StepArtifact) -> pb.StepArtifact:
    return pb.StepArtifact(key=item.key, index=item.index, artifact=artifact_to_pb(item.artifact))


def step_artifact_from_pb(message: pb.StepArtifact) -> StepArtifact:
    return StepArtifact(
        key=message.key, index=int(message.index), artifact=artifact_from_pb(message.artifact)
    )


def report_to_pb(report: StepReport) -> pb.ReportStepRequest:
    message = pb.ReportStepRequest(
        idempotency_key=report.idempotency_key,
        pipeline=report.pipeline,
        run=report.run,
        step=report.step,
        execution_type=report.execution_type,
        state=report.state,
        start_time_ms=report.start_time_ms,
        end_time_ms=report.end_time_ms,
        inputs=[step_artifact_to_pb(a) for a in report.inputs],
        outputs=[step_artifact_to_pb(a) for a in report.outputs],
        cache_key=report.cache_key,
        error_message=report.error_message,
        execution_id=report.execution_id,
        running_idempotency_key=report.running_idempotency_key,
    )
    _props_to_pb(message.parameters, _wrap_parameters(report.parameters))
    _props_to_pb(message.custom_properties, report.custom_properties)
    return message


def _wrap_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters travel as Values; a list (or None) goes in a struct ``{"list": [...]}``
    (``{"null": true}``) and comes back unwrapped on the other side."""
    wrapped: dict[str, Any] = {}
    for name, value in parameters.items():
        if value is None:
            wrapped[name] = {"__lineage_null__": True}
        elif isinstance(value, list | tuple):
            wrapped[name] = {"__lineage_list__": list(value)}
        else:
            wrapped[name] = value
    return wrapped


def _unwrap_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    unwrapped: dict[str, Any] = {}
    for name, value in parameters.items():
        if isinstance(value, dict) and set(value) == {"__lineage_null__"}:
            unwrapped[name] = None
        elif isinstance(value, dict) and set(value) == {"__lineage_list__"}:
            unwrapped[name] = value["__lineage_list__"]
        else:
            unwrapped[name] = value
    return unwrapped


def report_from_pb(message: pb.ReportStepRequest) -> StepReport:
    return StepReport(
        idempotency_key=message.idempotency_key,
        pipeline=message.pipeline,
        run=message.run,
        step=message.step,
        state=int(message.state),
        execution_type=message.execution_type or "system.ContainerExecution",
        start_time_ms=int(message.start_time_ms),
        end_time_ms=int(message.end_time_ms),
        parameters=_unwrap_parameters(_props_from_pb(message.parameters)),
        custom_properties=_props_from_pb(message.custom_properties),
        inputs=[step_artifact_from_pb(a) for a in message.inputs],
        outputs=[step_artifact_from_pb(a) for a in message.outputs],
        cache_key=message.cache_key,
        error_message=message.error_message,
        execution_id=int(message.execution_id),
        running_idempotency_key=message.running_idempotency_key,
    )


def result_to_pb(result: StepResult) -> pb.ReportStepResponse:
    return pb.ReportStepResponse(
        execution_id=result.execution_id,
        input_artifact_ids=result.input_artifact_ids,
        output_artifact_ids=result.output_artifact_ids,
        pipeline_context_id=result.pipeline_context_id,
        run_context_id=result.run_context_id,
        replayed=result.replayed,
    )


def result_from_pb(message: pb.ReportStepResponse) -> StepResult:
    return StepResult(
        execution_id=int(message.execution_id),
        input_artifact_ids=[int(i) for i in message.input_artifact_ids],
        output_artifact_ids=[int(i) for i in message.output_artifact_ids],
        pipeline_context_id=int(message.pipeline_context_id),
        run_context_id=int(message.run_context_id),
        replayed=bool(message.replayed),
    )


def cached_to_pb(cached: CachedStep | None) -> pb.FindCachedStepResponse:
    if cached is None:
        return pb.FindCachedStepResponse(found=False)
    message = pb.FindCachedStepResponse(
        found=True,
        execution_id=cached.execution_id,
        outputs=[step_artifact_to_pb(a) for a in cached.outputs],
        lost_outputs=cached.lost_outputs,
    )
    _props_to_pb(message.custom_properties, cached.custom_properties)
    return message


def cached_from_pb(message: pb.FindCachedStepResponse) -> CachedStep | None:
    if not message.found:
        return None
    return CachedStep(
        execution_id=int(message.execution_id),
        outputs=[step_artifact_from_pb(a) for a in message.outputs],
        custom_properties=_props_from_pb(message.custom_properties),
        lost_outputs=list(message.lost_outputs),
    )
