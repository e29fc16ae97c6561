from harness.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Http2DataFrame(_message.Message):
    __slots__ = ("data", "padding")
    DATA_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    padding: bytes
    def __init__(self, data: _Optional[bytes] = ..., padding: _Optional[bytes] = ...) -> None: ...

class Http2HeaderFrame(_message.Message):
    __slots__ = ("stream_dependency", "weight", "headers", "padding")
    STREAM_DEPENDENCY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    stream_dependency: int
    weight: int
    headers: _common_pb2.Headers
    padding: bytes
    def __init__(self, stream_dependency: _Optional[int] = ..., weight: _Optional[int] = ..., headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., padding: _Optional[bytes] = ...) -> None: ...

class Http2PriorityFrame(_message.Message):
    __slots__ = ("stream_dependency", "weight")
    STREAM_DEPENDENCY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    stream_dependency: int
    weight: int
    def __init__(self, stream_dependency: _Optional[int] = ..., weight: _Optional[int] = ...) -> None: ...

class Http2RstFrame(_message.Message):
    __slots__ = ("error_code",)
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    error_code: int
    def __init__(self, error_code: _Optional[int] = ...) -> None: ...

class Http2Setting(_message.Message):
    __slots__ = ("identifier", "value")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    identifier: int
    value: int
    def __init__(self, identifier: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...

class Http2SettingsFrame(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: _containers.RepeatedCompositeFieldContainer[Http2Setting]
    def __init__(self, settings: _Optional[_Iterable[_Union[Http2Setting, _Mapping]]] = ...) -> None: ...

class Http2PushPromiseFrame(_message.Message):
    __slots__ = ("stream_id", "headers", "padding")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    stream_id: int
    headers: _common_pb2.Headers
    padding: bytes
    def __init__(self, stream_id: _Optional[int] = ..., headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., padding: _Optional[bytes] = ...) -> None: ...

class Http2PingFrame(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: int
    def __init__(self, data: _Optional[int] = ...) -> None: ...

class Http2GoAwayFrame(_message.Message):
    __slots__ = ("last_stream_id", "error_code", "debug_data")
    LAST_STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    DEBUG_DATA_FIELD_NUMBER: _ClassVar[int]
    last_stream_id: int
    error_code: int
    debug_data: bytes
    def __init__(self, last_stream_id: _Optional[int] = ..., error_code: _Optional[int] = ..., debug_data: _Optional[bytes] = ...) -> None: ...

class Http2WindowUpdateFrame(_message.Message):
    __slots__ = ("window_size_increment",)
    WINDOW_SIZE_INCREMENT_FIELD_NUMBER: _ClassVar[int]
    window_size_increment: int
    def __init__(self, window_size_increment: _Optional[int] = ...) -> None: ...

class Http2ContinuationFrame(_message.Message):
    __slots__ = ("headers",)
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    headers: _common_pb2.Headers
    def __init__(self, headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ...) -> None: ...

class Http2Frame(_message.Message):
    __slots__ = ("streamid", "flags", "data", "headers", "priority", "rst", "settings", "push_promise", "ping", "go_away", "window_update", "continuation")
    STREAMID_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RST_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    PUSH_PROMISE_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_UPDATE_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_FIELD_NUMBER: _ClassVar[int]
    streamid: int
    flags: int
    data: Http2DataFrame
    headers: Http2HeaderFrame
    priority: Http2PriorityFrame
    rst: Http2RstFrame
    settings: Http2SettingsFrame
    push_promise: Http2PushPromiseFrame
    ping: Http2PingFrame
    go_away: Http2GoAwayFrame
    window_update: Http2WindowUpdateFrame
    continuation: Http2ContinuationFrame
    def __init__(self, streamid: _Optional[int] = ..., flags: _Optional[int] = ..., data: _Optional[_Union[Http2DataFrame, _Mapping]] = ..., headers: _Optional[_Union[Http2HeaderFrame, _Mapping]] = ..., priority: _Optional[_Union[Http2PriorityFrame, _Mapping]] = ..., rst: _Optional[_Union[Http2RstFrame, _Mapping]] = ..., settings: _Optional[_Union[Http2SettingsFrame, _Mapping]] = ..., push_promise: _Optional[_Union[Http2PushPromiseFrame, _Mapping]] = ..., ping: _Optional[_Union[Http2PingFrame, _Mapping]] = ..., go_away: _Optional[_Union[Http2GoAwayFrame, _Mapping]] = ..., window_update: _Optional[_Union[Http2WindowUpdateFrame, _Mapping]] = ..., continuation: _Optional[_Union[Http2ContinuationFrame, _Mapping]] = ...) -> None: ...

class JunkFrame(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class Http2FrameOrJunk(_message.Message):
    __slots__ = ("h2frame", "junk")
    H2FRAME_FIELD_NUMBER: _ClassVar[int]
    JUNK_FIELD_NUMBER: _ClassVar[int]
    h2frame: Http2Frame
    junk: JunkFrame
    def __init__(self, h2frame: _Optional[_Union[Http2Frame, _Mapping]] = ..., junk: _Optional[_Union[JunkFrame, _Mapping]] = ...) -> None: ...

class Http2ConnectionFuzzCase(_message.Message):
    __slots__ = ("settings", "frames")
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    settings: Http2SettingsFrame
    frames: _containers.RepeatedCompositeFieldContainer[Http2FrameOrJunk]
    def __init__(self, settings: _Optional[_Union[Http2SettingsFrame, _Mapping]] = ..., frames: _Optional[_Iterable[_Union[Http2FrameOrJunk, _Mapping]]] = ...) -> None: ...
