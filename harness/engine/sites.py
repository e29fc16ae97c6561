"""The mutation sites of a protobuf testcase, for the structure-aware mutator
(``harness.engine.mutate``): the testcase's messages in walk order, each weighted by its
field count, with the links that find them again in a copy; and an index of them that
follows the testcase through the mutator's changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate, islice, repeat
from typing import NamedTuple

from google.protobuf import descriptor, message

from harness.engine.corpus import is_map_field

FD = descriptor.FieldDescriptor
ANY = "google.protobuf.Any"
OPAQUE = {ANY}  # types whose fields are no sites (a known Any's payload is mutated apart)
MAX_DEPTH = 64  # below libprotobuf-mutator's recursion limit of 100
SMALL = 16  # sites in a testcase that is walked whole again after a change (cheaper)


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


def shape_of(desc: descriptor.Descriptor) -> _Shape:
    found = _shapes.get(desc)
    if found is None:  # (once per type)
        held = list(_message_fields(desc))
        children = {} if desc.full_name in OPAQUE else {
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
    return desc.full_name not in OPAQUE and any(True for _ in _message_fields(desc))


# How a site hangs below an earlier one: (its site number, field name, kind, index or key).
_Link = tuple[int, str, int, object]


def walk_sites(
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
        shape = shapes.get(desc) or shape_of(desc)
        here = len(found) + base
        found.append(msg)
        weights.append(shape.weight)
        if links is not None:
            links.append(link)
        if not shape.children or depth >= MAX_DEPTH:
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


def subtree_sizes(links: list[_Link | None], base: int = 0) -> list[int]:
    """How many sites each site's subtree holds (itself included), from the links of a walk
    numbered from ``base`` (a site's parent comes before it)."""
    sizes = [1] * len(links)
    for number in range(len(links) - 1, 0, -1):
        link = links[number]
        assert link is not None
        sizes[link[0] - base] += sizes[number]
    return sizes


class SiteIndex:
    """The mutation sites of one testcase in walk order (``walk_sites``): their messages, weights
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
        self.messages, self.weights = walk_sites(root, self.links if kept else None)
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

    def copy_indexed(self) -> tuple[message.Message, SiteIndex]:
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
            self.sizes = subtree_sizes(self.links)
        index = object.__new__(SiteIndex)
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
        children = shape_of(msg.DESCRIPTOR).children
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
        if leaf_weight or kind != _REPEATED or len(ancestors) >= MAX_DEPTH:
            self.changed(number)  # (leaf elements go with the site's other leaf children)
            return
        if len(self.messages) <= SMALL:
            self.changed(0)
            return
        if self.sizes is None:
            self.sizes = subtree_sizes(links)
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
        found, weights = walk_sites(getattr(msg, name)[at], new_links, len(ancestors) + 1, pos)
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
        sizes[pos:pos] = subtree_sizes(new_links, pos)
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
        if number == 0 or len(self.messages) <= SMALL:  # walk all of it afresh
            self.links = []
            self.messages, self.weights = walk_sites(self.root, self.links)
            self.sizes, self._shared = None, False
            self.sites = range(len(self.messages))
            self.cum_weights = list(accumulate(self.weights))
            self._slots = {}
            return
        if self.sizes is None:
            self.sizes = subtree_sizes(self.links)
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
        found, weights = walk_sites(self.messages[number], new_links, len(ancestors), number)
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
        sizes[number:end] = subtree_sizes(new_links, number) if len(found) > 1 else [1]
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


def holds_any(desc: descriptor.Descriptor) -> bool:
    """Whether a message of this type can have an Any among its sites (``walk_sites``' edges)."""
    found = _holds_any_cache.get(desc)
    if found is None:
        seen = {desc}
        todo = [desc]
        while todo and found is None:
            d = todo.pop()
            if d.full_name == ANY:
                found = True
            elif d.full_name not in OPAQUE:
                for _, _, sub in _message_fields(d):
                    if sub not in seen:
                        seen.add(sub)
                        todo.append(sub)
        found = _holds_any_cache[desc] = bool(found)
    return found


def submessages(root: message.Message) -> list[message.Message]:
    return walk_sites(root)[0]
