"""Run functions of the utility fuzz targets, calling the functions as Envoy's fuzz tests do.

* ``string_utility`` — test/common/common/utility_fuzz_test.cc (raw bytes)
* ``base64`` — test/common/common/base64_fuzz_test.cc (raw bytes)
* ``http_utility`` — test/common/http/utility_fuzz_test.cc (UtilityTestCase)
* ``path_utility`` — test/common/http/path_utility_fuzz_test.cc (PathUtilityTestCase)
* ``header_map`` — test/common/http/header_map_impl_fuzz_test.cc (HeaderMapImplFuzzTestCase)

Each returns None for any input it handles and raises ``InvariantViolation`` when an oracle
(round-trip, idempotence, header-map consistency, differential against a second
implementation) fails.
"""

from __future__ import annotations

import binascii
from typing import Any

from harness.oracle import check
from harness.util import http, path, strings
from harness.util.base64 import Base64, Base64Url, legacy_decode
from harness.util.header_map import HeaderMap, replace_invalid_characters

MAX_HEADER_MAP_ACTIONS = 128  # header_map_impl_fuzz_test's max_actions
_ESCAPED = b'\r\n\t"'
_WS = frozenset(strings.WHITESPACE)


# --- string_utility ------------------------------------------------------------------------


def run_string_utility(data: bytes) -> None:
    n = len(data)
    value = strings.atoull(data)
    if data.isdigit():  # plain decimal (no sign, space or NUL): must agree with int()
        expected = int(data)
        check(
            value == (expected if expected <= strings.UINT64_MAX else None),
            f"atoull({data[:40]!r}) = {value}",
        )
    elif value is not None:
        check(0 <= value <= strings.UINT64_MAX, "atoull out of range")

    escaped = strings.escape(data)
    check(
        len(escaped) == n + sum(data.count(c) for c in _ESCAPED)
        and b"\r" not in escaped
        and b"\n" not in escaped
        and b"\t" not in escaped,
        "escape left a raw control or miscounted",
    )

    upper = strings.to_upper(data)
    check(
        len(upper) == n and upper.lower() == data.lower() and strings.to_upper(upper) == upper,
        "toUpper is not an ASCII case mapping",
    )

    trimmed = strings.trim(data)
    left, right = strings.ltrim(data), strings.rtrim(data)
    check(
        trimmed == strings.rtrim(left) == strings.ltrim(right)
        and data.endswith(left)
        and data.startswith(right)
        and (not trimmed or (trimmed[0] not in _WS and trimmed[-1] not in _WS))
        and trimmed in data,
        "trim/ltrim/rtrim disagree",
    )

    if n == 0:
        return
    split = data[0] % n
    a, b = data[:split], data[split:]
    check(
        strings.ends_with(a, b) == (len(b) <= len(a) and a[len(a) - len(b) :] == b),
        "endsWith",
    )
    check(
        strings.case_compare(a, a.swapcase())
        and (not strings.case_compare(a, b) or len(a) == n // 2),
        "caseCompare",
    )
    cropped_right, cropped_left = strings.crop_right(a, b), strings.crop_left(a, b)
    if b in a:
        check(cropped_right + b + cropped_left == a, "cropRight + delimiter + cropLeft != source")
    else:
        check(cropped_right == a == cropped_left, "crop changed a source without the delimiter")

    # findToken with an always-empty delimiter set: absl splits between every character.
    split2 = data[1] % n if n > 1 else 0
    s1, s3 = data[: min(split, split2)], data[max(split, split2) :]
    trim_ws = bool(split & 1)
    found = strings.find_token(s1, b"", s3, trim_ws)
    if trim_ws:
        has_ws = len(s1.translate(None, strings.WHITESPACE)) != len(s1)
        expected_found = (not s3 and (not s1 or has_ws)) or (
            len(s3) == 1 and s3[0] not in _WS and s3 in s1
        )
    else:
        expected_found = len(s3) == 1 and s3 in s1
    check(found == expected_found, f"findToken({s1[:20]!r}, '', {s3[:20]!r}, {trim_ws})")


# --- base64 --------------------------------------------------------------------------------


def run_base64(data: bytes) -> None:
    # Encoding round-trips through both decoders.
    encoded = Base64.encode(data)
    check(len(encoded) == (len(data) + 2) // 3 * 4, "Base64::encode length")
    check(Base64.decode(encoded) == data, "Base64 decode(encode(x)) != x")
    url = Base64Url.encode(data)
    check(b"=" not in url and b"+" not in url and b"/" not in url, "Base64Url::encode alphabet")
    check(Base64Url.decode(url) == data, "Base64Url decode(encode(x)) != x")

    # The input as an encoded string: new (absl-based) and legacy (table) decoders must agree,
    # and a strict decoder only accepts the canonical encoding of what it returns.
    legacy = legacy_decode(data, padded=False)  # Base64::decode adds only the len % 4 gate
    decoded = Base64.decode(data)
    check(
        decoded == (legacy if len(data) % 4 == 0 else b""),
        "Base64::decode differs from the legacy decoder",
    )
    if decoded:
        check(Base64.encode(decoded) == data, "Base64::decode accepted a non-canonical input")
        check(binascii.a2b_base64(data, strict_mode=True) == decoded, "python disagrees")
    unpadded = Base64.decode_without_padding(data)
    check(unpadded == legacy, "decodeWithoutPadding differs from the legacy decoder")
    if decoded:
        check(unpadded == decoded, "decodeWithoutPadding != decode on padded input")
    if unpadded:
        check(
            Base64.encode(unpadded).rstrip(b"=") == data.rstrip(b"="),
            "decodeWithoutPadding accepted a non-canonical input",
        )
    url_decoded = Base64Url.decode(data)
    check(url_decoded == legacy_decode(data, url=True), "Base64Url::decode differs from legacy")
    if url_decoded:
        check(Base64Url.encode(url_decoded) == data, "Base64Url accepted a non-canonical input")


# --- http_utility --------------------------------------------------------------------------


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _check_params(query: bytes, params: http.QueryParams) -> None:
    pieces = query.split(b"&")
    if pieces[-1] == b"":
        pieces.pop()  # the loop stops when the last '&' is the final byte
    check(len(params) == len(pieces), f"parseParameters gave {len(params)} of {len(pieces)}")
    for (name, value), piece in zip(params, pieces, strict=True):
        check(b"=" not in name and piece.startswith(name), "parameter name")
        check(piece == name + b"=" + value or (piece == name and not value), "parameter value")


def run_http_utility(msg: Any) -> None:
    which = msg.WhichOneof("utility_selector")
    if which == "parse_query_string":
        url = _b(msg.parse_query_string)
        params = http.parse_query_string(url)
        q = url.find(b"?")
        if q < 0:
            check(params == [], "query parameters without '?'")
        else:
            _check_params(url[q + 1 :], params)
        decoded_params = http.parse_and_decode_query_string(url)
        check(
            decoded_params == [(http.percent_decode(k), http.percent_decode(v)) for k, v in params],
            "parseAndDecodeQueryString != decode(parseQueryString)",
        )
    elif which == "parse_cookie_value":
        cookies = [replace_invalid_characters(_b(c)) for c in msg.parse_cookie_value.cookies]
        value = http.parse_cookie_value(cookies, _b(msg.parse_cookie_value.key))
        check(b";" not in value, "cookie value crosses a ';'")
        check(not value or any(value in c for c in cookies), "cookie value not in any header")
    elif which == "get_last_address_from_xff":
        xff = replace_invalid_characters(_b(msg.get_last_address_from_xff.xff))
        skip = msg.get_last_address_from_xff.num_to_skip % 32  # as Envoy's test does
        address, single = http.get_last_address_from_xff(xff, skip)
        if address is not None:
            check(http.parse_internet_address(_b(address)) == address, "address not canonical")
        check(not single or (address is not None and b"," not in xff and skip == 0), "single")
    elif which == "extract_host_path_from_uri":
        uri = _b(msg.extract_host_path_from_uri)
        scheme, host, upath = http.extract_scheme_host_path_from_uri(uri)
        check(upath.startswith(b"/") and b"/" not in host, "host/path split")
        prefix = scheme + b"://" if b"://" in uri else b""
        rebuilt = prefix + host + (upath if uri.find(b"/", len(prefix)) >= 0 else b"")
        check(rebuilt == uri, f"scheme/host/path do not rebuild {uri[:60]!r}")
    elif which == "percent_encoding_string":
        value = _b(msg.percent_encoding_string)
        encoded = http.percent_encode(value)
        check(all(0x20 <= c < 0x7E for c in encoded), "percent-encoded output not printable")
        check(http.percent_decode(encoded) == value, "decode(encode(x)) != x")
    elif which == "percent_decoding_string":
        value = _b(msg.percent_decoding_string)
        decoded = http.percent_decode(value)
        check(len(decoded) <= len(value), "decoding grew the input")
        check(b"%" in value or decoded == value, "decoding changed an input without '%'")
        check(http.percent_decode(http.percent_encode(decoded)) == decoded, "round trip")
    elif which == "parse_parameters":
        data = _b(msg.parse_parameters.data)
        start = msg.parse_parameters.start
        params = http.parse_parameters(data, start)
        if start < len(data):
            _check_params(data[start:], params)
        else:
            check(params == [], "parameters past the end")
    elif which == "find_query_string":
        value = _b(msg.find_query_string)
        if b"\x00" in value or b"\r" in value or b"\n" in value:
            return  # PGV HTTP_HEADER_VALUE (non-strict) rejects these; Envoy skips the input
        query = http.find_query_string_start(value)
        check(query == b"" or query[0] == 0x3F, "query string does not start with '?'")
        check(http.strip_query_string(value) + query == value, "strip + query != path")
    elif which == "make_set_cookie_value":
        c = msg.make_set_cookie_value
        key, value, cpath = _b(c.key), _b(c.value), _b(c.path)
        out = http.make_set_cookie_value(key, value, cpath, c.max_age, c.httponly)
        prefix = key + b'="' + value + b'"'
        check(out.startswith(prefix), "Set-Cookie name/value")
        rest = out[len(prefix) :]
        check(rest.startswith(b"; Max-Age=") == (c.max_age != 0), "Max-Age presence")
        check(not c.max_age or rest.startswith(b"; Max-Age=%d" % c.max_age), "Max-Age value")
        check(not c.httponly or out.endswith(b"; HttpOnly"), "HttpOnly attribute missing")
        if b";" not in key + value and b"=" not in key:
            parsed = http.for_each_cookie([out])
            check(parsed[:1] == [(key.lstrip(b" "), value)], "Set-Cookie does not parse back")
    elif which == "parse_authority_string":
        host = _b(msg.parse_authority_string)
        attrs = http.parse_authority(host)
        check(attrs.host in host, "authority host not taken from the input")
        if attrs.port is not None:
            colon = host.rfind(b":")
            check(http.simple_atoi_u64(host[colon + 1 :]) == attrs.port <= 65535, "port")
            check(attrs.is_ip_address or attrs.host == host[:colon], "host is not before ':'")
        if attrs.is_ip_address:
            check(http.parse_internet_address(attrs.host) is not None, "is_ip for a non-IP")
    elif which == "initialize_and_validate":
        _run_initialize_and_validate(msg.initialize_and_validate)


def _run_initialize_and_validate(options: Any) -> None:
    if http.pgv_violations(options):
        return  # Envoy's test validates first and skips invalid inputs
    try:
        out = http.initialize_and_validate_options(options)
    except http.OptionsError:
        return
    for name, (low, high) in (
        ("max_concurrent_streams", (1, http.MAX_MAX_CONCURRENT_STREAMS)),
        ("initial_stream_window_size", (65535, http.MAX_INITIAL_WINDOW_SIZE)),
        ("initial_connection_window_size", (65535, http.MAX_INITIAL_WINDOW_SIZE)),
    ):
        check(out.HasField(name), f"{name} not defaulted")
        check(low <= getattr(out, name).value <= high, f"{name} out of range")
        if options.HasField(name):
            check(getattr(out, name).value == getattr(options, name).value, f"{name} changed")
    check(
        out.HasField("hpack_table_size")
        and out.HasField("override_stream_error_on_invalid_http_message"),
        "hpack_table_size / override_stream_error not defaulted",
    )
    if not options.custom_settings_parameters:
        check(http.initialize_and_validate_options(out) == out, "not idempotent")


# --- path_utility --------------------------------------------------------------------------


def from_headers(headers: Any, include: tuple[bytes, ...] = ()) -> HeaderMap:
    """test/fuzz/utility.h fromHeaders: sanitized copies; missing ``include`` get "dummy"."""
    header_map = HeaderMap()
    missing = set(include)
    for h in headers.headers:
        key = _b(h.key)
        header_map.add_copy(
            replace_invalid_characters(key) if key else b"not-empty",
            replace_invalid_characters(_b(h.value)),
        )
        missing.discard(key.lower())
    for key in include:
        if key in missing:
            header_map.add_copy(key, b"dummy")
    return header_map


_HEADER_VALUE_INVALID = (b"\x00", b"\r", b"\n")
MAX_HEADER_BYTES = 16384


def headers_pass_pgv(headers: Any) -> bool:
    """The PGV rules of envoy.config.core.v3.HeaderValue (key: 1..16384 bytes, value:
    <= 16384 bytes, neither with NUL/CR/LF); path_utility_fuzz_test skips other inputs."""
    for h in headers.headers:
        key, value = _b(h.key), _b(h.value)
        if not key or len(key) > MAX_HEADER_BYTES or len(value) > MAX_HEADER_BYTES:
            return False
        if any(c in key or c in value for c in _HEADER_VALUE_INVALID):
            return False
    return True


def run_path_utility(msg: Any) -> None:
    which = msg.WhichOneof("path_utility_selector")
    if which == "remove_query_and_fragment":
        p = _b(msg.remove_query_and_fragment.path)
        r = path.remove_query_and_fragment(p)
        check(p.startswith(r) and b"?" not in r and b"#" not in r, "removeQueryAndFragment")
        check(len(r) == len(p) or p[len(r)] in b"?#", "cut at the wrong place")
        return
    if which not in ("canonical_path", "merge_slashes"):
        return
    if not headers_pass_pgv(getattr(msg, which).request_headers):
        return  # TestUtility::validate(input) fails: Envoy's test returns early
    headers = from_headers(getattr(msg, which).request_headers, include=(b":path",))
    original = headers.get_value(b":path")
    check(original is not None, ":path missing after fromHeaders")
    assert original is not None
    if which == "canonical_path":
        normalized = path.canonical_path(original)
        if normalized is None:
            # Envoy rejects the request (canonicalPath returns false); the test still
            # asserts a non-empty :path afterwards.
            check(original != b"", "canonicalPath failed on an empty path")
            return
        headers.set_inline(b":path", normalized)
        check(normalized.startswith(b"/"), "canonical path does not start with '/'")  # non-empty
        check(path.canonical_path(normalized) == normalized, "canonicalPath is not idempotent")
        head = normalized.split(b"?", 1)[0]
        check(
            all(seg not in (b".", b"..") for seg in head.split(b"/")),
            "dot segment left in a canonical path",
        )
        q = original.find(b"?")
        check(q < 0 or normalized.endswith(original[q:]), "query string changed")
    else:
        merged = path.merge_slashes(original)
        headers.set_inline(b":path", merged)
        check(path.merge_slashes(merged) == merged, "mergeSlashes is not idempotent")
        head, sep, query = merged.partition(b"?")
        # An all-slash path becomes "//" in Envoy (prefix "/" + nothing + suffix "/").
        check(b"//" not in head or head == b"//", "mergeSlashes left '//'")
        check(original.partition(b"?")[1:] == (sep, query), "query string changed")
        check(
            [s for s in head.split(b"/") if s]
            == [s for s in original.partition(b"?")[0].split(b"/") if s],
            "mergeSlashes changed a segment",
        )
    check(headers.get_value(b":path") is not None, ":path lost")
    _check_header_map(headers)


# --- header_map ----------------------------------------------------------------------------


def _check_header_map(headers: HeaderMap) -> None:
    """After every action: size/byteSize match iteration; iterateReverse mirrors iterate;
    keys lower-case; pseudo-headers first; inline headers at most once.

    Whole-list operations only: this runs after each of up to 128 actions. Keys never hold
    a newline here (replaceInvalidCharacters), so newline-joined keys can be searched."""
    entries = list(headers.iterate())
    check(headers.size() == len(entries), "size() != number of iterated entries")
    check(list(headers.iterate_reverse()) == entries[::-1], "iterateReverse != reversed(iterate)")
    if not entries:
        check(headers.byte_size() == 0, "byteSize() of an empty map")
        return
    keys, values = zip(*entries, strict=True)
    check(
        headers.byte_size() == sum(map(len, keys)) + sum(map(len, values)),
        "byteSize() != sum of key and value sizes",
    )
    joined = b"\n" + b"\n".join(keys)
    check(joined == joined.lower(), "a key is not lower-case")
    pseudo = joined.count(b"\n:")
    check(
        (b"\n" + b"\n".join(keys[:pseudo])).count(b"\n:") == pseudo,
        "pseudo-header after a regular header",
    )
    inline = [k for k in keys if k in headers.inline_headers]
    check(len(inline) == len(set(inline)), "an inline header is present twice")


def _ric(text: str) -> bytes:
    return replace_invalid_characters(text.encode("utf-8"))


def run_header_map(msg: Any) -> None:
    headers = HeaderMap()
    for action in msg.actions[:MAX_HEADER_MAP_ACTIONS]:
        which = action.WhichOneof("action_selector")
        if which == "add_reference":
            headers.add_reference(_ric(action.add_reference.key), _ric(action.add_reference.value))
        elif which in ("add_reference_key", "add_copy"):
            a = getattr(action, which)
            selected = a.WhichOneof("value_selector")
            if selected == "string_value":
                headers.add_copy(_ric(a.key), _ric(a.string_value))
            elif selected == "uint64_value":
                headers.add_copy(_ric(a.key), a.uint64_value)
        elif which in ("set_reference", "set_reference_key"):
            a = getattr(action, which)
            key, value = _ric(a.key), _ric(a.value)
            headers.set_reference(key, value)
            check(headers.get(key) == [value], "set did not leave exactly the new value")
        elif which == "get" or which == "lookup":
            key = _ric(action.get.key if which == "get" else action.lookup).lower()
            check(
                headers.get(key) == [v for k, v in headers.iterate() if k == key],
                "get() disagrees with iterate()",
            )
        elif which == "mutate_and_move":
            _mutate_and_move(headers, action.mutate_and_move)
        elif which == "append":
            key, value = _ric(action.append.key), _ric(action.append.value)
            before = headers.get(key)
            headers.append_copy(key, value)
            after = headers.get(key)
            check(len(after) == max(1, len(before)), "appendCopy changed the entry count")
            check(not before or after[0].endswith(value), "appendCopy lost the value")
        elif which == "copy":
            copied = headers.copy()
            check(copied.items() == headers.items(), "copy differs")
            headers = copied
        elif which == "remove":
            key = _ric(action.remove).lower()
            headers.remove(key)
            check(not headers.get(key), "remove left an entry")
        elif which == "remove_prefix":
            prefix = _ric(action.remove_prefix).lower()
            headers.remove_prefix(prefix)
            check(all(not k.startswith(prefix) for k, _ in headers.iterate()), "removePrefix")
        # get_and_mutate is a deprecated no-op in Envoy's newest test.
        _check_header_map(headers)


def _mutate_and_move(headers: HeaderMap, m: Any) -> None:
    selected = m.WhichOneof("mutate_selector")
    value: bytes | int
    if selected == "set_integer":
        value = m.set_integer
    elif selected in ("append", "set_copy", "set_reference"):
        value = _ric(getattr(m, selected))
    else:
        value = b""
    if value == b"":
        return  # Envoy cannot addViaMove an empty value
    headers.add_via_move(_ric(m.key), value)
