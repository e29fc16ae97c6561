"""Structure-aware mutation of text-format protobuf testcases (atheris custom_mutator/crossover).

A mutation parses the testcase, changes the message tree in one or two places, and writes it
back as text, so every output is a well-formed testcase for the target (libprotobuf-mutator does
the same for Envoy's C++ fuzzers; its Python binding does not build here). Mutations:

* repeated fields: insert (fresh or copied element), delete, duplicate, swap two elements;
* singular fields: set an unset field (which switches a oneof's case), clear a set one;
* scalars: integers towards boundaries, deltas and bit flips; enums to another value; bools
  flipped; strings and bytes through libFuzzer's own byte mutator (``atheris.Mutate``, so
  dictionary entries and recorded comparison operands are used);
* crossover: a sub-message of the other testcase replaces or joins one of the same type.

``google.protobuf.Any`` values of a known type (``typed_config`` of Envoy's filters) are
unpacked, mutated as messages of that type and packed back, so mutants reach the fields of
the HCM, the router and other extensions; a byte-level change of an Any's bytes would almost
never parse. Any values of unknown types are left as they are.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Iterator
from itertools import accumulate, islice, repeat
from typing import NamedTuple

from google.protobuf import descriptor, message, message_factory

from harness.engine.corpus import is_map_field, parsed_cache, to_text

FD = descriptor.FieldDescriptor
ByteMutator = Callable[[bytes, int], bytes]

_INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 1e300, float("inf"), float("-inf"), float("nan"))
_ANY = "google.protobuf.Any"
_OPAQUE = {_ANY}
ANY_SHARE = 0.3  # of mutations that go inside a packed Any, when the testcase has one
_any_classes: dict[str, type[message.Message] | None] = {}
_MAX_DEPTH = 64  # below libprotobuf-mutator's recursion limit of 100
_SMALL = 16  # sites in a testcase that is walked whole again after a change (cheaper)
INDEX_LIMIT = 2048  # testcases whose sites the mutator keeps (about a corpus' worth)


def python_byte_mutator(data: bytes, max_size: int, rng: random.Random | None = None) -> bytes:
    """A small byte mutator for use outside a libFuzzer run (tests, minimization)."""
    rng = rng or random.Random()
    buf = bytearray(data)
    op = rng.randrange(5)
    if op == 0 and buf:
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif op == 1 and buf:
        del buf[rng.randrange(len(buf))]
    elif op == 2 and buf:
        start = rng.randrange(len(buf))
        chunk = buf[start : start + rng.randint(1, 8)]
        at = rng.randrange(len(buf) + 1)
        buf[at:at] = chunk
    else:
        at = rng.randrange(len(buf) + 1)
        buf[at:at] = bytes([rng.choice(b"\r\n\t :;,/=0123456789-_aAzZ\x00\x7f\xff")])
    return bytes(buf[:max_size])


class ProtoMutator:
    """Mutates and crosses over text-format testcases of one message type."""

    def __init__(self, cls: type[message.Message], byte_mutator: ByteMutator | None = None) -> None:
        self.cls = cls
        self.cache = parsed_cache(cls)
        self._indexes: OrderedDict[bytes, _SiteIndex] = OrderedDict()
        # the last testcase made, its message and sites: libFuzzer stacks mutations, so the
        # next call most often starts from it
        self._last: tuple[bytes, message.Message, _SiteIndex] | None = None
        if byte_mutator is None:
            rng = random.Random(0)
            byte_mutator = lambda data, size: python_byte_mutator(data, size, rng)  # noqa: E731
        self.byte_mutator = byte_mutator
        # libFuzzer's byte mutator belongs to the mutator callback; scalar changes made
        # during crossover use our own, so crossover never re-enters the engine.
        rng_crossover = random.Random(1)
        self._crossover_bytes: ByteMutator = lambda data, size: python_byte_mutator(
            data, size, rng_crossover
        )

    # --- atheris hooks -------------------------------------------------------------------

    def mutate(self, data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        msg, index = self._working_copy(data)
        for _ in range(rng.choice((1, 1, 2, 3))):
            if not (rng.random() < ANY_SHARE and self.mutate_any(msg, rng, index)):
                self.mutate_message(msg, rng, index)
        return self._fit(msg, max_size, rng, data, index)

    def crossover(self, data1: bytes, data2: bytes, max_out: int, seed: int) -> bytes:
        rng = random.Random(seed)
        a, into = self._working_copy(data1)
        donors = self._index(data2).messages  # read only: donors are copied into `a`
        donors = rng.sample(donors, min(8, len(donors)))
        for donor in donors:
            # where in `a` a message of the donor's type can go (singular or repeated fields)
            candidates = into.slots(donor.DESCRIPTOR.full_name)
            if candidates:
                site, fd = rng.choice(candidates)
                msg = into.site(a, site)
                if fd.is_repeated:
                    items = getattr(msg, fd.name)
                    at = rng.randint(0, len(items))
                    _insert_message(items, at, donor)
                    into.inserted(site, fd, at)
                else:
                    getattr(msg, fd.name).CopyFrom(donor)
                    into.changed(site)
                break
        else:
            mutator, self.byte_mutator = self.byte_mutator, self._crossover_bytes
            try:
                self.mutate_message(a, rng, into)
            finally:
                self.byte_mutator = mutator
        return self._fit(a, max_out, rng, data1, into)

    def _working_copy(self, data: bytes) -> tuple[message.Message, _SiteIndex]:
        """A fresh copy of the testcase ``data`` (an empty one if it does not parse) to
        change, and its sites (kept up to date through the changes)."""
        last, self._last = self._last, None
        if last is not None and last[0] == data:
            # the mutant made last (libFuzzer stacks mutations): its message and sites as
            # they are, no parse, copy or walk; the parse cache gives the message up
            self.cache.forget(data)
            return last[1], last[2]
        return self._index(data).copy_indexed()

    def _index(self, data: bytes) -> _SiteIndex:
        """The kept sites of ``data`` (found the first time it is mutated). Mutants made a
        moment ago, which libFuzzer's stacked mutations start from, never come here (see
        ``_working_copy``): what does are corpus entries, mutated and crossed over again and
        again."""
        indexes = self._indexes
        found = indexes.get(data)
        if found is not None:
            indexes.move_to_end(data)
            return found
        msg = self.cache.parse(data) or self.cls()
        found = indexes[data] = _SiteIndex(msg)
        if len(indexes) > INDEX_LIMIT:
            indexes.popitem(last=False)
        return found
        seen = self._seen_once
        key = hash(data)  # (a collision only indexes a testcase early)
        if key not in seen:
            if len(seen) >= INDEX_LIMIT:
                seen.clear()
            seen.add(key)
            return None
        seen.discard(key)
        found = indexes[data] = _SiteIndex(self.cache.parse(data) or self.cls())
        if len(indexes) > INDEX_LIMIT:
            indexes.popitem(last=False)
        return found

    # --- the mutations -------------------------------------------------------------------

    def mutate_message(
        self, root: message.Message, rng: random.Random, index: _SiteIndex | None = None
    ) -> None:
        """Apply one structural or scalar mutation somewhere in ``root`` (``index``: its
        sites, of ``root`` itself, kept up to date here, or of a testcase ``root`` is an
        unchanged copy of)."""
        # uniform over (message, field) sites, without materializing them all
        number = None
        if index is None:
            msgs, weights = _sites(root)
            if not any(weights):
                return
            msg = rng.choices(msgs, weights=weights)[0]
        else:
            index.sync()
            if not index.cum_weights[-1]:
                return
            number = rng.choices(index.sites, cum_weights=index.cum_weights)[0]
            msg = index.site(root, number)
        fd = rng.choice(msg.DESCRIPTOR.fields)
        self._mutate_field(msg, fd, rng)
        # only fields of `msg` changed: messages below it, if the field can hold any (a
        # scalar in a oneof clears the oneof's other fields)
        if (
            number is not None
            and index is not None
            and root is index.root
            and (fd.type == FD.TYPE_MESSAGE or fd.containing_oneof is not None)
        ):
            index.changed(number)

    def _mutate_field(
        self, msg: message.Message, fd: descriptor.FieldDescriptor, rng: random.Random
    ) -> None:
        if is_map_field(fd):
            self._mutate_map(msg, fd, rng)
        elif fd.is_repeated:
            self._mutate_repeated(msg, fd, rng)
        elif fd.type == FD.TYPE_MESSAGE:
            if msg.HasField(fd.name) and rng.random() < 0.15:
                msg.ClearField(fd.name)
            else:
                sub = getattr(msg, fd.name)
                sub.SetInParent()  # sets an unset field; switches the oneof case if in one
                if rng.random() < 0.5:
                    self._fill_one(sub, rng)
        else:
            setattr(msg, fd.name, self._scalar(fd, getattr(msg, fd.name), rng))

    def mutate_any(
        self, root: message.Message, rng: random.Random, index: _SiteIndex | None = None
    ) -> bool:
        """Mutate inside one Any of ``root`` whose type is known; False when there is none
        (``index`` as for ``mutate_message``)."""
        if not _holds_any(root.DESCRIPTOR):
            return False  # what the walk below would find (shuffling nothing draws nothing)
        if index is None:
            packed = [
                m for m in _submessages(root) if m.DESCRIPTOR.full_name == _ANY and m.type_url
            ]
        else:
            index.sync()
            packed = [
                index.site(root, i)
                for i, m in enumerate(index.messages)
                if m.DESCRIPTOR.full_name == _ANY and m.type_url
            ]
        rng.shuffle(packed)
        for any_msg in packed[:4]:
            cls = _any_class(any_msg.type_url)
            if cls is None:
                continue
            inner = cls()
            try:
                inner.ParseFromString(any_msg.value)
            except message.DecodeError:
                continue
            self.mutate_message(inner, rng)
            any_msg.value = inner.SerializeToString()
            return True
        return False

    def _fill_one(self, msg: message.Message, rng: random.Random) -> None:
        fields = msg.DESCRIPTOR.fields
        if not fields or msg.DESCRIPTOR.full_name in _OPAQUE:
            return
        fd = rng.choice(fields)
        if is_map_field(fd):
            self._mutate_map(msg, fd, rng)
        elif fd.is_repeated:
            self._mutate_repeated(msg, fd, rng, insert_only=True)
        elif fd.type == FD.TYPE_MESSAGE:
            getattr(msg, fd.name).SetInParent()
        else:
            setattr(msg, fd.name, self._scalar(fd, _zero(fd), rng))

    def _mutate_repeated(
        self,
        msg: message.Message,
        fd: descriptor.FieldDescriptor,
        rng: random.Random,
        insert_only: bool = False,
    ) -> None:
        items = getattr(msg, fd.name)
        n = len(items)
        op = (
            "insert"
            if insert_only or n == 0
            else rng.choice(("insert", "insert", "delete", "duplicate", "swap", "mutate"))
        )
        is_msg = fd.type == FD.TYPE_MESSAGE
        if op == "insert":
            at = rng.randint(0, n)
            if is_msg:
                new = message_factory.GetMessageClass(fd.message_type)()
                if n and rng.random() < 0.5:
                    new.CopyFrom(items[rng.randrange(n)])
                self._fill_one(new, rng)
                _insert_message(items, at, new)
            else:
                base = items[rng.randrange(n)] if n else _zero(fd)
                items.insert(at, self._scalar(fd, base, rng))
        elif op == "delete":
            del items[rng.randrange(n)]
        elif op == "duplicate":
            i = rng.randrange(n)
            if is_msg:
                _insert_message(items, rng.randint(0, n), items[i])
            else:
                items.insert(rng.randint(0, n), items[i])
        elif op == "swap":
            i, j = rng.randrange(n), rng.randrange(n)
            if is_msg:
                if i != j:
                    lo, hi = min(i, j), max(i, j)
                    upper = items.pop(hi)
                    items.insert(hi - 1, items.pop(lo))
                    items.insert(lo, upper)
            else:
                items[i], items[j] = items[j], items[i]
        elif is_msg:
            self.mutate_message(items[rng.randrange(n)], rng)
        else:
            i = rng.randrange(n)
            items[i] = self._scalar(fd, items[i], rng)

    def _mutate_map(
        self, msg: message.Message, fd: descriptor.FieldDescriptor, rng: random.Random
    ) -> None:
        container = getattr(msg, fd.name)
        key_fd = fd.message_type.fields_by_name["key"]
        value_fd = fd.message_type.fields_by_name["value"]
        keys = sorted(container)  # upb's map order varies per process; seeds must not
        if keys and rng.random() < 0.3:
            del container[rng.choice(keys)]
            return
        key = (
            rng.choice(keys)
            if keys and rng.random() < 0.5
            else self._scalar(key_fd, _zero(key_fd), rng)
        )
        if value_fd.type == FD.TYPE_MESSAGE:
            self._fill_one(container[key], rng)
        else:
            current = container[key] if key in container else _zero(value_fd)
            container[key] = self._scalar(value_fd, current, rng)

    def _scalar(self, fd: descriptor.FieldDescriptor, value: object, rng: random.Random) -> object:
        t = fd.type
        if t == FD.TYPE_BOOL:
            return not value
        if t == FD.TYPE_ENUM:
            numbers = [v.number for v in fd.enum_type.values]
            if rng.random() < 0.9 or fd.enum_type.is_closed:
                return rng.choice(numbers)
            return rng.randint(-1, 2 * max(numbers) + 2)
        if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
            assert isinstance(value, float)
            return rng.choice((*_FLOATS, value * 2, value + 1, -value))
        if t in _INT_RANGES:
            assert isinstance(value, int)
            lo, hi = _INT_RANGES[t]
            return _mutate_int(value, lo, hi, rng)
        if t == FD.TYPE_BYTES:
            assert isinstance(value, bytes)
            return self.byte_mutator(value, max(64, 2 * len(value)))
        assert isinstance(value, str)
        raw = self.byte_mutator(value.encode("utf-8"), max(64, 2 * len(value)))
        return raw.decode("utf-8", "ignore")  # proto3 strings must be valid UTF-8

    def _fit(
        self,
        msg: message.Message,
        max_size: int,
        rng: random.Random,
        fallback: bytes,
        index: _SiteIndex,
    ) -> bytes:
        """Serialize; while too large, drop repeated elements (a quarter of a field at a time).
        ``index``: the sites of ``msg``."""
        out = to_text(msg)
        for _ in range(64):
            if len(out) <= max_size:
                self.cache.remember(out, msg)  # the decoder runs this output next (msg is done)
                self._last = (out, msg, index)
                return out
            index.sync()
            repeated = [
                (number, fd)
                for number, owner in enumerate(index.messages)
                for fd in owner.DESCRIPTOR.fields
                if fd.is_repeated and len(getattr(owner, fd.name))
            ]
            if not repeated:
                break
            number, fd = rng.choice(repeated)
            items = getattr(index.messages[number], fd.name)
            for _ in range(max(1, len(items) // 4)):
                if is_map_field(fd):
                    del items[rng.choice(sorted(items))]
                else:
                    del items[rng.randrange(len(items))]
            if fd.type == FD.TYPE_MESSAGE:
                index.changed(number)
            out = to_text(msg)
        # still too large (one huge scalar): keep the input if it fits, else an empty testcase
        if len(fallback) <= max_size and self.cache.parse(fallback) is not None:
            return fallback
        return to_text(self.cls())[:max_size]


def _any_class(type_url: str) -> type[message.Message] | None:
    """The class of an Any's payload by its type URL (None when no schema defines it)."""
    if type_url not in _any_classes:
        from harness.errors import UserError
        from harness.proto import message_class

        try:
            _any_classes[type_url] = message_class(type_url.rpartition("/")[2])
        except UserError:
            _any_classes[type_url] = None
    return _any_classes[type_url]


