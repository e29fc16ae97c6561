from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class H2HeadersFlags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[H2HeadersFlags]
    END_STREAM: _ClassVar[H2HeadersFlags]
    END_HEADERS: _ClassVar[H2HeadersFlags]
    END_METADATA: _ClassVar[H2HeadersFlags]

class H2ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NO_ERROR: _ClassVar[H2ErrorCode]
    PROTOCOL_ERROR: _ClassVar[H2ErrorCode]
    INTERNAL_ERROR: _ClassVar[H2ErrorCode]
    FLOW_CONTROL_ERROR: _ClassVar[H2ErrorCode]
    SETTINGS_TIMEOUT: _ClassVar[H2ErrorCode]
    STREAM_CLOSED: _ClassVar[H2ErrorCode]
    FRAME_SIZE_ERROR: _ClassVar[H2ErrorCode]
    REFUSED_STREAM: _ClassVar[H2ErrorCode]
    CANCEL: _ClassVar[H2ErrorCode]
    COMPRESSION_ERROR: _ClassVar[H2ErrorCode]
    CONNECT_ERROR: _ClassVar[H2ErrorCode]
    ENHANCE_YOUR_CLAIM: _ClassVar[H2ErrorCode]
    INADEQUATE_SECURITY: _ClassVar[H2ErrorCode]
    HTTP_1_1_REQUIRED: _ClassVar[H2ErrorCode]
NONE: H2HeadersFlags
END_STREAM: H2HeadersFlags
END_HEADERS: H2HeadersFlags
END_METADATA: H2HeadersFlags
NO_ERROR: H2ErrorCode
PROTOCOL_ERROR: H2ErrorCode
INTERNAL_ERROR: H2ErrorCode
FLOW_CONTROL_ERROR: H2ErrorCode
SETTINGS_TIMEOUT: H2ErrorCode
STREAM_CLOSED: H2ErrorCode
FRAME_SIZE_ERROR: H2ErrorCode
REFUSED_STREAM: H2ErrorCode
CANCEL: H2ErrorCode
COMPRESSION_ERROR: H2ErrorCode
CONNECT_ERROR: H2ErrorCode
ENHANCE_YOUR_CLAIM: H2ErrorCode
INADEQUATE_SECURITY: H2ErrorCode
HTTP_1_1_REQUIRED: H2ErrorCode

