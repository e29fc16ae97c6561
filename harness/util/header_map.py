"""An Envoy-like request header map (source/common/http/header_map_impl.cc) on bytes.

What it keeps from Envoy's ``RequestHeaderMapImpl``:

* keys are lower-cased (ASCII, ``LowerCaseString``); entries iterate in insertion order,
  except that pseudo-headers (``:``-prefixed) are inserted after the last pseudo-header,
  so they always come first;
* *inline* (O(1)) headers such as ``:path``, ``:authority``, ``x-forwarded-for`` or
  ``content-length`` exist at most once: adding one that exists appends the new value to the
  existing entry with ``,`` (nothing when the new value is empty);
* ``append_copy`` appends to the first entry of the key with ``,`` (``; `` for ``cookie``)
  or adds an entry; ``set_*`` removes every entry of the key and then adds one;
* ``byte_size`` is the sum of key and value lengths, maintained incrementally as Envoy does;
* ``remove`` drops every entry of a key, ``remove_prefix`` every entry whose key starts with
  the (lower-cased) prefix.

Custom inline headers that Envoy extensions register at start-up are not modelled (the
header-map fuzz binary links none); they only change where values coalesce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

# INLINE_REQ_HEADERS + INLINE_REQ_RESP_HEADERS of envoy/http/header_map.h, by wire name.
REQUEST_INLINE_HEADERS = frozenset(
    {
        b"x-client-trace-id",
        b"x-envoy-downstream-service-cluster",
        b"x-envoy-downstream-service-node",
        b"x-envoy-external-address",
        b"x-envoy-force-trace",
        b"x-envoy-hedge-on-per-try-timeout",
        b"x-envoy-internal",
        b"x-envoy-ip-tags",
        b"x-envoy-retry-on",
        b"x-envoy-retry-grpc-on",
        b"x-envoy-retriable-status-codes",
        b"x-envoy-retriable-header-names",
        b"x-envoy-original-path",
        b"x-envoy-original-url",
        b"x-envoy-upstream-alt-stat-name",
        b"x-envoy-upstream-rq-timeout-alt-response",
        b"expect",
        b"x-forwarded-client-cert",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"grpc-timeout",
        b":authority",
        b":method",
        b":path",
        b":protocol",
        b":scheme",
        b"te",
        b"user-agent",
        b"x-envoy-expected-rq-timeout-ms",
        b"x-envoy-max-retries",
        b"x-envoy-upstream-rq-timeout-ms",
        b"x-envoy-upstream-rq-per-try-timeout-ms",
        b"x-envoy-upstream-stream-duration-ms",
        b"connection",
        b"content-type",
        b"x-envoy-decorator-operation",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-status",
        b"x-request-id",
        b"transfer-encoding",
        b"upgrade",
        b"via",
        b"content-length",
        b"x-envoy-attempt-count",
    }
)

COOKIE = b"cookie"


def replace_invalid_characters(data: bytes) -> bytes:
    """test/fuzz/utility.h replaceInvalidCharacters: NUL, CR and LF become spaces."""
    if 0 in data or 13 in data or 10 in data:
        return data.replace(b"\x00", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
    return data


class HeaderMap:
    """A request header map with Envoy's ordering, coalescing and size accounting."""

    __slots__ = ("_byte_size", "_entries", "inline_headers")

    def __init__(self, inline_headers: frozenset[bytes] = REQUEST_INLINE_HEADERS) -> None:
        # (key, value) tuples: iteration can hand them out without copying.
        self._entries: list[tuple[bytes, bytes]] = []
        self._byte_size = 0
        self.inline_headers = inline_headers

    # --- reading ---

    def size(self) -> int:
        return len(self._entries)

    def byte_size(self) -> int:
        return self._byte_size

    def empty(self) -> bool:
        return not self._entries

    def get(self, key: bytes) -> list[bytes]:
        """All values of ``key`` in order (``HeaderMap::get`` returns every entry)."""
        key = key.lower()
        return [v for k, v in self._entries if k == key]

    def get_value(self, key: bytes) -> bytes | None:
        """The first value of ``key`` (what ``getXxxValue()`` of an inline header returns)."""
        key = key.lower()
        for k, v in self._entries:
            if k == key:
                return v
        return None

    def iterate(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self._entries)

    def iterate_reverse(self) -> Iterator[tuple[bytes, bytes]]:
        return reversed(self._entries)

    def items(self) -> list[tuple[bytes, bytes]]:
        return list(self._entries)

    def copy(self) -> HeaderMap:
        """``createHeaderMap<RequestHeaderMapImpl>(other)``: same entries, same order."""
        other = HeaderMap(self.inline_headers)
        other._entries = list(self._entries)
        other._byte_size = self._byte_size
        return other

    # --- adding ---

    def _find(self, key: bytes) -> int:
        """Index of the first entry of ``key``, or -1."""
        for i, (k, _) in enumerate(self._entries):
            if k == key:
                return i
        return -1

    def _insert(self, key: bytes, value: bytes) -> None:
        """HeaderList::insert: pseudo-headers go after the last pseudo-header."""
        entries = self._entries
        if key[:1] == b":":
            i = 0
            while i < len(entries) and entries[i][0][:1] == b":":
                i += 1
            entries.insert(i, (key, value))
        else:
            entries.append((key, value))
        self._byte_size += len(key) + len(value)

    def _append_to(self, index: int, data: bytes, delimiter: bytes = b",") -> None:
        """appendToHeader: nothing for empty data; the delimiter only if the value is set."""
        if not data:
            return
        key, value = self._entries[index]
        if value:
            data = delimiter + data
        self._entries[index] = (key, value + data)
        self._byte_size += len(data)

    def add_copy(self, key: bytes, value: bytes | int) -> None:
        """addCopy / addReference / addReferenceKey / addViaMove (integers as decimal)."""
        key = key.lower()
        if isinstance(value, int):
            value = b"%d" % value
        if key in self.inline_headers:
            existing = self._find(key)
            if existing >= 0:
                self._append_to(existing, value)
                return
        self._insert(key, value)

    add_reference = add_copy
    add_reference_key = add_copy
    add_via_move = add_copy

    def set_inline(self, key: bytes, value: bytes) -> None:
        """An inline setter such as ``setPath``: replace the value in place, or add."""
        key = key.lower()
        existing = self._find(key)
        if existing < 0:
            self._insert(key, value)
        else:
            self._byte_size += len(value) - len(self._entries[existing][1])
            self._entries[existing] = (key, value)

    def append_copy(self, key: bytes, value: bytes) -> None:
        """appendCopy: append to the first entry of ``key`` or add one."""
        key = key.lower()
        existing = self._find(key)
        if existing < 0:
            self.add_copy(key, value)
        else:
            self._append_to(existing, value, b"; " if key == COOKIE else b",")

    def set_copy(self, key: bytes, value: bytes | int) -> None:
        """setCopy / setReference / setReferenceKey: remove every entry, then add."""
        self.remove(key)
        self.add_copy(key, value)

    set_reference = set_copy
    set_reference_key = set_copy

    # --- removing ---

    def remove(self, key: bytes) -> int:
        key = key.lower()
        return self._remove_if(lambda k: k == key)

    def remove_prefix(self, prefix: bytes) -> int:
        prefix = prefix.lower()
        return self._remove_if(lambda k: k.startswith(prefix))

    def _remove_if(self, predicate: Callable[[bytes], bool]) -> int:
        kept = []
        removed = 0
        for key, value in self._entries:
            if predicate(key):
                self._byte_size -= len(key) + len(value)
                removed += 1
            else:
                kept.append((key, value))
        if removed:
            self._entries = kept
        return removed
