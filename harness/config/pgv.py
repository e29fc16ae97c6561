"""A protoc-gen-validate engine driven by the descriptors xds-protos ships.

Each message type is compiled once into a plan: its rule-carrying fields (``validate.rules``,
``validate.required`` oneofs, ``validate.disabled`` / ``ignored`` messages) as checkers from
the table in ``harness.config.pgv_rules``, and the message fields to descend into. Types
with nothing to check anywhere below them are never visited. The order is PGV's C++ order
(fields outside oneofs in declaration order, proto3 optional ones, then each oneof), and the
first violation wins, as in Envoy, named by its field path (``static_resources.clusters[0]
.name``).

Presence first: only the steps of the fields ``ListFields`` reports run (most rule-carrying
fields of a config are not set); what an unset field breaks is the same every time, so the
plan holds it as a verdict (``tests/test_config_pgv_plans.py`` holds this equal to the
engine that ran a step per field).

``typed_config`` Any values (and the per-filter and protocol-option maps of Any) are unpacked
when their type is known, and validated like any message, as Envoy does when it builds the
extension; an unknown type URL there is a violation, as in Envoy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import validate.validate_pb2 as validate_pb2
from google.protobuf import descriptor, descriptor_pool, message, message_factory

from harness.config import pgv_rules

FD = descriptor.FieldDescriptor
_WRAPPERS = {
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value",
        "BoolValue", "StringValue", "BytesValue",
    )
}  # fmt: skip
_NO_DESCENT = {"google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.Timestamp"}
# Any fields Envoy unpacks to build an extension (field names, wherever they are)
TYPED_ANY_FIELDS = frozenset({"typed_config"})
TYPED_ANY_MAPS = frozenset({"typed_per_filter_config", "typed_extension_protocol_options"})
TYPE_PREFIX = "type.googleapis.com/"
# Extensions whose typed_config validate mode never unpacks (seen on 1.40: a gRPC
# call-credentials plugin of an unknown type passes, under ads_config as under load stats)
UNBUILT_EXTENSIONS = frozenset(
    {"envoy.config.core.v3.GrpcService.GoogleGrpc.CallCredentials.MetadataCredentialsFromPlugin"}
)
# Fields (message, field) whose extensions validate mode never builds: their own rules are
# checked, no typed_config below them is unpacked (seen on 1.40: certificate provider
# instances of an unknown or empty type, or an invalid HCM, pass; so does any
# listener_manager: validate mode runs its own)
UNBUILT_FIELDS = frozenset(
    {
        ("envoy.config.bootstrap.v3.Bootstrap", "certificate_provider_instances"),
        ("envoy.config.bootstrap.v3.Bootstrap", "listener_manager"),  # validate mode's own
    }
)
# Repeated fields whose items named like an earlier item are ignored in validate mode (seen
# on 1.40: a second listener "l0" with a bad HCM passes): their own rules only
FIRST_OF_EACH_NAME = frozenset(
    {("envoy.config.bootstrap.v3.Bootstrap.StaticResources", "listeners")}
)
# ... and the paths of the unbuilt fields from a Bootstrap, for the semantic checks
UNBUILT_PATHS = tuple(field for _, field in UNBUILT_FIELDS)


@dataclass(frozen=True, slots=True)
class Violation:
    """The first rule a config breaks: where, which rule, and PGV's (or Envoy's) words."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


SetStep = Callable[[Any, str], "Violation | None"]  # (the field's value, the message's path)


class _Unset(NamedTuple):
    """A field (or required oneof) whose absence breaks a rule, the same one every time."""

    order: int  # its place in PGV's order among the message's steps
    fields: frozenset[descriptor.FieldDescriptor]  # any of them set: not absent
    name: str
    rule: str
    text: str


class _Plan(NamedTuple):
    """What validating one message type takes: steps of the fields that are set (by
    ``ListFields``, in C), and the verdicts of the fields that are not."""

    # field -> (order, its step when set or None, the bits of the unset verdicts it cancels)
    steps: dict[descriptor.FieldDescriptor, tuple[int, SetStep | None, int]]
    unset: tuple[_Unset, ...]  # in order: bit i of a field's entry cancels unset[i]
    unset_bits: int  # all of them
    ordered: bool  # field-number order (ListFields') is PGV's order for the steps


