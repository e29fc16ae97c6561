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
from _random import Random as _Generator
from collections import OrderedDict
from collections.abc import Callable

from google.protobuf import descriptor, message, message_factory

from harness.engine.corpus import is_map_field, parsed_cache, to_text
from harness.engine.sites import ANY, OPAQUE, SiteIndex, holds_any, submessages, walk_sites

FD = descriptor.FieldDescriptor
ByteMutator = Callable[[bytes, int], bytes]
_seed_generator = _Generator.seed

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
ANY_SHARE = 0.3  # of mutations that go inside a packed Any, when the testcase has one
_any_classes: dict[str, type[message.Message] | None] = {}
INDEX_LIMIT = 2048  # testcases whose sites the mutator keeps (about a corpus' worth)
DROPPED_LIMIT = 128  # mutants the next call did not start from, kept with their sites


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
        self._indexes: OrderedDict[bytes, SiteIndex] = OrderedDict()
        # the last testcase made, its message and sites: libFuzzer stacks mutations, so the
        # next call most often starts from it
        self._last: tuple[bytes, message.Message, SiteIndex] | None = None
        # the last few mutants libFuzzer did not stack a mutation on: one that found new
        # coverage is a corpus entry now, mutated and crossed over soon (its sites are kept)
        self._dropped: OrderedDict[bytes, SiteIndex] = OrderedDict()
        self._rng = random.Random()  # re-seeded per call (_seeded)
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
        rng = self._seeded(seed)
        msg, index = self._working_copy(data)
        for _ in range(rng.choice((1, 1, 2, 3))):
            if not (rng.random() < ANY_SHARE and self.mutate_any(msg, rng, index)):
                self.mutate_message(msg, rng, index)
        return self._fit(msg, max_size, rng, data, index)

    def crossover(self, data1: bytes, data2: bytes, max_out: int, seed: int) -> bytes:
        rng = self._seeded(seed)
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

    def _seeded(self, seed: int) -> random.Random:
        """The stream of ``random.Random(seed)``: the C generator of one kept instance seeded
        again (an int seed is all ``Random.seed`` hands it; the object is not built anew)."""
        _seed_generator(self._rng, seed)
        return self._rng

    def _working_copy(self, data: bytes) -> tuple[message.Message, SiteIndex]:
        """A fresh copy of the testcase ``data`` (an empty one if it does not parse) to
        change, and its sites (kept up to date through the changes)."""
        last, self._last = self._last, None
        if last is not None:
            if last[0] == data:
                # the mutant made last (libFuzzer stacks mutations): its message and sites
                # as they are, no parse, copy or walk; the parse cache gives the message up
                self.cache.forget(data)
                return last[1], last[2]
            # libFuzzer moved on (after new coverage, or at its mutation depth): the mutant
            # stays as it was made, its sites are those of a corpus entry (brought up to
            # date if it is used as one: most are not)
            self._dropped[last[0]] = last[2]
            if len(self._dropped) > DROPPED_LIMIT:
                self._dropped.popitem(last=False)
        return self._index(data).copy_indexed()

    def _index(self, data: bytes) -> SiteIndex:
        """The kept sites of ``data`` (found the first time it is mutated). The mutant made
        last, which libFuzzer's stacked mutations start from, never comes here (see
        ``_working_copy``): what does are corpus entries, mutated and crossed over again and
        again; those that were mutants a moment ago keep the sites they were made with."""
        indexes = self._indexes
        found = indexes.get(data)
        if found is not None:
            indexes.move_to_end(data)
            return found
        found = self._dropped.pop(data, None)  # a mutant made a moment ago: indexed then
        if found is not None:
            found.sync()
        else:
            found = SiteIndex(self.cache.parse(data) or self.cls())
        indexes[data] = found
        if len(indexes) > INDEX_LIMIT:
            indexes.popitem(last=False)
        return found

    # --- the mutations -------------------------------------------------------------------

    def mutate_message(
        self, root: message.Message, rng: random.Random, index: SiteIndex | None = None
    ) -> None:
        """Apply one structural or scalar mutation somewhere in ``root`` (``index``: its
        sites, of ``root`` itself, kept up to date here, or of a testcase ``root`` is an
        unchanged copy of)."""
        # uniform over (message, field) sites, without materializing them all
        number = None
        if index is None:
            msgs, weights = walk_sites(root)
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
        self, root: message.Message, rng: random.Random, index: SiteIndex | None = None
    ) -> bool:
        """Mutate inside one Any of ``root`` whose type is known; False when there is none
        (``index`` as for ``mutate_message``)."""
        if not holds_any(root.DESCRIPTOR):
            return False  # what the walk below would find (shuffling nothing draws nothing)
        if index is None:
            packed = [m for m in submessages(root) if m.DESCRIPTOR.full_name == ANY and m.type_url]
        else:
            index.sync()
            packed = [
                index.site(root, i)
                for i, m in enumerate(index.messages)
                if m.DESCRIPTOR.full_name == ANY and m.type_url
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
        if not fields or msg.DESCRIPTOR.full_name in OPAQUE:
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
        index: SiteIndex,
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