def _zero(fd: descriptor.FieldDescriptor) -> object:
    """The zero value of a scalar field (``default_value`` is ``[]`` for repeated ones)."""
    if fd.type == FD.TYPE_ENUM:
        return fd.enum_type.values[0].number
    if fd.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 0.0
    if fd.type == FD.TYPE_BOOL:
        return False
    if fd.type == FD.TYPE_STRING:
        return ""
    if fd.type == FD.TYPE_BYTES:
        return b""
    return 0


class _Shape(NamedTuple):
    """What the mutator needs to know of a message type."""

    weight: int  # mutation sites in a message of this type: its fields
    # where its sub-messages are: field -> (name, kind, weight of the field's type when that
    # type is a leaf - it holds no messages - else 0); a walk reads them off ListFields, which
    # lists the set fields only, in field-number order
    children: dict[descriptor.FieldDescriptor, tuple[str, int, int]]
    # where a message can be put (crossover), by the type it takes: message fields other
    # than maps (field-less types excluded: no donor is of one)
    slots: dict[str, tuple[descriptor.FieldDescriptor, ...]]


_SINGULAR, _REPEATED, _MAP = 0, 1, 2
_shapes: dict[descriptor.Descriptor, _Shape] = {}
# type name -> the types with a field that takes it, and those fields (crossover); made from
# the shapes, which every site's type has once a walk passed it (leaf types hold no slots)
_slot_holders: dict[str, dict[descriptor.Descriptor, tuple[descriptor.FieldDescriptor, ...]]] = {}


