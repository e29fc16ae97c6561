from google.protobuf import empty_pb2 as _empty_pb2
from harness.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NewStream(_message.Message):
    __slots__ = ("request_headers", "end_stream", "metadata")
    REQUEST_HEADERS_FIELD_NUMBER: _ClassVar[int]
    END_STREAM_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    request_headers: _common_pb2.Headers
    end_stream: bool
    metadata: _common_pb2.Metadata
    def __init__(self, request_headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., end_stream: _Optional[bool] = ..., metadata: _Optional[_Union[_common_pb2.Metadata, _Mapping]] = ...) -> None: ...

class DirectionalAction(_message.Message):
    __slots__ = ("continue_headers", "headers", "data", "data_value", "trailers", "reset_stream", "read_disable", "metadata", "end_stream")
    CONTINUE_HEADERS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DATA_VALUE_FIELD_NUMBER: _ClassVar[int]
    TRAILERS_FIELD_NUMBER: _ClassVar[int]
    RESET_STREAM_FIELD_NUMBER: _ClassVar[int]
    READ_DISABLE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    END_STREAM_FIELD_NUMBER: _ClassVar[int]
    continue_headers: _common_pb2.Headers
    headers: _common_pb2.Headers
    data: int
    data_value: str
    trailers: _common_pb2.Headers
    reset_stream: int
    read_disable: bool
    metadata: _common_pb2.Metadata
    end_stream: bool
    def __init__(self, continue_headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., data: _Optional[int] = ..., data_value: _Optional[str] = ..., trailers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., reset_stream: _Optional[int] = ..., read_disable: _Optional[bool] = ..., metadata: _Optional[_Union[_common_pb2.Metadata, _Mapping]] = ..., end_stream: _Optional[bool] = ...) -> None: ...

class StreamAction(_message.Message):
    __slots__ = ("stream_id", "request", "response", "dispatching_action")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DISPATCHING_ACTION_FIELD_NUMBER: _ClassVar[int]
    stream_id: int
    request: DirectionalAction
    response: DirectionalAction
    dispatching_action: DirectionalAction
    def __init__(self, stream_id: _Optional[int] = ..., request: _Optional[_Union[DirectionalAction, _Mapping]] = ..., response: _Optional[_Union[DirectionalAction, _Mapping]] = ..., dispatching_action: _Optional[_Union[DirectionalAction, _Mapping]] = ...) -> None: ...

class MutateAction(_message.Message):
    __slots__ = ("buffer", "offset", "value", "server")
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    buffer: int
    offset: int
    value: int
    server: bool
    def __init__(self, buffer: _Optional[int] = ..., offset: _Optional[int] = ..., value: _Optional[int] = ..., server: _Optional[bool] = ...) -> None: ...

class SwapBufferAction(_message.Message):
    __slots__ = ("buffer", "server")
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    buffer: int
    server: bool
    def __init__(self, buffer: _Optional[int] = ..., server: _Optional[bool] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("new_stream", "stream_action", "mutate", "swap_buffer", "client_drain", "server_drain", "quiesce_drain")
    NEW_STREAM_FIELD_NUMBER: _ClassVar[int]
    STREAM_ACTION_FIELD_NUMBER: _ClassVar[int]
    MUTATE_FIELD_NUMBER: _ClassVar[int]
    SWAP_BUFFER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_DRAIN_FIELD_NUMBER: _ClassVar[int]
    SERVER_DRAIN_FIELD_NUMBER: _ClassVar[int]
    QUIESCE_DRAIN_FIELD_NUMBER: _ClassVar[int]
    new_stream: NewStream
    stream_action: StreamAction
    mutate: MutateAction
    swap_buffer: SwapBufferAction
    client_drain: _empty_pb2.Empty
    server_drain: _empty_pb2.Empty
    quiesce_drain: _empty_pb2.Empty
    def __init__(self, new_stream: _Optional[_Union[NewStream, _Mapping]] = ..., stream_action: _Optional[_Union[StreamAction, _Mapping]] = ..., mutate: _Optional[_Union[MutateAction, _Mapping]] = ..., swap_buffer: _Optional[_Union[SwapBufferAction, _Mapping]] = ..., client_drain: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., server_drain: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., quiesce_drain: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ...) -> None: ...

class Http1ServerSettings(_message.Message):
    __slots__ = ("allow_absolute_url", "accept_http_10", "default_host_for_http_10", "enable_trailers")
    ALLOW_ABSOLUTE_URL_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_HTTP_10_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_HOST_FOR_HTTP_10_FIELD_NUMBER: _ClassVar[int]
    ENABLE_TRAILERS_FIELD_NUMBER: _ClassVar[int]
    allow_absolute_url: bool
    accept_http_10: bool
    default_host_for_http_10: str
    enable_trailers: bool
    def __init__(self, allow_absolute_url: _Optional[bool] = ..., accept_http_10: _Optional[bool] = ..., default_host_for_http_10: _Optional[str] = ..., enable_trailers: _Optional[bool] = ...) -> None: ...

class Http1ClientSettings(_message.Message):
    __slots__ = ("enable_trailers",)
    ENABLE_TRAILERS_FIELD_NUMBER: _ClassVar[int]
    enable_trailers: bool
    def __init__(self, enable_trailers: _Optional[bool] = ...) -> None: ...

class Http1ClientServerSettings(_message.Message):
    __slots__ = ("client", "server")
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    client: Http1ClientSettings
    server: Http1ServerSettings
    def __init__(self, client: _Optional[_Union[Http1ClientSettings, _Mapping]] = ..., server: _Optional[_Union[Http1ServerSettings, _Mapping]] = ...) -> None: ...

class Http2Settings(_message.Message):
    __slots__ = ("hpack_table_size", "max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size")
    HPACK_TABLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_STREAMS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STREAM_WINDOW_SIZE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_CONNECTION_WINDOW_SIZE_FIELD_NUMBER: _ClassVar[int]
    hpack_table_size: int
    max_concurrent_streams: int
    initial_stream_window_size: int
    initial_connection_window_size: int
    def __init__(self, hpack_table_size: _Optional[int] = ..., max_concurrent_streams: _Optional[int] = ..., initial_stream_window_size: _Optional[int] = ..., initial_connection_window_size: _Optional[int] = ...) -> None: ...

class Http2ClientServerSettings(_message.Message):
    __slots__ = ("client", "server")
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    client: Http2Settings
    server: Http2Settings
    def __init__(self, client: _Optional[_Union[Http2Settings, _Mapping]] = ..., server: _Optional[_Union[Http2Settings, _Mapping]] = ...) -> None: ...

class CodecImplFuzzTestCase(_message.Message):
    __slots__ = ("h1_settings", "h2_settings", "actions")
    H1_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    H2_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    h1_settings: Http1ClientServerSettings
    h2_settings: Http2ClientServerSettings
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    def __init__(self, h1_settings: _Optional[_Union[Http1ClientServerSettings, _Mapping]] = ..., h2_settings: _Optional[_Union[Http2ClientServerSettings, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ...) -> None: ...
