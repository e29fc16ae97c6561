from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddReference(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AddReferenceKey(_message.Message):
    __slots__ = ("key", "string_value", "uint64_value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    string_value: str
    uint64_value: int
    def __init__(self, key: _Optional[str] = ..., string_value: _Optional[str] = ..., uint64_value: _Optional[int] = ...) -> None: ...

class AddCopy(_message.Message):
    __slots__ = ("key", "string_value", "uint64_value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    string_value: str
    uint64_value: int
    def __init__(self, key: _Optional[str] = ..., string_value: _Optional[str] = ..., uint64_value: _Optional[int] = ...) -> None: ...

class SetReference(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SetReferenceKey(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class GetAndMutate(_message.Message):
    __slots__ = ("key", "append", "clear", "find", "set_copy", "set_integer", "set_reference")
    KEY_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    FIND_FIELD_NUMBER: _ClassVar[int]
    SET_COPY_FIELD_NUMBER: _ClassVar[int]
    SET_INTEGER_FIELD_NUMBER: _ClassVar[int]
    SET_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    key: str
    append: str
    clear: _empty_pb2.Empty
    find: str
    set_copy: str
    set_integer: int
    set_reference: str
    def __init__(self, key: _Optional[str] = ..., append: _Optional[str] = ..., clear: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., find: _Optional[str] = ..., set_copy: _Optional[str] = ..., set_integer: _Optional[int] = ..., set_reference: _Optional[str] = ...) -> None: ...

class HeaderMapImplFuzzTestCase(_message.Message):
    __slots__ = ("actions", "config")
    class Get(_message.Message):
        __slots__ = ("key",)
        KEY_FIELD_NUMBER: _ClassVar[int]
        key: str
        def __init__(self, key: _Optional[str] = ...) -> None: ...
    class MutateAndMove(_message.Message):
        __slots__ = ("key", "append", "set_copy", "set_integer", "set_reference")
        KEY_FIELD_NUMBER: _ClassVar[int]
        APPEND_FIELD_NUMBER: _ClassVar[int]
        SET_COPY_FIELD_NUMBER: _ClassVar[int]
        SET_INTEGER_FIELD_NUMBER: _ClassVar[int]
        SET_REFERENCE_FIELD_NUMBER: _ClassVar[int]
        key: str
        append: str
        set_copy: str
        set_integer: int
        set_reference: str
        def __init__(self, key: _Optional[str] = ..., append: _Optional[str] = ..., set_copy: _Optional[str] = ..., set_integer: _Optional[int] = ..., set_reference: _Optional[str] = ...) -> None: ...
    class Append(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class Action(_message.Message):
        __slots__ = ("add_reference", "add_reference_key", "add_copy", "set_reference", "set_reference_key", "get_and_mutate", "copy", "lookup", "remove", "remove_prefix", "get", "mutate_and_move", "append")
        ADD_REFERENCE_FIELD_NUMBER: _ClassVar[int]
        ADD_REFERENCE_KEY_FIELD_NUMBER: _ClassVar[int]
        ADD_COPY_FIELD_NUMBER: _ClassVar[int]
        SET_REFERENCE_FIELD_NUMBER: _ClassVar[int]
        SET_REFERENCE_KEY_FIELD_NUMBER: _ClassVar[int]
        GET_AND_MUTATE_FIELD_NUMBER: _ClassVar[int]
        COPY_FIELD_NUMBER: _ClassVar[int]
        LOOKUP_FIELD_NUMBER: _ClassVar[int]
        REMOVE_FIELD_NUMBER: _ClassVar[int]
        REMOVE_PREFIX_FIELD_NUMBER: _ClassVar[int]
        GET_FIELD_NUMBER: _ClassVar[int]
        MUTATE_AND_MOVE_FIELD_NUMBER: _ClassVar[int]
        APPEND_FIELD_NUMBER: _ClassVar[int]
        add_reference: AddReference
        add_reference_key: AddReferenceKey
        add_copy: AddCopy
        set_reference: SetReference
        set_reference_key: SetReferenceKey
        get_and_mutate: GetAndMutate
        copy: _empty_pb2.Empty
        lookup: str
        remove: str
        remove_prefix: str
        get: HeaderMapImplFuzzTestCase.Get
        mutate_and_move: HeaderMapImplFuzzTestCase.MutateAndMove
        append: HeaderMapImplFuzzTestCase.Append
        def __init__(self, add_reference: _Optional[_Union[AddReference, _Mapping]] = ..., add_reference_key: _Optional[_Union[AddReferenceKey, _Mapping]] = ..., add_copy: _Optional[_Union[AddCopy, _Mapping]] = ..., set_reference: _Optional[_Union[SetReference, _Mapping]] = ..., set_reference_key: _Optional[_Union[SetReferenceKey, _Mapping]] = ..., get_and_mutate: _Optional[_Union[GetAndMutate, _Mapping]] = ..., copy: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., lookup: _Optional[str] = ..., remove: _Optional[str] = ..., remove_prefix: _Optional[str] = ..., get: _Optional[_Union[HeaderMapImplFuzzTestCase.Get, _Mapping]] = ..., mutate_and_move: _Optional[_Union[HeaderMapImplFuzzTestCase.MutateAndMove, _Mapping]] = ..., append: _Optional[_Union[HeaderMapImplFuzzTestCase.Append, _Mapping]] = ...) -> None: ...
    class Config(_message.Message):
        __slots__ = ("lazy_map_min_size",)
        LAZY_MAP_MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
        lazy_map_min_size: int
        def __init__(self, lazy_map_min_size: _Optional[int] = ...) -> None: ...
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[HeaderMapImplFuzzTestCase.Action]
    config: HeaderMapImplFuzzTestCase.Config
    def __init__(self, actions: _Optional[_Iterable[_Union[HeaderMapImplFuzzTestCase.Action, _Mapping]]] = ..., config: _Optional[_Union[HeaderMapImplFuzzTestCase.Config, _Mapping]] = ...) -> None: ...
