from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("downstream_send_bytes", "downstream_recv_bytes", "upstream_send_bytes", "upstream_recv_bytes")
    DOWNSTREAM_SEND_BYTES_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_RECV_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_SEND_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_RECV_BYTES_FIELD_NUMBER: _ClassVar[int]
    downstream_send_bytes: bytes
    downstream_recv_bytes: _empty_pb2.Empty
    upstream_send_bytes: bytes
    upstream_recv_bytes: _empty_pb2.Empty
    def __init__(self, downstream_send_bytes: _Optional[bytes] = ..., downstream_recv_bytes: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., upstream_send_bytes: _Optional[bytes] = ..., upstream_recv_bytes: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ...) -> None: ...

class CaptureFuzzTestCase(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...