def _shape(desc: descriptor.Descriptor) -> _Shape:
    found = _shapes.get(desc)
    if found is None:  # (once per type)
        held = list(_message_fields(desc))
        children = {} if desc.full_name in _OPAQUE else {
            fd: (fd.name, kind, 0 if _holds_sites(sub) else len(sub.fields))
            for fd, kind, sub in held
        }  # fmt: skip
        slots: dict[str, tuple[descriptor.FieldDescriptor, ...]] = {}
        for fd, kind, sub in held:
            if kind != _MAP:
                slots[sub.full_name] = (*slots.get(sub.full_name, ()), fd)
        found = _shapes[desc] = _Shape(len(desc.fields), children, slots)
        _slot_holders.clear()  # (a new type may hold slots)
    return found


def _message_fields(
    desc: descriptor.Descriptor,
) -> Iterator[tuple[descriptor.FieldDescriptor, int, descriptor.Descriptor]]:
    """The fields of ``desc`` that hold messages with fields of their own (Empty-like types
    are neither sites nor holders of any), as (field, kind, message type); a map counts when
    its values are messages."""
    for fd in desc.fields:
        if fd.type != FD.TYPE_MESSAGE:
            continue
        if is_map_field(fd):
            kind, sub = _MAP, fd.message_type.fields_by_name["value"].message_type
        else:
            kind, sub = (_REPEATED if fd.is_repeated else _SINGULAR), fd.message_type
        if sub is not None and sub.fields:
            yield fd, kind, sub


