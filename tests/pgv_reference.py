"""The PGV engine as it was before presence-first plans (closures run for every rule-carrying
field, set or not; main at a7e8463), kept as the oracle of ``test_config_pgv_plans.py``:
the plans must give the same first violation (path, rule, message). The rules table,
the extension lists and the helpers are the engine's own, imported, so only the way of
walking a message differs. If the engine's verdicts change on purpose, change this too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import validate.validate_pb2 as validate_pb2
from google.protobuf import descriptor, descriptor_pool, message, message_factory

from harness.config import pgv_rules
from harness.config.pgv import (
    _NO_DESCENT,
    _WRAPPERS,
    FD,
    FIRST_OF_EACH_NAME,
    TYPED_ANY_FIELDS,
    TYPED_ANY_MAPS,
    UNBUILT_EXTENSIONS,
    UNBUILT_FIELDS,
    Violation,
    _first_broken,
    _ignore_empty,
    _import_envoy,
    _is_extension_type,
    _is_map,
    _is_synthetic,
    _is_synthetic_oneof,
    _join,
    _options,
)

Step = Callable[[message.Message, str], "Violation | None"]


class ReferenceEngine:
    """Validates messages; plans are built per descriptor on first use and kept."""

    def __init__(
        self, pool: descriptor_pool.DescriptorPool | None = None, unpack_any: bool = True
    ) -> None:
        self.pool = pool or descriptor_pool.Default()
        self.unpack_any = unpack_any  # False: typed_config Any values are not looked into
        self._shallow: ReferenceEngine | None = None
        self._plans: dict[str, tuple[Step, ...]] = {}
        self._needed: dict[str, bool] = {}
        self._classes: dict[str, type[message.Message] | None] = {}

    # --- public ------------------------------------------------------------------------

    def validate(self, msg: message.Message, path: str = "") -> Violation | None:
        for step in self._plan(msg.DESCRIPTOR):
            found = step(msg, path)
            if found is not None:
                return found
        return None

    def rule_count(self, desc: descriptor.Descriptor) -> tuple[int, int, set[str]]:
        """(messages reachable from ``desc``, fields among them that carry rules, the rule
        kinds they use: ``string``, ``uint32``, ..., ``message``)."""
        seen: set[str] = set()
        stack, rules, kinds = [desc], 0, set()
        while stack:
            d = stack.pop()
            if d.full_name in seen:
                continue
            seen.add(d.full_name)
            for fd in d.fields:
                options = _options(fd)
                if options.HasExtension(validate_pb2.rules):
                    rules += 1
                    field_rules = options.Extensions[validate_pb2.rules]
                    kinds.add(field_rules.WhichOneof("type") or "message")
                if fd.message_type is not None:
                    stack.append(fd.message_type)
        return len(seen), rules, kinds

    # --- typed Any ---------------------------------------------------------------------

    def message_of_any(self, type_url: str) -> type[message.Message] | None:
        cls = self._classes.get(type_url, False)
        if cls is False:
            name = type_url.rpartition("/")[2]
            try:
                desc = self.pool.FindMessageTypeByName(name)
                cls = message_factory.GetMessageClass(desc)
            except KeyError:
                cls = _import_envoy(name, self.pool)
            self._classes[type_url] = cls
        return cls  # type: ignore[return-value]

    def shallow(self) -> ReferenceEngine:
        """The same rules, without unpacking typed_config (for the unbuilt fields)."""
        if self._shallow is None:
            self._shallow = (
                ReferenceEngine(self.pool, unpack_any=False) if self.unpack_any else self
            )
        return self._shallow

    def validate_any(self, value: Any, path: str) -> Violation | None:
        url = value.type_url
        if not url or not self.unpack_any:
            return None
        cls = self.message_of_any(url) if _is_extension_type(url) else None
        if cls is None:
            return Violation(
                path, "typed_config.type", f"Didn't find a registered implementation for '{url}'"
            )
        inner = cls()
        try:
            inner.ParseFromString(value.value)
        except message.DecodeError as e:
            return Violation(path, "typed_config.parse", f"Unable to unpack as {url}: {e}")
        return self.validate(inner, f"{path}[{url.rpartition('/')[2]}]")

    # --- compiling plans -----------------------------------------------------------------

    def _plan(self, desc: descriptor.Descriptor) -> tuple[Step, ...]:
        plan = self._plans.get(desc.full_name)
        if plan is None:
            self._plans[desc.full_name] = ()  # recursion guard while compiling
            plan = self._plans[desc.full_name] = tuple(self._compile(desc))
        return plan

    def _needs(self, desc: descriptor.Descriptor, stack: frozenset[str] = frozenset()) -> bool:
        """Whether a message of this type can break a rule (itself or below)."""
        name = desc.full_name
        found = self._needed.get(name)
        if found is not None:
            return found
        if name in stack:
            return True  # a recursive type: assume so
        if name in _NO_DESCENT or _options(desc).Extensions[validate_pb2.disabled]:
            self._needed[name] = False
            return False
        inner = stack | {name}
        needed = any(_options(o).Extensions[validate_pb2.required] for o in desc.oneofs) or any(
            _options(fd).HasExtension(validate_pb2.rules)
            or fd.name in TYPED_ANY_FIELDS
            or fd.name in TYPED_ANY_MAPS
            or (fd.message_type is not None and self._needs(fd.message_type, inner))
            for fd in desc.fields
        )
        if not stack:
            self._needed[name] = needed
        return needed

    def _compile(self, desc: descriptor.Descriptor) -> list[Step]:
        options = _options(desc)
        if options.Extensions[validate_pb2.disabled] or options.Extensions[validate_pb2.ignored]:
            return []
        steps: list[Step] = []
        oneof_steps: list[Step] = []
        for fd in desc.fields:
            step = self._compile_field(fd)
            if step is None:
                continue
            if fd.containing_oneof is not None and not _is_synthetic(fd):
                oneof_steps.append(step)
            else:
                steps.append(step)
        for oneof in desc.oneofs:
            if _options(oneof).Extensions[validate_pb2.required] and not _is_synthetic_oneof(oneof):
                oneof_steps.append(_required_oneof(oneof.name))
        return steps + oneof_steps

    def _compile_field(self, fd: descriptor.FieldDescriptor) -> Step | None:
        opts = _options(fd)
        rules = (
            opts.Extensions[validate_pb2.rules] if opts.HasExtension(validate_pb2.rules) else None
        )
        name = fd.name
        presence = fd.has_presence
        in_oneof = fd.containing_oneof is not None
        kind = rules.WhichOneof("type") if rules is not None else None
        if fd.is_repeated and not _is_map(fd):
            return self._compile_repeated(
                fd, rules.repeated if rules is not None and kind == "repeated" else None
            )
        if _is_map(fd):
            return self._compile_map(fd, rules.map if rules is not None and kind == "map" else None)
        if fd.type == FD.TYPE_MESSAGE:
            return self._compile_message(fd, rules, kind)
        checks = self._value_checks(fd, rules, kind)
        if not checks:
            return None
        ignore_empty = kind is not None and _ignore_empty(getattr(rules, kind))

        def scalar(msg: message.Message, path: str) -> Violation | None:
            if (in_oneof or presence) and not msg.HasField(name):
                return None
            value = getattr(msg, name)
            if ignore_empty and not value:
                return None
            for rule, check in checks:
                text = check(value)
                if text is not None:
                    return Violation(_join(path, name), rule, text)
            return None

        return scalar

    def _value_checks(
        self, fd: descriptor.FieldDescriptor, rules: Any, kind: str | None
    ) -> list[tuple[str, pgv_rules.Checker]]:
        if rules is None or kind is None:
            return []
        checks = pgv_rules.compile_rules(kind, getattr(rules, kind))
        if kind == "enum" and rules.enum.defined_only and fd.enum_type is not None:
            defined = frozenset(v.number for v in fd.enum_type.values)
            checks.insert(
                0,
                (
                    "enum.defined_only",
                    lambda v: (
                        None if v in defined else "value must be one of the defined enum values"
                    ),
                ),
            )
        return checks

    def _compile_message(
        self, fd: descriptor.FieldDescriptor, rules: Any, kind: str | None
    ) -> Step | None:
        name = fd.name
        sub = fd.message_type
        # FieldRules.message sits beside the ``type`` oneof (a field may have both)
        own = rules is not None and rules.HasField("message")
        required = (own and rules.message.required) or (
            kind in ("any", "duration", "timestamp") and getattr(rules, kind).required
        )
        skip = own and rules.message.skip
        if fd.containing_oneof is not None and not _is_synthetic(fd):
            required = False  # a oneof's field is checked only when it is the case set
        wrapper = sub.full_name in _WRAPPERS
        checks = self._value_checks(fd, rules, kind)
        typed = (
            sub.full_name == "google.protobuf.Any"
            and name in TYPED_ANY_FIELDS
            and fd.containing_type.full_name not in UNBUILT_EXTENSIONS
        )
        descend = not skip and not wrapper and self._needs(sub)
        if not (required or checks or typed or descend):
            return None
        unbuilt = (fd.containing_type.full_name, name) in UNBUILT_FIELDS
        engine = self.shallow() if unbuilt else self
        validate, validate_any = engine.validate, engine.validate_any

        def field(msg: message.Message, path: str) -> Violation | None:
            if not msg.HasField(name):
                return (
                    Violation(_join(path, name), f"{kind}.required", "value is required")
                    if (required)
                    else None
                )
            value = getattr(msg, name)
            here = _join(path, name)
            if checks:
                checked = value.value if wrapper else value
                for rule, check in checks:
                    text = check(checked)
                    if text is not None:
                        return Violation(here, rule, text)
            if typed:
                return validate_any(value, here)
            return validate(value, here) if descend else None

        return field

    def _compile_repeated(self, fd: descriptor.FieldDescriptor, rules: Any) -> Step | None:
        name = fd.name
        own = pgv_rules.compile_rules("repeated", rules) if rules is not None else []
        item_checks: list[tuple[str, pgv_rules.Checker]] = []
        if rules is not None and rules.HasField("items"):
            item_kind = rules.items.WhichOneof("type")
            item_checks = self._value_checks(fd, rules.items, item_kind)
        is_msg = fd.type == FD.TYPE_MESSAGE
        descend = (
            is_msg and fd.message_type.full_name not in _WRAPPERS and self._needs(fd.message_type)
        )
        ignore_empty = rules is not None and rules.ignore_empty
        if not (own or item_checks or descend):
            return None
        validate = self.validate
        by_name = self.unpack_any and (fd.containing_type.full_name, name) in FIRST_OF_EACH_NAME
        shallow = self.shallow().validate if by_name else validate

        # an empty list (most of them) breaks the same rule every time, or none
        empty = None if ignore_empty else _first_broken(own, [])

        def repeated(msg: message.Message, path: str) -> Violation | None:
            items = getattr(msg, name)
            if not items:
                return None if empty is None else Violation(_join(path, name), *empty)
            names: set[str] = set()
            here = _join(path, name)
            for rule, check in own:
                text = check(list(items) if not is_msg else [i.SerializeToString() for i in items])
                if text is not None:
                    return Violation(here, rule, text)
            for i, item in enumerate(items):
                for rule, check in item_checks:
                    text = check(item)
                    if text is not None:
                        return Violation(f"{here}[{i}]", rule, text)
                if descend:
                    check_item = validate
                    if by_name:
                        check_item = shallow if item.name in names else validate
                        names.add(item.name)
                    found = check_item(item, f"{here}[{i}]")
                    if found is not None:
                        return found
            return None

        return repeated

    def _compile_map(self, fd: descriptor.FieldDescriptor, rules: Any) -> Step | None:
        name = fd.name
        key_fd = fd.message_type.fields_by_name["key"]
        value_fd = fd.message_type.fields_by_name["value"]
        own = pgv_rules.compile_rules("map", rules) if rules is not None else []
        key_checks: list[tuple[str, pgv_rules.Checker]] = []
        value_checks: list[tuple[str, pgv_rules.Checker]] = []
        if rules is not None and rules.HasField("keys"):
            key_checks = self._value_checks(key_fd, rules.keys, rules.keys.WhichOneof("type"))
        if rules is not None and rules.HasField("values"):
            value_checks = self._value_checks(
                value_fd, rules.values, rules.values.WhichOneof("type")
            )
        sub = value_fd.message_type
        typed = (
            sub is not None and sub.full_name == "google.protobuf.Any" and name in TYPED_ANY_MAPS
        )
        descend = sub is not None and not typed and self._needs(sub)
        if not (own or key_checks or value_checks or typed or descend):
            return None
        unbuilt = (fd.containing_type.full_name, name) in UNBUILT_FIELDS or not self.unpack_any
        engine = self.shallow() if unbuilt else self
        validate, validate_any = engine.validate, engine.validate_any

        def mapping(msg: message.Message, path: str) -> Violation | None:
            container = getattr(msg, name)
            here = _join(path, name)
            for rule, check in own:
                text = check(container)
                if text is not None:
                    return Violation(here, rule, text)
            for key in sorted(container):
                at = f"{here}[{key!r}]"
                for rule, check in key_checks:
                    text = check(key)
                    if text is not None:
                        return Violation(at, rule, text)
                value = container[key]
                if typed and not unbuilt and not value.type_url:
                    return Violation(
                        at,
                        "typed_config.empty",
                        f"Didn't find a registered implementation for '{key}' with type URL: ''",
                    )
                for rule, check in value_checks:
                    text = check(value)
                    if text is not None:
                        return Violation(at, rule, text)
                found = (
                    validate_any(value, at) if typed else validate(value, at) if descend else None
                )
                if found is not None:
                    return found
            return None

        return mapping


def _required_oneof(name: str) -> Step:
    def oneof(msg: message.Message, path: str) -> Violation | None:
        if msg.WhichOneof(name) is None:
            return Violation(_join(path, name), "oneof.required", "value is required")
        return None

    return oneof
