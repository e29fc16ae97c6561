"""The PGV engine as it was before presence-first plans (closures run for every rule-carrying
field, set or not; main at a7e8463), kept as the oracle of ``test_config_pgv_plans.py``:
the plans must give the same first violation (path, rule, message). It subclasses the
engine: the rules table, the extension lists, the helpers, Any unpacking and pruning are
the engine's own, so only the way of walking a message differs. If the engine's verdicts
change on purpose, change this too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import validate.validate_pb2 as validate_pb2
from google.protobuf import descriptor, descriptor_pool, message

from harness.config import pgv_rules
from harness.config.pgv import (
    _WRAPPERS,
    FD,
    FIRST_OF_EACH_NAME,
    TYPED_ANY_FIELDS,
    TYPED_ANY_MAPS,
    UNBUILT_EXTENSIONS,
    UNBUILT_FIELDS,
    Engine,
    Violation,
    _first_broken,
    _ignore_empty,
    _is_map,
    _is_synthetic,
    _is_synthetic_oneof,
    _join,
    _options,
)

Step = Callable[[message.Message, str], "Violation | None"]


class ReferenceEngine(Engine):
    """The engine's rules, Any handling and pruning, walked the old way: a step per
    rule-carrying field, run whether the field is set or not."""

    def __init__(
        self, pool: descriptor_pool.DescriptorPool | None = None, unpack_any: bool = True
    ) -> None:
        super().__init__(pool, unpack_any)
        self._steps: dict[str, tuple[Step, ...]] = {}

    # --- public ------------------------------------------------------------------------

    def validate(self, msg: message.Message, path: str = "") -> Violation | None:
        for step in self._old_plan(msg.DESCRIPTOR):
            found = step(msg, path)
            if found is not None:
                return found
        return None

    # --- typed Any ---------------------------------------------------------------------

    def shallow(self) -> Engine:
        """The same rules, without unpacking typed_config (for the unbuilt fields)."""
        if self._shallow is None:
            self._shallow = (
                ReferenceEngine(self.pool, unpack_any=False) if self.unpack_any else self
            )
        return self._shallow

    # --- compiling plans -----------------------------------------------------------------

    def _old_plan(self, desc: descriptor.Descriptor) -> tuple[Step, ...]:
        plan = self._steps.get(desc.full_name)
        if plan is None:
            self._steps[desc.full_name] = ()  # recursion guard while compiling
            plan = self._steps[desc.full_name] = tuple(self._old_compile(desc))
        return plan

    def _old_compile(self, desc: descriptor.Descriptor) -> list[Step]:
        options = _options(desc)
        if options.Extensions[validate_pb2.disabled] or options.Extensions[validate_pb2.ignored]:
            return []
        # PGV's C++ order: plain fields, proto3 optional ones, then each oneof's fields and
        # its "required" (a step per rule-carrying field, as before plans)
        plain = [fd for fd in desc.fields if fd.containing_oneof is None]
        optional = [fd for fd in desc.fields if _is_synthetic(fd)]
        steps = [s for s in map(self._old_field, plain + optional) if s is not None]
        for oneof in desc.oneofs:
            if _is_synthetic_oneof(oneof):
                continue
            steps += [s for s in map(self._old_field, oneof.fields) if s is not None]
            if _options(oneof).Extensions[validate_pb2.required]:
                steps.append(_required_oneof(oneof.name))
        return steps

    def _old_field(self, fd: descriptor.FieldDescriptor) -> Step | None:
        opts = _options(fd)
        rules = (
            opts.Extensions[validate_pb2.rules] if opts.HasExtension(validate_pb2.rules) else None
        )
        name = fd.name
        presence = fd.has_presence
        in_oneof = fd.containing_oneof is not None
        kind = rules.WhichOneof("type") if rules is not None else None
        if fd.is_repeated and not _is_map(fd):
            return self._old_repeated(
                fd, rules.repeated if rules is not None and kind == "repeated" else None
            )
        if _is_map(fd):
            return self._old_map(fd, rules.map if rules is not None and kind == "map" else None)
        if fd.type == FD.TYPE_MESSAGE:
            return self._old_message(fd, rules, kind)
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

    def _old_message(
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

    def _old_repeated(self, fd: descriptor.FieldDescriptor, rules: Any) -> Step | None:
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

    def _old_map(self, fd: descriptor.FieldDescriptor, rules: Any) -> Step | None:
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