class H2FramePing(_message.Message):
    __slots__ = ("flags", "data")
    class Flags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NONE: _ClassVar[H2FramePing.Flags]
        ACK: _ClassVar[H2FramePing.Flags]
    NONE: H2FramePing.Flags
    ACK: H2FramePing.Flags
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    flags: H2FramePing.Flags
    data: bytes
    def __init__(self, flags: _Optional[_Union[H2FramePing.Flags, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class H2FrameSettings(_message.Message):
    __slots__ = ("flags",)
    class Flags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NONE: _ClassVar[H2FrameSettings.Flags]
        ACK: _ClassVar[H2FrameSettings.Flags]
    NONE: H2FrameSettings.Flags
    ACK: H2FrameSettings.Flags
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    flags: H2FrameSettings.Flags
    def __init__(self, flags: _Optional[_Union[H2FrameSettings.Flags, str]] = ...) -> None: ...

class H2FrameHeaders(_message.Message):
    __slots__ = ("flags", "stream_index")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.RepeatedScalarFieldContainer[H2HeadersFlags]
    stream_index: int
    def __init__(self, flags: _Optional[_Iterable[_Union[H2HeadersFlags, str]]] = ..., stream_index: _Optional[int] = ...) -> None: ...

class H2FrameContinuation(_message.Message):
    __slots__ = ("flags", "stream_index")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.RepeatedScalarFieldContainer[H2HeadersFlags]
    stream_index: int
    def __init__(self, flags: _Optional[_Iterable[_Union[H2HeadersFlags, str]]] = ..., stream_index: _Optional[int] = ...) -> None: ...

class H2FrameData(_message.Message):
    __slots__ = ("flags", "stream_index")
    class Flags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NONE: _ClassVar[H2FrameData.Flags]
        END_STREAM: _ClassVar[H2FrameData.Flags]
    NONE: H2FrameData.Flags
    END_STREAM: H2FrameData.Flags
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    flags: H2FrameData.Flags
    stream_index: int
    def __init__(self, flags: _Optional[_Union[H2FrameData.Flags, str]] = ..., stream_index: _Optional[int] = ...) -> None: ...

class H2FramePriority(_message.Message):
    __slots__ = ("stream_index", "dependent_index")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    dependent_index: int
    def __init__(self, stream_index: _Optional[int] = ..., dependent_index: _Optional[int] = ...) -> None: ...

class H2FramePushPromise(_message.Message):
    __slots__ = ("flags", "stream_index", "promised_stream_index")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    PROMISED_STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.RepeatedScalarFieldContainer[H2HeadersFlags]
    stream_index: int
    promised_stream_index: int
    def __init__(self, flags: _Optional[_Iterable[_Union[H2HeadersFlags, str]]] = ..., stream_index: _Optional[int] = ..., promised_stream_index: _Optional[int] = ...) -> None: ...

class H2FrameResetStream(_message.Message):
    __slots__ = ("stream_index", "error_code")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    error_code: H2ErrorCode
    def __init__(self, stream_index: _Optional[int] = ..., error_code: _Optional[_Union[H2ErrorCode, str]] = ...) -> None: ...

class H2FrameGoAway(_message.Message):
    __slots__ = ("last_stream_index", "error_code")
    LAST_STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    last_stream_index: int
    error_code: H2ErrorCode
    def __init__(self, last_stream_index: _Optional[int] = ..., error_code: _Optional[_Union[H2ErrorCode, str]] = ...) -> None: ...

class H2FrameWindowUpdate(_message.Message):
    __slots__ = ("stream_index", "increment")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    INCREMENT_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    increment: int
    def __init__(self, stream_index: _Optional[int] = ..., increment: _Optional[int] = ...) -> None: ...

class H2FrameMalformedRequest(_message.Message):
    __slots__ = ("stream_index",)
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    def __init__(self, stream_index: _Optional[int] = ...) -> None: ...

class H2FrameMalformedRequestWithZerolenHeader(_message.Message):
    __slots__ = ("stream_index", "host", "path")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    host: str
    path: str
    def __init__(self, stream_index: _Optional[int] = ..., host: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class H2FrameRequest(_message.Message):
    __slots__ = ("stream_index", "host", "path")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    host: str
    path: str
    def __init__(self, stream_index: _Optional[int] = ..., host: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class H2FramePostRequest(_message.Message):
    __slots__ = ("stream_index", "host", "path")
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    stream_index: int
    host: str
    path: str
    def __init__(self, stream_index: _Optional[int] = ..., host: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class H2FrameGeneric(_message.Message):
    __slots__ = ("frame_bytes",)
    FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    frame_bytes: bytes
    def __init__(self, frame_bytes: _Optional[bytes] = ...) -> None: ...

class Metadata(_message.Message):
    __slots__ = ("metadata",)
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class H2FrameMetadata(_message.Message):
    __slots__ = ("flags", "stream_index", "metadata")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    flags: H2HeadersFlags
    stream_index: int
    metadata: Metadata
    def __init__(self, flags: _Optional[_Union[H2HeadersFlags, str]] = ..., stream_index: _Optional[int] = ..., metadata: _Optional[_Union[Metadata, _Mapping]] = ...) -> None: ...

class H2FrameStatus(_message.Message):
    __slots__ = ("status", "stream_index")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STREAM_INDEX_FIELD_NUMBER: _ClassVar[int]
    status: bytes
    stream_index: int
    def __init__(self, status: _Optional[bytes] = ..., stream_index: _Optional[int] = ...) -> None: ...

class H2TestFrame(_message.Message):
    __slots__ = ("ping", "settings", "headers", "continuation", "data", "priority", "push_promise", "reset_stream", "go_away", "window_update", "malformed_request", "malformed_request_with_zerolen_header", "request", "post_request", "generic", "status", "metadata")
    PING_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PUSH_PROMISE_FIELD_NUMBER: _ClassVar[int]
    RESET_STREAM_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_UPDATE_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_REQUEST_WITH_ZEROLEN_HEADER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    POST_REQUEST_FIELD_NUMBER: _ClassVar[int]
    GENERIC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ping: H2FramePing
    settings: H2FrameSettings
    headers: H2FrameHeaders
    continuation: H2FrameContinuation
    data: H2FrameData
    priority: H2FramePriority
    push_promise: H2FramePushPromise
    reset_stream: H2FrameResetStream
    go_away: H2FrameGoAway
    window_update: H2FrameWindowUpdate
    malformed_request: H2FrameMalformedRequest
    malformed_request_with_zerolen_header: H2FrameMalformedRequestWithZerolenHeader
    request: H2FrameRequest
    post_request: H2FramePostRequest
    generic: H2FrameGeneric
    status: H2FrameStatus
    metadata: H2FrameMetadata
    def __init__(self, ping: _Optional[_Union[H2FramePing, _Mapping]] = ..., settings: _Optional[_Union[H2FrameSettings, _Mapping]] = ..., headers: _Optional[_Union[H2FrameHeaders, _Mapping]] = ..., continuation: _Optional[_Union[H2FrameContinuation, _Mapping]] = ..., data: _Optional[_Union[H2FrameData, _Mapping]] = ..., priority: _Optional[_Union[H2FramePriority, _Mapping]] = ..., push_promise: _Optional[_Union[H2FramePushPromise, _Mapping]] = ..., reset_stream: _Optional[_Union[H2FrameResetStream, _Mapping]] = ..., go_away: _Optional[_Union[H2FrameGoAway, _Mapping]] = ..., window_update: _Optional[_Union[H2FrameWindowUpdate, _Mapping]] = ..., malformed_request: _Optional[_Union[H2FrameMalformedRequest, _Mapping]] = ..., malformed_request_with_zerolen_header: _Optional[_Union[H2FrameMalformedRequestWithZerolenHeader, _Mapping]] = ..., request: _Optional[_Union[H2FrameRequest, _Mapping]] = ..., post_request: _Optional[_Union[H2FramePostRequest, _Mapping]] = ..., generic: _Optional[_Union[H2FrameGeneric, _Mapping]] = ..., status: _Optional[_Union[H2FrameStatus, _Mapping]] = ..., metadata: _Optional[_Union[H2FrameMetadata, _Mapping]] = ...) -> None: ...

class DownstreamSendEvent(_message.Message):
    __slots__ = ("h2_frames",)
    H2_FRAMES_FIELD_NUMBER: _ClassVar[int]
    h2_frames: _containers.RepeatedCompositeFieldContainer[H2TestFrame]
    def __init__(self, h2_frames: _Optional[_Iterable[_Union[H2TestFrame, _Mapping]]] = ...) -> None: ...

class UpstreamSendEvent(_message.Message):
    __slots__ = ("h2_frames",)
    H2_FRAMES_FIELD_NUMBER: _ClassVar[int]
    h2_frames: _containers.RepeatedCompositeFieldContainer[H2TestFrame]
    def __init__(self, h2_frames: _Optional[_Iterable[_Union[H2TestFrame, _Mapping]]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("downstream_send_event", "upstream_send_event")
    DOWNSTREAM_SEND_EVENT_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_SEND_EVENT_FIELD_NUMBER: _ClassVar[int]
    downstream_send_event: DownstreamSendEvent
    upstream_send_event: UpstreamSendEvent
    def __init__(self, downstream_send_event: _Optional[_Union[DownstreamSendEvent, _Mapping]] = ..., upstream_send_event: _Optional[_Union[UpstreamSendEvent, _Mapping]] = ...) -> None: ...

class H2CaptureFuzzTestCase(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...