_EMPTY_PLAN = _Plan({}, (), 0, True)
_NO_LIMIT = 1 << 30  # no field absent that breaks a rule


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Engine:
    """Validates messages; plans are built per descriptor on first use and kept.

    Presence first: a message's set fields come from one ``ListFields`` call, and only
    their steps run; a field that is not set gives a verdict known when the plan is built
    (a required message, a proto3 string with ``min_len``, a repeated with ``min_items``, a
    required oneof, ...). The steps still run in PGV's order, and the first violation wins.
    """

    def __init__(
        self, pool: descriptor_pool.DescriptorPool | None = None, unpack_any: bool = True
    ) -> None:
        self.pool = pool or descriptor_pool.Default()
        self.unpack_any = unpack_any  # False: typed_config Any values are not looked into
        self._shallow: Engine | None = None
        self._plans: dict[descriptor.Descriptor, _Plan] = {}
        self._needed: dict[str, bool] = {}
        self._classes: dict[str, type[message.Message] | None] = {}

    # --- public ------------------------------------------------------------------------

    def validate(self, msg: message.Message, path: str = "") -> Violation | None:
        plan = self._plans.get(msg.DESCRIPTOR) or self._plan(msg.DESCRIPTOR)
        get = plan.steps.get
        hits: list[tuple[int, SetStep, Any]] = []
        seen = 0
        for fd, value in msg.ListFields():
            entry = get(fd)
            if entry is not None:
                order, step, bits = entry
                seen |= bits
                if step is not None:
                    hits.append((order, step, value))
        limit = _NO_LIMIT
        missing = plan.unset_bits & ~seen
        if missing:  # the first absent field (or oneof) with a verdict cuts the steps off
            cut = plan.unset[(missing & -missing).bit_length() - 1]
            limit = cut.order
        if len(hits) > 1 and not plan.ordered:
            hits.sort()  # by order: no two hits share one
        for order, run, value in hits:
            if order > limit:
                break
            found = run(value, path)
            if found is not None:
                return found
        if missing:
            return Violation(_join(path, cut.name), cut.rule, cut.text)
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

    def shallow(self) -> Engine:
        """The same rules, without unpacking typed_config (for the unbuilt fields)."""
        if self._shallow is None:
            self._shallow = Engine(self.pool, unpack_any=False) if self.unpack_any else self
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

    def _plan(self, desc: descriptor.Descriptor) -> _Plan:
        plan = self._plans.get(desc)
        if plan is None:
            plan = self._plans[desc] = self._compile(desc)
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

    def _compile(self, desc: descriptor.Descriptor) -> _Plan:
        options = _options(desc)
        if options.Extensions[validate_pb2.disabled] or options.Extensions[validate_pb2.ignored]:
            return _EMPTY_PLAN
        # PGV's C++ order (templates/cc/msg.go): the fields outside oneofs in declaration
        # order, then proto3 optional ones, then each oneof: its set field's rules, or
        # "value is required" (seen on 1.40: a route with neither a cluster nor a valid
        # host_rewrite_literal names cluster_specifier)
        plain = [fd for fd in desc.fields if fd.containing_oneof is None]
        optional = [fd for fd in desc.fields if _is_synthetic(fd)]
        order_of: list[descriptor.FieldDescriptor | descriptor.OneofDescriptor] = [
            *plain,
            *optional,
        ]
        for oneof in desc.oneofs:
            if not _is_synthetic_oneof(oneof):
                order_of += oneof.fields
                if _options(oneof).Extensions[validate_pb2.required]:
                    order_of.append(oneof)
        empty = message_factory.GetMessageClass(desc)()
        steps: dict[descriptor.FieldDescriptor, tuple[int, SetStep | None, int]] = {}
        unset: list[_Unset] = []
        for order, item in enumerate(order_of):
            if isinstance(item, descriptor.OneofDescriptor):
                members = frozenset(item.fields)
                unset.append(
                    _Unset(order, members, item.name, "oneof.required", "value is required")
                )
                continue
            step, absent = self._compile_field(item, empty)
            if step is not None:
                steps[item] = (order, step, 0)
            if absent is not None:
                unset.append(_Unset(order, frozenset({item}), item.name, *absent))
        for bit, verdict in enumerate(unset):
            for fd in verdict.fields:
                at, step, bits = steps.get(fd, (-1, None, 0))
                steps[fd] = (at, step, bits | 1 << bit)  # a field without a step: never run
        stepped = [fd for fd in steps if steps[fd][1] is not None]
        by_number = sorted(stepped, key=lambda fd: fd.number)
        ordered = [steps[fd][0] for fd in by_number] == sorted(steps[fd][0] for fd in stepped)
        return _Plan(steps, tuple(unset), (1 << len(unset)) - 1, ordered)

    def _compile_field(
        self, fd: descriptor.FieldDescriptor, empty: message.Message
    ) -> tuple[SetStep | None, tuple[str, str] | None]:
        """The step of a field when it is set, and its verdict when it is not."""
        opts = _options(fd)
        rules = (
            opts.Extensions[validate_pb2.rules] if opts.HasExtension(validate_pb2.rules) else None
        )
        kind = rules.WhichOneof("type") if rules is not None else None
        if fd.is_repeated and not _is_map(fd):
            return self._compile_repeated(
                fd, rules.repeated if rules is not None and kind == "repeated" else None
            )
        if _is_map(fd):
            return self._compile_map(
                fd, rules.map if rules is not None and kind == "map" else None, empty
            )
        if fd.type == FD.TYPE_MESSAGE:
            return self._compile_message(fd, rules, kind)
        checks = self._value_checks(fd, rules, kind)
        if not checks:
            return None, None
        name = fd.name
        ignore_empty = kind is not None and _ignore_empty(getattr(rules, kind))

        def scalar(value: Any, path: str) -> Violation | None:
            if ignore_empty and not value:
                return None
            for rule, check in checks:
                text = check(value)
                if text is not None:
                    return Violation(_join(path, name), rule, text)
            return None

        if fd.has_presence:  # oneof members too: not set, nothing to check
            return scalar, None
        found = scalar(getattr(empty, name), "")  # proto3: not set is the default value
        return scalar, (found.rule, found.message) if found is not None else None

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
    ) -> tuple[SetStep | None, tuple[str, str] | None]:
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
        absent = (f"{kind}.required", "value is required") if required else None
        wrapper = sub.full_name in _WRAPPERS
        checks = self._value_checks(fd, rules, kind)
        typed = (
            sub.full_name == "google.protobuf.Any"
            and name in TYPED_ANY_FIELDS
            and fd.containing_type.full_name not in UNBUILT_EXTENSIONS
        )
        descend = not skip and not wrapper and self._needs(sub)
        if not (checks or typed or descend):
            return None, absent
        unbuilt = (fd.containing_type.full_name, name) in UNBUILT_FIELDS
        engine = self.shallow() if unbuilt else self
        validate, validate_any = engine.validate, engine.validate_any

        def field(value: Any, path: str) -> Violation | None:
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

        return field, absent

    def _compile_repeated(
        self, fd: descriptor.FieldDescriptor, rules: Any
    ) -> tuple[SetStep | None, tuple[str, str] | None]:
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
            return None, None
        validate = self.validate
        by_name = self.unpack_any and (fd.containing_type.full_name, name) in FIRST_OF_EACH_NAME
        shallow = self.shallow().validate if by_name else validate

        def messages(items: Any, path: str) -> Violation | None:
            here = _join(path, name)
            for i in range(len(items)):  # by index: a upb container's iterator ends by IndexError
                found = validate(items[i], f"{here}[{i}]")
                if found is not None:
                    return found
            return None

        def repeated(items: Any, path: str) -> Violation | None:
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

        # an empty list (not set) breaks the same rule every time, or none
        absent = None if ignore_empty else _first_broken(own, [])
        if not (own or item_checks or by_name):
            return messages, absent  # the commonest: only the items' own rules
        return repeated, absent

    def _compile_map(
        self, fd: descriptor.FieldDescriptor, rules: Any, empty: message.Message
    ) -> tuple[SetStep | None, tuple[str, str] | None]:
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
            return None, None
        unbuilt = (fd.containing_type.full_name, name) in UNBUILT_FIELDS or not self.unpack_any
        engine = self.shallow() if unbuilt else self
        validate, validate_any = engine.validate, engine.validate_any

        def mapping(container: Any, path: str) -> Violation | None:
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

        # an empty map (not set): its own rules on no pairs
        return mapping, _first_broken(own, getattr(empty, name))


