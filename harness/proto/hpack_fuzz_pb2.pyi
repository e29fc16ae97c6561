from harness.proto import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HpackTestCase(_message.Message):
    __slots__ = ("headers", "end_headers")
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    END_HEADERS_FIELD_NUMBER: _ClassVar[int]
    headers: _common_pb2.Headers
    end_headers: bool
    def __init__(self, headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ..., end_headers: _Optional[bool] = ...) -> None: ...
