from harness.proto import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CanonicalPath(_message.Message):
    __slots__ = ("request_headers",)
    REQUEST_HEADERS_FIELD_NUMBER: _ClassVar[int]
    request_headers: _common_pb2.Headers
    def __init__(self, request_headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ...) -> None: ...

class MergeSlashes(_message.Message):
    __slots__ = ("request_headers",)
    REQUEST_HEADERS_FIELD_NUMBER: _ClassVar[int]
    request_headers: _common_pb2.Headers
    def __init__(self, request_headers: _Optional[_Union[_common_pb2.Headers, _Mapping]] = ...) -> None: ...

class RemoveQueryAndFragment(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class PathUtilityTestCase(_message.Message):
    __slots__ = ("canonical_path", "merge_slashes", "remove_query_and_fragment")
    CANONICAL_PATH_FIELD_NUMBER: _ClassVar[int]
    MERGE_SLASHES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_QUERY_AND_FRAGMENT_FIELD_NUMBER: _ClassVar[int]
    canonical_path: CanonicalPath
    merge_slashes: MergeSlashes
    remove_query_and_fragment: RemoveQueryAndFragment
    def __init__(self, canonical_path: _Optional[_Union[CanonicalPath, _Mapping]] = ..., merge_slashes: _Optional[_Union[MergeSlashes, _Mapping]] = ..., remove_query_and_fragment: _Optional[_Union[RemoveQueryAndFragment, _Mapping]] = ...) -> None: ...