def _first_broken(
    checks: list[tuple[str, pgv_rules.Checker]], value: Any
) -> tuple[str, str] | None:
    """(rule, message) of the first check ``value`` fails, or None."""
    for rule, check in checks:
        text = check(value)
        if text is not None:
            return rule, text
    return None


def _is_extension_type(url: str) -> bool:
    """Whether an extension factory could take this type: protobuf's own types have none."""
    name = url.rpartition("/")[2]
    # Struct configures many; StringValue is the action of a listener's filter-chain matcher
    return not name.startswith("google.protobuf.") or name in (
        "google.protobuf.Struct",
        "google.protobuf.StringValue",
    )


def _options(d: Any) -> Any:
    return d.GetOptions()


def _is_map(fd: descriptor.FieldDescriptor) -> bool:
    return fd.type == FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry


def _is_synthetic(fd: descriptor.FieldDescriptor) -> bool:
    oneof = fd.containing_oneof
    return oneof is not None and _is_synthetic_oneof(oneof)


def _is_synthetic_oneof(oneof: descriptor.OneofDescriptor) -> bool:
    # proto3 `optional`: a oneof of one field whose name is "_" + the field's
    return len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name


def _ignore_empty(rules: Any) -> bool:
    return any(fd.name == "ignore_empty" and value for fd, value in rules.ListFields())


def _import_envoy(name: str, pool: descriptor_pool.DescriptorPool) -> type[message.Message] | None:
    """Import the xds-protos module that defines ``name`` (an ``envoy.``/``xds.``/``udpa.``
    message), if there is one."""
    if not name.startswith(("envoy.", "xds.", "udpa.", "google.")):
        return None
    from harness.errors import UserError
    from harness.proto import message_class

    try:
        return message_class(name)
    except UserError:
        return None