def _holds_sites(desc: descriptor.Descriptor) -> bool:
    """Whether a message of this type can hold sub-messages that are mutation sites."""
    return desc.full_name not in _OPAQUE and any(True for _ in _message_fields(desc))


# How a site hangs below an earlier one: (its site number, field name, kind, index or key).
_Link = tuple[int, str, int, object]


def _sites(
    root: message.Message,
    links: list[_Link | None] | None = None,
    depth: int = 0,
    base: int = 0,
) -> tuple[list[message.Message], list[int]]:
    """``root`` and every message below it (set fields only; Any payloads and messages of
    field-less types excluded), with their weights as mutation sites (field counts); with
    ``links``, each one's link to the site it hangs below (None for ``root``) is appended to
    it, in the same order. ``depth``: that of ``root`` in its testcase; ``base``: the site
    number of ``root`` there (where the links count from)."""
    found: list[message.Message] = []
    weights: list[int] = []
    linked = links is not None
    shapes = _shapes
    no_link = repeat(None)
    stack: list[tuple[message.Message, int, _Link | None]] = [(root, depth, None)]
    while stack:
        msg, depth, link = stack.pop()
        desc = msg.DESCRIPTOR
        shape = shapes.get(desc) or _shape(desc)
        here = len(found) + base
        found.append(msg)
        weights.append(shape.weight)
        if links is not None:
            links.append(link)
        if not shape.children or depth >= _MAX_DEPTH:
            continue
        below: list[message.Message] = []
        below_links: list[_Link] = []
        children = shape.children
        for fd, value in msg.ListFields():  # set fields only: no HasField per unset field
            child = children.get(fd)
            if child is None:
                continue  # a scalar, or a message type that holds no sites
            name, kind, leaf_weight = child
            if kind == _REPEATED:
                items = list(value)
                at: list[object] | range = range(len(items))
            elif kind == _SINGULAR:
                items, at = [value], [None]
            else:
                at = sorted(value)  # (upb's map order varies)
                items = [value[key] for key in at]
            if leaf_weight:  # nothing below them: no need to visit them one by one
                found.extend(items)
                weights.extend([leaf_weight] * len(items))
                if links is not None:
                    links.extend((here, name, kind, i) for i in at)
            else:
                below.extend(items)
                if linked:
                    below_links.extend((here, name, kind, i) for i in at)
        stack.extend(
            zip(reversed(below), repeat(depth + 1), reversed(below_links) if linked else no_link)
        )
    return found, weights


