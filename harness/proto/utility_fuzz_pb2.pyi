from envoy.config.core.v3 import protocol_pb2 as _protocol_pb2
from validate import validate_pb2 as _validate_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CookiesKey(_message.Message):
    __slots__ = ("cookies", "key")
    COOKIES_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    cookies: _containers.RepeatedScalarFieldContainer[str]
    key: str
    def __init__(self, cookies: _Optional[_Iterable[str]] = ..., key: _Optional[str] = ...) -> None: ...

class GetLastAddressFromXff(_message.Message):
    __slots__ = ("xff", "num_to_skip")
    XFF_FIELD_NUMBER: _ClassVar[int]
    NUM_TO_SKIP_FIELD_NUMBER: _ClassVar[int]
    xff: str
    num_to_skip: int
    def __init__(self, xff: _Optional[str] = ..., num_to_skip: _Optional[int] = ...) -> None: ...

class Parameter(_message.Message):
    __slots__ = ("data", "start")
    DATA_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    data: str
    start: int
    def __init__(self, data: _Optional[str] = ..., start: _Optional[int] = ...) -> None: ...

class CookieValue(_message.Message):
    __slots__ = ("key", "value", "path", "max_age", "httponly")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    HTTPONLY_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    path: str
    max_age: int
    httponly: bool
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., path: _Optional[str] = ..., max_age: _Optional[int] = ..., httponly: _Optional[bool] = ...) -> None: ...

class UtilityTestCase(_message.Message):
    __slots__ = ("parse_query_string", "parse_cookie_value", "get_last_address_from_xff", "extract_host_path_from_uri", "percent_encoding_string", "percent_decoding_string", "parse_parameters", "find_query_string", "make_set_cookie_value", "parse_authority_string", "initialize_and_validate")
    PARSE_QUERY_STRING_FIELD_NUMBER: _ClassVar[int]
    PARSE_COOKIE_VALUE_FIELD_NUMBER: _ClassVar[int]
    GET_LAST_ADDRESS_FROM_XFF_FIELD_NUMBER: _ClassVar[int]
    EXTRACT_HOST_PATH_FROM_URI_FIELD_NUMBER: _ClassVar[int]
    PERCENT_ENCODING_STRING_FIELD_NUMBER: _ClassVar[int]
    PERCENT_DECODING_STRING_FIELD_NUMBER: _ClassVar[int]
    PARSE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    FIND_QUERY_STRING_FIELD_NUMBER: _ClassVar[int]
    MAKE_SET_COOKIE_VALUE_FIELD_NUMBER: _ClassVar[int]
    PARSE_AUTHORITY_STRING_FIELD_NUMBER: _ClassVar[int]
    INITIALIZE_AND_VALIDATE_FIELD_NUMBER: _ClassVar[int]
    parse_query_string: str
    parse_cookie_value: CookiesKey
    get_last_address_from_xff: GetLastAddressFromXff
    extract_host_path_from_uri: str
    percent_encoding_string: str
    percent_decoding_string: str
    parse_parameters: Parameter
    find_query_string: str
    make_set_cookie_value: CookieValue
    parse_authority_string: str
    initialize_and_validate: _protocol_pb2.Http2ProtocolOptions
    def __init__(self, parse_query_string: _Optional[str] = ..., parse_cookie_value: _Optional[_Union[CookiesKey, _Mapping]] = ..., get_last_address_from_xff: _Optional[_Union[GetLastAddressFromXff, _Mapping]] = ..., extract_host_path_from_uri: _Optional[str] = ..., percent_encoding_string: _Optional[str] = ..., percent_decoding_string: _Optional[str] = ..., parse_parameters: _Optional[_Union[Parameter, _Mapping]] = ..., find_query_string: _Optional[str] = ..., make_set_cookie_value: _Optional[_Union[CookieValue, _Mapping]] = ..., parse_authority_string: _Optional[str] = ..., initialize_and_validate: _Optional[_Union[_protocol_pb2.Http2ProtocolOptions, _Mapping]] = ...) -> None: ...
