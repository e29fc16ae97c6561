"""Cheap clones of an h2 4.x connection: the fuzz targets clone a template per input instead of
building one (``EnvoyH2Connection.clone``).

Machinery, not code under test: the runner never instruments this module (its branches say
nothing about an input). Written against h2 4.4.1's attributes; ``clone_h2`` refuses a
connection with attributes it does not know.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from types import MethodType
from typing import Any, TypeVar

import h2
import h2.connection
import h2.settings
from hpack import Encoder


class CowSettings(h2.settings.Settings):
    """h2's Settings whose value table is shared with its clones until one of them writes.

    SETTINGS change only when a SETTINGS frame or its ACK arrives, so most clones never copy.
    """

    _owned = True

    def _own(self) -> None:
        if not self._owned:
            self._settings = {k: deque(v) for k, v in self._settings.items()}
            self._owned = True

    def acknowledge(self) -> dict[Any, h2.settings.ChangedSetting]:
        self._own()
        return super().acknowledge()

    def __setitem__(self, key: Any, value: int) -> None:
        self._own()
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._own()
        super().__delitem__(key)

    def shared_copy(self) -> CowSettings:
        self._owned = False  # the original must copy before its next write too
        new = _shallow(self)
        return new


class CowEncoder(Encoder):
    """hpack's Encoder whose dynamic table is shared with its clones until one of them
    encodes (a server in these targets never sends headers, so most clones never copy)."""

    _owned = True

    def _own(self) -> None:
        if not self._owned:
            self.header_table = _clone_table(self.header_table)
            self.table_size_changes = list(self.table_size_changes)
            self._owned = True

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        self._own()
        return super().encode(headers, huffman)

    @property
    def header_table_size(self) -> int:
        return int(self.header_table.maxsize)

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._own()
        self.header_table.maxsize = value

    def shared_copy(self) -> CowEncoder:
        self._owned = False
        new: CowEncoder = _shallow(self)
        return new


# The H2Connection attributes clone_h2 knows how to copy; anything else means h2 changed.
_H2_ATTRS = frozenset(
    {
        "state_machine",
        "streams",
        "highest_inbound_stream_id",
        "highest_outbound_stream_id",
        "encoder",
        "decoder",
        "config",
        "local_settings",
        "remote_settings",
        "outbound_flow_control_window",
        "max_outbound_frame_size",
        "max_inbound_frame_size",
        "incoming_buffer",
        "_header_frames",
        "_data_to_send",
        "_closed_streams",
        "_inbound_flow_control_window_manager",
        "_frame_dispatch_table",
        "_envoy",
        "_overflow_stream",
    }
)


def _shallow(obj: Any) -> Any:
    # copy.copy goes through __reduce_ex__ and is several times slower for plain objects.
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _clone_table(table: Any) -> Any:
    new = _shallow(table)
    new.dynamic_entries = deque(table.dynamic_entries)
    return new


def _clone_settings(settings: h2.settings.Settings) -> h2.settings.Settings:
    if isinstance(settings, CowSettings):
        return settings.shared_copy()
    new = _shallow(settings)
    new._settings = {k: deque(v) for k, v in settings._settings.items()}
    return new


def clone_h2(src: _H2T) -> _H2T:
    """A deep-enough copy of an h2 connection (copy.deepcopy is ~10x slower).

    Written against h2 4.x; it refuses to copy a connection with attributes it does not know.
    """
    attrs = src.__dict__
    if len(attrs) != len(_H2_ATTRS) or attrs.keys() != _H2_ATTRS:
        unknown = sorted(attrs.keys() ^ _H2_ATTRS)
        raise TypeError(f"clone_h2: unexpected h2 connection attributes {unknown}")
    new = h2.connection.H2Connection.__new__(type(src))
    d = new.__dict__
    d.update(attrs)
    d["state_machine"] = _shallow(src.state_machine)
    streams = {}
    for sid, stream in src.streams.items():
        s = _shallow(stream)
        s.state_machine = _shallow(stream.state_machine)
        s._inbound_window_manager = _shallow(stream._inbound_window_manager)
        streams[sid] = s
    d["streams"] = streams
    if isinstance(src.encoder, CowEncoder):
        d["encoder"] = src.encoder.shared_copy()
    else:
        enc = _shallow(src.encoder)
        enc.header_table = _clone_table(src.encoder.header_table)
        enc.table_size_changes = list(src.encoder.table_size_changes)
        d["encoder"] = enc
    dec = _shallow(src.decoder)
    dec.header_table = _clone_table(src.decoder.header_table)
    d["decoder"] = dec
    d["local_settings"] = _clone_settings(src.local_settings)
    d["remote_settings"] = _clone_settings(src.remote_settings)
    buf = _shallow(src.incoming_buffer)
    buf._data = bytearray(src.incoming_buffer._data)
    buf._headers_buffer = list(src.incoming_buffer._headers_buffer)
    d["incoming_buffer"] = buf
    d["_header_frames"] = list(src._header_frames)
    d["_data_to_send"] = bytearray(src._data_to_send)
    closed: Any = src._closed_streams
    closed_type: Any = type(closed)
    new_closed = closed_type.__new__(closed_type)
    new_closed._size_limit = closed._size_limit
    if closed:
        OrderedDict.update(new_closed, closed)
    d["_closed_streams"] = new_closed
    d["_inbound_flow_control_window_manager"] = _shallow(src._inbound_flow_control_window_manager)
    d["_frame_dispatch_table"] = DispatchTable(src._frame_dispatch_table, new)
    return new


_H2T = TypeVar("_H2T", bound=h2.connection.H2Connection)


class DispatchTable:
    """h2's frame-class -> bound-method table, bound on lookup: rebinding a dict of a dozen
    methods per clone costs more than binding the one method each frame needs."""

    __slots__ = ("_conn", "_funcs")

    def __init__(self, table: Any, conn: h2.connection.H2Connection) -> None:
        self._funcs: dict[type, Any] = (
            table._funcs
            if isinstance(table, DispatchTable)
            else {cls: method.__func__ for cls, method in table.items()}
        )
        self._conn = conn

    def __getitem__(self, cls: type) -> Any:
        return MethodType(self._funcs[cls], self._conn)

    def items(self) -> Any:
        return ((cls, MethodType(f, self._conn)) for cls, f in self._funcs.items())