def _subtree_sizes(links: list[_Link | None], base: int = 0) -> list[int]:
    """How many sites each site's subtree holds (itself included), from the links of a walk
    numbered from ``base`` (a site's parent comes before it)."""
    sizes = [1] * len(links)
    for number in range(len(links) - 1, 0, -1):
        link = links[number]
        assert link is not None
        sizes[link[0] - base] += sizes[number]
    return sizes


class _SiteIndex:
    """The mutation sites of one testcase in walk order (``_sites``): their messages, weights
    and links, and how many sites each one's subtree holds.

    libFuzzer hands the same corpus entry to the mutator many times, and walking a testcase
    of many events for its sites was a quarter of h2_capture's time (profiled): a kept index
    is found once per corpus entry, and its copies find their sites by its links. It also
    stacks mutations, each on the last one's output: the index of a testcase being changed
    follows its changes (the subtree of the site that changed is walked again, when the
    index is next read), so the next mutation of the output needs no walk at all."""

    __slots__ = (
        "_changed",
        "_shared",
        "_slots",
        "cum_weights",
        "links",
        "messages",
        "root",
        "sites",
        "sizes",
        "weights",
    )

    def __init__(self, root: message.Message, kept: bool = True) -> None:
        """``kept``: with links, so that copies of ``root`` can be indexed from it and it can
        follow changes to ``root`` (else read only)."""
        self.root = root
        self.links: list[_Link | None] = []
        self.messages, self.weights = _sites(root, self.links if kept else None)
        self.sizes: list[int] | None = None  # found when first needed
        self._shared = False
        self._changed: int | None = None  # a site whose subtree changed since the walk
        self.sites = range(len(self.messages))
        self.cum_weights = list(accumulate(self.weights))
        self._slots: dict[str, list[tuple[int, descriptor.FieldDescriptor]]] = {}

    def copy(self) -> message.Message:
        msg = type(self.root)()
        msg.CopyFrom(self.root)
        return msg

    def copy_indexed(self) -> tuple[message.Message, _SiteIndex]:
        """A copy of the testcase, and its own index: its sites found by the links (no walk).
        The lists are shared until its first change."""
        root = self.copy()
        messages = [root]
        for link in islice(self.links, 1, None):
            assert link is not None
            parent, name, kind, at = link
            held = getattr(messages[parent], name)
            messages.append(held if kind == _SINGULAR else held[at])
        if self.sizes is None:
            self.sizes = _subtree_sizes(self.links)
        index = object.__new__(_SiteIndex)
        index.root, index.messages, index.links = root, messages, self.links
        index.weights, index.sizes, index.sites = self.weights, self.sizes, self.sites
        index.cum_weights, index._slots, index._shared = self.cum_weights, self._slots, True
        index._changed = None
        return root, index

    def changed(self, number: int) -> None:
        """Site ``number`` of the indexed testcase itself changed below it (its fields)."""
        if self._changed is not None and self._changed != number:
            self.sync()
        self._changed = number

    def inserted(self, number: int, fd: descriptor.FieldDescriptor, at: int) -> None:
        """Element ``at`` of the repeated field ``fd`` of site ``number`` (of the indexed
        testcase itself) is new, and nothing else changed: only that element is walked (a
        crossover's insertion into a long field, such as a testcase's events)."""
        self.sync()
        msg = self.messages[number]
        children = _shape(msg.DESCRIPTOR).children
        child = children.get(fd)
        if child is None:
            return  # its elements hold no sites
        links = self.links
        ancestors = []
        link = links[number]
        while link is not None:
            ancestors.append(link[0])
            link = links[link[0]]
        name, kind, leaf_weight = child
        if leaf_weight or kind != _REPEATED or len(ancestors) >= _MAX_DEPTH:
            self.changed(number)  # (leaf elements go with the site's other leaf children)
            return
        if len(self.messages) <= _SMALL:
            self.changed(0)
            return
        if self.sizes is None:
            self.sizes = _subtree_sizes(links)
        if self._shared:
            self.messages, self.links = list(self.messages), list(self.links)
            self.weights, self.sizes = list(self.weights), list(self.sizes)
            self._shared = False
        links, sizes = self.links, self.sizes
        # Where its subtree goes: before the first child of the site walked after it (a
        # walk takes leaf children first, then the others by field number, then index).
        fields = msg.DESCRIPTOR.fields_by_name
        pos, end = number + 1, number + sizes[number]
        while pos < end:
            _, child_name, _, child_at = links[pos]  # type: ignore[misc]
            if child_name == name:
                if child_at >= at:  # type: ignore[operator]
                    break
            else:
                child_fd = fields[child_name]
                if not children[child_fd][2] and child_fd.number > fd.number:
                    break
            pos += sizes[pos]
        new_links: list[_Link | None] = []
        found, weights = _sites(getattr(msg, name)[at], new_links, len(ancestors) + 1, pos)
        new_links[0] = (number, name, kind, at)
        delta = len(found)
        tail: list[_Link | None] = []
        for link in islice(links, pos, None):
            assert link is not None
            parent = link[0]
            if parent >= pos:
                link = (parent + delta, link[1], link[2], link[3])
            elif parent == number and link[1] == name:
                link = (parent, name, kind, link[3] + 1)  # type: ignore[operator]
            tail.append(link)
        links[pos:] = new_links + tail
        self.messages[pos:pos] = found
        self.weights[pos:pos] = weights
        sizes[pos:pos] = _subtree_sizes(new_links, pos)
        for ancestor in (number, *ancestors):
            sizes[ancestor] += delta
        cum = self.cum_weights[:pos]
        cum.extend(accumulate(self.weights[pos:], initial=cum[-1]))
        del cum[pos]  # the initial value
        self.cum_weights = cum
        self.sites = range(len(self.messages))
        self._slots = {}

    def sync(self) -> None:
        """Bring the index up to date with the last change (``changed``): walk again the
        subtree that changed and renumber the sites after it. It then holds what a walk of
        the whole testcase would find (the same order, weights and links)."""
        number = self._changed
        if number is None:
            return
        self._changed = None
        if number == 0 or len(self.messages) <= _SMALL:  # walk all of it afresh
            self.links = []
            self.messages, self.weights = _sites(self.root, self.links)
            self.sizes, self._shared = None, False
            self.sites = range(len(self.messages))
            self.cum_weights = list(accumulate(self.weights))
            self._slots = {}
            return
        if self.sizes is None:
            self.sizes = _subtree_sizes(self.links)
        if self._shared:  # with the index this one was copied from (copy_indexed)
            self.messages, self.links = list(self.messages), list(self.links)
            self.weights, self.sizes = list(self.weights), list(self.sizes)
            self._shared = False
        links, sizes = self.links, self.sizes
        ancestors = []
        link = links[number]
        while link is not None:
            ancestors.append(link[0])
            link = links[link[0]]
        new_links: list[_Link | None] = []
        found, weights = _sites(self.messages[number], new_links, len(ancestors), number)
        new_links[0] = links[number]
        end = number + sizes[number]
        delta = len(found) - sizes[number]
        if delta:
            # the sites after the subtree hang below one after it (renumbered) or below an
            # ancestor (kept)
            links[end:] = [
                link if link is None or link[0] < number else (link[0] + delta, *link[1:])
                for link in islice(links, end, None)
            ]
            for ancestor in ancestors:
                sizes[ancestor] += delta
        self.messages[number:end] = found
        links[number:end] = new_links
        sizes[number:end] = _subtree_sizes(new_links, number) if len(found) > 1 else [1]
        if delta or weights != self.weights[number:end]:
            self.weights[number:end] = weights
            cum = self.cum_weights[:number]
            cum.extend(accumulate(self.weights[number:], initial=cum[-1] if cum else 0))
            del cum[number]  # the initial value
            self.cum_weights = cum
            self.sites = range(len(self.messages))
        self._slots = {}

    def site(self, root: message.Message, number: int) -> message.Message:
        """Site ``number`` in ``root``: the indexed testcase itself or a copy of it."""
        self.sync()
        if root is self.root:
            return self.messages[number]
        steps = []
        link = self.links[number]
        while link is not None:
            steps.append(link)
            link = self.links[link[0]]
        msg = root
        for _, name, kind, at in reversed(steps):
            msg = getattr(msg, name) if kind == _SINGULAR else getattr(msg, name)[at]
        return msg

    def slots(self, type_name: str) -> list[tuple[int, descriptor.FieldDescriptor]]:
        """Where a message of type ``type_name`` can go (singular or repeated fields)."""
        self.sync()
        found = self._slots.get(type_name)
        if found is None:
            holders = _slot_holders.get(type_name)
            if holders is None:
                holders = _slot_holders[type_name] = {
                    desc: shape.slots[type_name]
                    for desc, shape in _shapes.items()
                    if type_name in shape.slots
                }
            found = self._slots[type_name] = [
                (number, fd)
                for number, msg in enumerate(self.messages)
                if (fds := holders.get(msg.DESCRIPTOR))
                for fd in fds
            ]
        return found


