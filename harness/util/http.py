"""Envoy's ``Http::Utility`` helpers (source/common/http/utility.cc) on bytes.

Only what the utility fuzz target exercises, with Envoy's quirks kept on purpose:
``PercentEncoding.encode`` escapes ``~`` and DEL as well as controls and bytes >= 0x80
(Envoy compares a signed ``char``); query parameters are split on ``&`` only; cookie keys
keep trailing spaces; IP parsing stops at the first NUL as ``inet_pton(c_str())`` does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from harness.util.strings import WHITESPACE, split_token

QueryParams = list[tuple[bytes, bytes]]

_HEX = b"0123456789abcdefABCDEF"


# --- query strings -------------------------------------------------------------------------


def parse_parameters(data: bytes, start: int, decode_params: bool = False) -> QueryParams:
    """``QueryParamsMulti::parseParameters``: (name, value) pairs in order, from ``start``."""
    params: QueryParams = []
    size = len(data)
    while start < size:
        end = data.find(b"&", start)
        if end < 0:
            end = size
        param = data[start:end]
        name, eq, value = param.partition(b"=")
        if decode_params:
            name, value = percent_decode(name), percent_decode(value)
        params.append((name, value if eq else b""))
        start = end + 1
    return params


def parse_query_string(url: bytes) -> QueryParams:
    """Parameters after the first ``?`` (none when there is no ``?``)."""
    start = url.find(b"?")
    return [] if start < 0 else parse_parameters(url, start + 1)


def parse_and_decode_query_string(url: bytes) -> QueryParams:
    start = url.find(b"?")
    return [] if start < 0 else parse_parameters(url, start + 1, decode_params=True)


def first_value_map(params: QueryParams) -> dict[bytes, bytes]:
    """The older ``QueryParams`` std::map view: the first value of a repeated name wins."""
    out: dict[bytes, bytes] = {}
    for name, value in params:
        out.setdefault(name, value)
    return out


def find_query_string_start(path: bytes) -> bytes:
    """The query string including its ``?`` (empty when there is none)."""
    pos = path.find(b"?")
    return b"" if pos < 0 else path[pos:]


def strip_query_string(path: bytes) -> bytes:
    pos = path.find(b"?")
    return path if pos < 0 else path[:pos]


# --- percent encoding ----------------------------------------------------------------------


def _encode_table(reserved: bytes) -> tuple[bytes, ...]:
    table = []
    for c in range(256):
        # `ch < ' ' || ch >= '~'` on a signed char: controls, '~', DEL and every byte >= 0x80.
        if c < 0x20 or c >= 0x7E or c in reserved:
            table.append(b"%%%02X" % c)
        else:
            table.append(bytes((c,)))
    return tuple(table)


_DEFAULT_ENCODE = _encode_table(b"%")
_DEFAULT_SAFE = frozenset(c for c in range(256) if len(_DEFAULT_ENCODE[c]) == 1)


def percent_encode(value: bytes, reserved_chars: bytes = b"%") -> bytes:
    """``PercentEncoding::encode`` (gRPC message encoding; uppercase hex)."""
    if reserved_chars == b"%":
        if _DEFAULT_SAFE.issuperset(value):
            return value
        table = _DEFAULT_ENCODE
    else:
        table = _encode_table(reserved_chars)
    return b"".join(table[c] for c in value)


def percent_decode(encoded: bytes) -> bytes:
    """``PercentEncoding::decode``: every valid ``%XX`` becomes its byte; the rest is kept."""
    if b"%" not in encoded:
        return encoded
    out = bytearray()
    i, n = 0, len(encoded)
    while i < n:
        c = encoded[i]
        if c == 0x25 and i + 2 < n and encoded[i + 1] in _HEX and encoded[i + 2] in _HEX:
            out.append(int(encoded[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(c)
        i += 1
    return bytes(out)


# --- cookies -------------------------------------------------------------------------------


def for_each_cookie(cookie_headers: list[bytes]) -> list[tuple[bytes, bytes]]:
    """``forEachCookie``: (name, value) of every ``name=value`` in ``;``-separated headers."""
    out = []
    for header in cookie_headers:
        for s in split_token(header, b";"):
            equals = s.find(b"=")
            if equals < 0:
                continue  # malformed: no '='
            first_non_space = len(s) - len(s.lstrip(b" "))
            key = s[first_non_space:equals]
            value = s[equals + 1 :]
            if len(value) >= 2 and value[0] == 0x22 and value[-1] == 0x22:
                value = value[1:-1]  # RFC 6265 allows a quoted value
            out.append((key, value))
    return out


def parse_cookie_value(cookie_headers: list[bytes], key: bytes) -> bytes:
    """``Utility::parseCookieValue``: the first cookie named ``key`` (``b""`` if none)."""
    for name, value in for_each_cookie(cookie_headers):
        if name == key:
            return value
    return b""


def make_set_cookie_value(
    key: bytes, value: bytes, path: bytes, max_age: int, httponly: bool
) -> bytes:
    """``Utility::makeSetCookieValue`` (no extra attributes)."""
    out = key + b'="' + value + b'"'
    if max_age != 0:
        out += b"; Max-Age=%d" % max_age
    if path:
        out += b"; Path=" + path
    if httponly:
        out += b"; HttpOnly"
    return out


# --- addresses -----------------------------------------------------------------------------


def parse_internet_address(data: bytes) -> str | None:
    """``Network::Utility::parseInternetAddressNoThrow``: the canonical address or None.

    inet_pton sees a C string, so parsing stops at the first NUL. IPv6 follows Python's
    ``ipaddress`` (close to glibc's inet_pton/getaddrinfo; scope ids are accepted as text).
    """
    nul = data.find(0)
    if nul >= 0:
        data = data[:nul]
    if not data or not data.isascii():
        return None
    text = data.decode("ascii")
    if ":" in text:
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped
        # inet_ntop (Envoy's addressAsString) prints a v4-mapped address with a dotted quad.
        return str(address) if mapped is None else f"::ffff:{mapped}"
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def get_last_address_from_xff(xff: bytes | None, num_to_skip: int = 0) -> tuple[str | None, bool]:
    """``Utility::getLastAddressFromXFF``: (address, single_address) from x-forwarded-for."""
    if xff is None:
        return None, False
    for _ in range(num_to_skip):
        last_comma = xff.rfind(b",")
        if last_comma < 0:
            return None, False
        xff = xff[:last_comma]
    last_comma = xff.rfind(b",")
    if last_comma >= 0 and last_comma + 1 < len(xff):
        xff = xff[last_comma + 1 :]
    address = parse_internet_address(xff.strip(WHITESPACE))
    if address is None:
        return None, False
    return address, last_comma < 0 and num_to_skip == 0


# --- URIs and authorities ------------------------------------------------------------------


def extract_scheme_host_path_from_uri(uri: bytes) -> tuple[bytes, bytes, bytes]:
    """``Utility::extractSchemeHostPathFromUri``: (scheme, host, path); path defaults to /."""
    pos = uri.find(b"://")
    scheme = b"" if pos < 0 else uri[:pos]
    host_pos = 0 if pos < 0 else pos + 3
    path_pos = uri.find(b"/", host_pos)
    if path_pos < 0:
        return scheme, uri[host_pos:], b"/"
    return scheme, uri[host_pos:path_pos], uri[path_pos:]


def extract_host_path_from_uri(uri: bytes) -> tuple[bytes, bytes]:
    _, host, path = extract_scheme_host_path_from_uri(uri)
    return host, path


def is_grpc_content_type(content_type: bytes) -> bool:
    """Grpc::Common::hasGrpcContentType as Envoy 1.40 behaves: exactly ``application/grpc``
    or ``application/grpc+<subtype>`` (case-sensitive; ``;params`` does not count)."""
    return content_type == b"application/grpc" or content_type.startswith(b"application/grpc+")


def simple_atoi_u64(text: bytes) -> int | None:
    """absl::SimpleAtoi into uint64: ASCII whitespace around, optional '+', decimal only."""
    s = text.strip(WHITESPACE)
    if s[:1] == b"+":
        s = s[1:]
    if not s or not s.isdigit():
        return None
    value = int(s)
    return value if value < (1 << 64) else None


@dataclass(frozen=True)
class AuthorityAttributes:
    is_ip_address: bool
    host: bytes
    port: int | None


def parse_authority(host: bytes) -> AuthorityAttributes:
    """``Utility::parseAuthority``: split off a valid port, strip IPv6 brackets if an IP."""
    colon = host.rfind(b":")
    host_to_resolve = host
    port = None
    if colon >= 0 and host[-1:] != b"]":
        port64 = simple_atoi_u64(host[colon + 1 :]) if colon + 1 < len(host) else None
        if port64 is not None and port64 <= 65535:
            host_to_resolve, port = host[:colon], port64
    potential_ip = host_to_resolve
    if potential_ip[:1] == b"[" and potential_ip[-1:] == b"]":
        potential_ip = potential_ip[1:-1]
    if parse_internet_address(potential_ip) is not None:
        return AuthorityAttributes(True, potential_ip, port)
    return AuthorityAttributes(False, host_to_resolve, port)


# --- Http2::Utility::initializeAndValidateOptions ------------------------------------------

# Http2::Utility::OptionsLimits (source/common/http/utility.h). The defaults marked "safe" are
# those of Envoy >= 1.36 (runtime envoy.reloadable_features.safe_http2_options, on by default).
MIN_MAX_CONCURRENT_STREAMS = 1
MAX_MAX_CONCURRENT_STREAMS = (1 << 31) - 1
MIN_INITIAL_WINDOW_SIZE = 65535
MAX_INITIAL_WINDOW_SIZE = (1 << 31) - 1
DEFAULT_HPACK_TABLE_SIZE = 4096
DEFAULT_MAX_OUTBOUND_FRAMES = 10000
DEFAULT_MAX_OUTBOUND_CONTROL_FRAMES = 1000
DEFAULT_MAX_CONSECUTIVE_INBOUND_FRAMES_WITH_EMPTY_PAYLOAD = 1
DEFAULT_MAX_INBOUND_PRIORITY_FRAMES_PER_STREAM = 100
DEFAULT_MAX_INBOUND_WINDOW_UPDATE_FRAMES_PER_DATA_FRAME_SENT = 10
SAFE_DEFAULTS = {
    "max_concurrent_streams": 1024,
    "initial_stream_window_size": 16 * 1024 * 1024,
    "initial_connection_window_size": 24 * 1024 * 1024,
}
LEGACY_DEFAULTS = {
    "max_concurrent_streams": MAX_MAX_CONCURRENT_STREAMS,
    "initial_stream_window_size": 256 * 1024 * 1024,
    "initial_connection_window_size": 256 * 1024 * 1024,
}

# SETTINGS identifiers (RFC 9113 §6.5.2, RFC 8441).
HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
ENABLE_CONNECT_PROTOCOL = 0x8

# The PGV rules of Http2ProtocolOptions (api/envoy/config/core/v3/protocol.proto); the fuzz
# test validates the input first and skips it when a rule fails.
_PGV_RANGES = {
    "max_concurrent_streams": (1, MAX_MAX_CONCURRENT_STREAMS),
    "initial_stream_window_size": (MIN_INITIAL_WINDOW_SIZE, MAX_INITIAL_WINDOW_SIZE),
    "initial_connection_window_size": (MIN_INITIAL_WINDOW_SIZE, MAX_INITIAL_WINDOW_SIZE),
    "max_outbound_frames": (1, None),
    "max_outbound_control_frames": (1, None),
    "max_inbound_window_update_frames_per_data_frame_sent": (1, None),
}


class OptionsError(ValueError):
    """initializeAndValidateOptions rejected the options (Envoy returns a non-OK status)."""


def pgv_violations(options: Any) -> list[str]:
    """The Http2ProtocolOptions PGV rule failures (wrapper ranges, settings parameters)."""
    errors = []
    for name, (low, high) in _PGV_RANGES.items():
        if options.HasField(name):
            value = getattr(options, name).value
            if value < low or (high is not None and value > high):
                errors.append(f"{name}: {value} not in [{low}, {high}]")
    for i, param in enumerate(options.custom_settings_parameters):
        if not param.HasField("identifier"):
            errors.append(f"custom_settings_parameters[{i}].identifier: required")
        elif param.identifier.value > 65535:
            errors.append(f"custom_settings_parameters[{i}].identifier: > 65535")
        if not param.HasField("value"):
            errors.append(f"custom_settings_parameters[{i}].value: required")
    return errors


def _validate_custom_settings(options: Any) -> None:
    seen: dict[int, int] = {}
    inconsistent: list[str] = []
    collisions: list[str] = []
    for param in options.custom_settings_parameters:
        identifier = param.identifier.value & 0xFFFF  # Envoy casts to uint16 (PGV: <= 65535)
        value = param.value.value
        if identifier in seen:
            if seen[identifier] != value:
                inconsistent.append(f"0x{param.identifier.value:02x}")
        else:
            seen[identifier] = value
        if identifier == ENABLE_PUSH and value == 1:
            raise OptionsError("server push is not supported by Envoy")
        if identifier == ENABLE_CONNECT_PROTOCOL:
            raise OptionsError('the "allow_connect" SETTINGS parameter must use the named field')
        if identifier == HEADER_TABLE_SIZE and options.HasField("hpack_table_size"):
            collisions.append("hpack_table_size")
        elif identifier == MAX_CONCURRENT_STREAMS and options.HasField("max_concurrent_streams"):
            collisions.append("max_concurrent_streams")
        elif identifier == INITIAL_WINDOW_SIZE and options.HasField("initial_stream_window_size"):
            collisions.append("initial_stream_window_size")
    if inconsistent:
        raise OptionsError(
            f"inconsistent HTTP/2 custom SETTINGS parameter(s) detected; identifiers = "
            f"{{{','.join(inconsistent)}}}"
        )
    if collisions:
        raise OptionsError(
            f"the {{{','.join(collisions)}}} HTTP/2 SETTINGS parameter(s) can not be configured"
            " through both named and custom parameters"
        )


def initialize_and_validate_options(options: Any, safe_defaults: bool = True) -> Any:
    """``Http2::Utility::initializeAndValidateOptions``: a copy with every default filled in.

    ``options`` is an ``envoy.config.core.v3.Http2ProtocolOptions``. Raises ``OptionsError``
    where Envoy returns an error status (custom SETTINGS conflicts).
    """
    _validate_custom_settings(options)
    out = type(options)()
    out.CopyFrom(options)
    if not options.HasField("override_stream_error_on_invalid_http_message"):
        out.override_stream_error_on_invalid_http_message.value = (
            options.stream_error_on_invalid_http_messaging
        )
    defaults = SAFE_DEFAULTS if safe_defaults else LEGACY_DEFAULTS
    for name, value in (
        ("hpack_table_size", DEFAULT_HPACK_TABLE_SIZE),
        ("max_concurrent_streams", defaults["max_concurrent_streams"]),
        ("initial_stream_window_size", defaults["initial_stream_window_size"]),
        ("initial_connection_window_size", defaults["initial_connection_window_size"]),
        ("max_outbound_frames", DEFAULT_MAX_OUTBOUND_FRAMES),
        ("max_outbound_control_frames", DEFAULT_MAX_OUTBOUND_CONTROL_FRAMES),
        (
            "max_consecutive_inbound_frames_with_empty_payload",
            DEFAULT_MAX_CONSECUTIVE_INBOUND_FRAMES_WITH_EMPTY_PAYLOAD,
        ),
        (
            "max_inbound_priority_frames_per_stream",
            DEFAULT_MAX_INBOUND_PRIORITY_FRAMES_PER_STREAM,
        ),
        (
            "max_inbound_window_update_frames_per_data_frame_sent",
            DEFAULT_MAX_INBOUND_WINDOW_UPDATE_FRAMES_PER_DATA_FRAME_SENT,
        ),
    ):
        if not options.HasField(name):
            getattr(out, name).value = value
    return out


_LONGEST_EXACT = 4000  # significant digits int() converts (Python refuses over 4,300)


def decimal_value(digits: bytes | str) -> int:
    """The value of a string of ASCII decimal digits, however long: a header may carry
    thousands (``content-length: 000...0``), and ``int()`` raises on over 4,300 of them,
    leading zeros included. Leading zeros are stripped; a value of more significant digits
    than ``_LONGEST_EXACT`` is returned as ``10**_LONGEST_EXACT`` (past any real limit)."""
    raw = digits.encode("ascii") if isinstance(digits, str) else digits
    significant = raw.lstrip(b"0")
    if len(significant) > _LONGEST_EXACT:
        return 10**_LONGEST_EXACT
    return int(significant or b"0")
