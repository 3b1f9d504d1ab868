from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Value(_message.Message):
    __slots__ = ("int_value", "double_value", "string_value", "struct_value", "bool_value")
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRUCT_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    int_value: int
    double_value: float
    string_value: str
    struct_value: _struct_pb2.Struct
    bool_value: bool
    def __init__(self, int_value: _Optional[int] = ..., double_value: _Optional[float] = ..., string_value: _Optional[str] = ..., struct_value: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., bool_value: bool = ...) -> None: ...

class BlobRef(_message.Message):
    __slots__ = ("sha256", "size", "uri")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    uri: str
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., uri: _Optional[str] = ...) -> None: ...

class ArtifactRecord(_message.Message):
    __slots__ = ("id", "schema_title", "uri", "name", "external_id", "state", "custom_properties", "blob")
    class CustomPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_TITLE_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    id: int
    schema_title: str
    uri: str
    name: str
    external_id: str
    state: int
    custom_properties: _containers.MessageMap[str, Value]
    blob: BlobRef
    def __init__(self, id: _Optional[int] = ..., schema_title: _Optional[str] = ..., uri: _Optional[str] = ..., name: _Optional[str] = ..., external_id: _Optional[str] = ..., state: _Optional[int] = ..., custom_properties: _Optional[_Mapping[str, Value]] = ..., blob: _Optional[_Union[BlobRef, _Mapping]] = ...) -> None: ...

class StepArtifact(_message.Message):
    __slots__ = ("key", "index", "artifact")
    KEY_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    key: str
    index: int
    artifact: ArtifactRecord
    def __init__(self, key: _Optional[str] = ..., index: _Optional[int] = ..., artifact: _Optional[_Union[ArtifactRecord, _Mapping]] = ...) -> None: ...

class ReportStepRequest(_message.Message):
    __slots__ = ("idempotency_key", "pipeline", "run", "step", "execution_type", "state", "start_time_ms", "end_time_ms", "parameters", "custom_properties", "inputs", "outputs", "cache_key", "error_message", "execution_id", "running_idempotency_key")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    class CustomPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    pipeline: str
    run: str
    step: str
    execution_type: str
    state: int
    start_time_ms: int
    end_time_ms: int
    parameters: _containers.MessageMap[str, Value]
    custom_properties: _containers.MessageMap[str, Value]
    inputs: _containers.RepeatedCompositeFieldContainer[StepArtifact]
    outputs: _containers.RepeatedCompositeFieldContainer[StepArtifact]
    cache_key: str
    error_message: str
    execution_id: int
    running_idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ..., pipeline: _Optional[str] = ..., run: _Optional[str] = ..., step: _Optional[str] = ..., execution_type: _Optional[str] = ..., state: _Optional[int] = ..., start_time_ms: _Optional[int] = ..., end_time_ms: _Optional[int] = ..., parameters: _Optional[_Mapping[str, Value]] = ..., custom_properties: _Optional[_Mapping[str, Value]] = ..., inputs: _Optional[_Iterable[_Union[StepArtifact, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[StepArtifact, _Mapping]]] = ..., cache_key: _Optional[str] = ..., error_message: _Optional[str] = ..., execution_id: _Optional[int] = ..., running_idempotency_key: _Optional[str] = ...) -> None: ...

class ReportStepResponse(_message.Message):
    __slots__ = ("execution_id", "input_artifact_ids", "output_artifact_ids", "pipeline_context_id", "run_context_id", "replayed")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_ARTIFACT_IDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ARTIFACT_IDS_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_CONTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_CONTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    input_artifact_ids: _containers.RepeatedScalarFieldContainer[int]
    output_artifact_ids: _containers.RepeatedScalarFieldContainer[int]
    pipeline_context_id: int
    run_context_id: int
    replayed: bool
    def __init__(self, execution_id: _Optional[int] = ..., input_artifact_ids: _Optional[_Iterable[int]] = ..., output_artifact_ids: _Optional[_Iterable[int]] = ..., pipeline_context_id: _Optional[int] = ..., run_context_id: _Optional[int] = ..., replayed: bool = ...) -> None: ...

class FindCachedStepRequest(_message.Message):
    __slots__ = ("cache_key",)
    CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    cache_key: str
    def __init__(self, cache_key: _Optional[str] = ...) -> None: ...

class FindCachedStepResponse(_message.Message):
    __slots__ = ("found", "execution_id", "outputs", "custom_properties", "lost_outputs")
    class CustomPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    FOUND_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    LOST_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    execution_id: int
    outputs: _containers.RepeatedCompositeFieldContainer[StepArtifact]
    custom_properties: _containers.MessageMap[str, Value]
    lost_outputs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, found: bool = ..., execution_id: _Optional[int] = ..., outputs: _Optional[_Iterable[_Union[StepArtifact, _Mapping]]] = ..., custom_properties: _Optional[_Mapping[str, Value]] = ..., lost_outputs: _Optional[_Iterable[str]] = ...) -> None: ...

class ResolveArtifactsRequest(_message.Message):
    __slots__ = ("refs",)
    REFS_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedCompositeFieldContainer[ArtifactRecord]
    def __init__(self, refs: _Optional[_Iterable[_Union[ArtifactRecord, _Mapping]]] = ...) -> None: ...

class ResolveArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[ArtifactRecord]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[ArtifactRecord, _Mapping]]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("size", "expected_sha256", "artifact_id")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHA256_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    size: int
    expected_sha256: str
    artifact_id: int
    def __init__(self, size: _Optional[int] = ..., expected_sha256: _Optional[str] = ..., artifact_id: _Optional[int] = ...) -> None: ...

class UploadBlobRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadBlobResponse(_message.Message):
    __slots__ = ("blob", "created")
    BLOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    blob: BlobRef
    created: bool
    def __init__(self, blob: _Optional[_Union[BlobRef, _Mapping]] = ..., created: bool = ...) -> None: ...

class DownloadBlobRequest(_message.Message):
    __slots__ = ("sha256", "artifact_id", "offset", "length")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    artifact_id: int
    offset: int
    length: int
    def __init__(self, sha256: _Optional[str] = ..., artifact_id: _Optional[int] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class DownloadBlobResponse(_message.Message):
    __slots__ = ("blob", "chunk")
    BLOB_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    blob: BlobRef
    chunk: bytes
    def __init__(self, blob: _Optional[_Union[BlobRef, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...