_holds_any_cache: dict[descriptor.Descriptor, bool] = {}


def _holds_any(desc: descriptor.Descriptor) -> bool:
    """Whether a message of this type can have an Any among its sites (``_sites``' edges)."""
    found = _holds_any_cache.get(desc)
    if found is None:
        seen = {desc}
        todo = [desc]
        while todo and found is None:
            d = todo.pop()
            if d.full_name == _ANY:
                found = True
            elif d.full_name not in _OPAQUE:
                for _, _, sub in _message_fields(d):
                    if sub not in seen:
                        seen.add(sub)
                        todo.append(sub)
        found = _holds_any_cache[desc] = bool(found)
    return found


def _submessages(root: message.Message) -> list[message.Message]:
    return _sites(root)[0]


def _insert_message(items: object, at: int, value: message.Message) -> None:
    """Insert a copy of ``value`` at index ``at`` of a repeated message field."""
    snapshot = type(value)()
    snapshot.CopyFrom(value)  # ``value`` may be an element of ``items`` itself
    items.insert(at, snapshot)  # type: ignore[attr-defined]


def _mutate_int(value: int, lo: int, hi: int, rng: random.Random) -> int:
    choice = rng.randrange(5)
    if choice == 0:
        candidates = [lo, hi, 0, 1, max(lo, -1), hi // 2, hi // 2 + 1]
        candidates += [min(hi, 2**k + d) for k in (7, 8, 15, 16, 31, 32, 63) for d in (-1, 0, 1)]
        out = rng.choice(candidates)
    elif choice == 1:
        out = value + rng.choice((-1, 1)) * rng.randint(1, 16)
    elif choice == 2:
        out = value ^ (1 << rng.randrange(hi.bit_length()))
    elif choice == 3:
        out = value * rng.choice((2, 10, -1)) + rng.randint(-1, 1)
    else:
        out = rng.randint(lo, hi)
    return min(hi, max(lo, out))
