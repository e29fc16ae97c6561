"""The files a config makes Envoy write, and redirecting them (sans-IO).

``WRITTEN_FILES`` is the table of config fields that name a file (or a directory, or a file
name prefix) Envoy opens for writing: access logs, event logs, TLS key logs, tap sinks,
profiles, caches, key-value stores. ``redirect_written_files`` rewrites every such field set
in a Bootstrap (``typed_config`` payloads of known types too, packed back) to a name chosen by
the caller, so a fuzzed config run through a real Envoy writes only where the caller says.
Files Envoy only reads (``DataSource.filename``, certificates, runtime layers) are left as
they are: reading them decides verdicts and creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor, message

FD = descriptor.FieldDescriptor
FILE, DIRECTORY, PREFIX, SOCKET = "file", "directory", "prefix", "socket"

# (message, field) -> what the field names; the fields Envoy opens for writing
WRITTEN_FILES: dict[tuple[str, str], str] = {
    ("envoy.config.bootstrap.v3.Admin", "access_log_path"): FILE,
    ("envoy.config.bootstrap.v3.Admin", "profile_path"): FILE,
    ("envoy.config.bootstrap.v3.Bootstrap", "perf_tracing_file_path"): FILE,
    ("envoy.config.bootstrap.v3.ClusterManager.OutlierDetection", "event_log_path"): FILE,
    ("envoy.config.core.v3.HealthCheck", "event_log_path"): FILE,
    ("envoy.config.tap.v3.FilePerTapSink", "path_prefix"): PREFIX,
    ("envoy.extensions.access_loggers.file.v3.FileAccessLog", "path"): FILE,
    (
        "envoy.extensions.health_check.event_sinks.file.v3.HealthCheckEventFileSink",
        "event_log_path",
    ): FILE,
    (
        "envoy.extensions.http.cache.file_system_http_cache.v3.FileSystemHttpCacheConfig",
        "cache_path",
    ): DIRECTORY,
    (
        "envoy.extensions.http.cache_v2.file_system_http_cache.v3.FileSystemHttpCacheV2Config",
        "cache_path",
    ): DIRECTORY,
    ("envoy.extensions.key_value.file_based.v3.FileBasedKeyValueStoreConfig", "filename"): FILE,
    ("envoy.extensions.transport_sockets.tls.v3.TlsKeyLog", "path"): FILE,
    ("envoy.extensions.watchdog.profile_action.v3.ProfileActionConfig", "profile_path"): DIRECTORY,
}
# What a config started for real (``--envoy-mode serve``) also creates: the socket file of
# each Unix-socket address it binds (an ``@`` path is abstract: no file)
SERVED_FILES: dict[tuple[str, str], str] = {("envoy.config.core.v3.Pipe", "path"): SOCKET}


def _by_message(table: dict[tuple[str, str], str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for (name, field), kind in table.items():
        out.setdefault(name, {})[field] = kind
    return out


_BY_MESSAGE = _by_message(WRITTEN_FILES)
_SERVED_BY_MESSAGE = _by_message(WRITTEN_FILES | SERVED_FILES)


def _json_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(word.title() for word in rest)


# The written-file fields' names in any of Envoy's formats (proto and JSON names): a config
# whose bytes hold none of them cannot make Envoy write a file.
WRITTEN_FILE_WORDS: tuple[str, ...] = tuple(
    sorted({f for _, f in WRITTEN_FILES} | {_json_name(f) for _, f in WRITTEN_FILES})
)

# Given (the path the config names, what it is), the path to use instead
Place = Callable[[str, str], str]
AnyClass = Callable[[str], "type[message.Message] | None"]


def redirect_written_files(
    msg: message.Message, place: Place, any_class: AnyClass, served: bool = False
) -> int:
    """Rewrite, in place, every written-file field set in ``msg`` (and below it, Any
    payloads ``any_class`` knows included) to ``place(path, kind)``; returns how many. With
    ``served``, the fields of ``SERVED_FILES`` too."""
    return _redirect(msg, place, any_class, _SERVED_BY_MESSAGE if served else _BY_MESSAGE)


_Table = dict[str, dict[str, str]]


def _redirect(msg: message.Message, place: Place, any_class: AnyClass, table: _Table) -> int:
    desc = msg.DESCRIPTOR
    if desc.full_name == "google.protobuf.Any":
        return _redirect_any(msg, place, any_class, table)
    count = 0
    own = table.get(desc.full_name)
    for fd, value in msg.ListFields():
        if own is not None and fd.name in own and fd.type == FD.TYPE_STRING and value:
            setattr(msg, fd.name, place(value, own[fd.name]))
            count += 1
        elif fd.type != FD.TYPE_MESSAGE:
            continue
        elif fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].type == FD.TYPE_MESSAGE:
                count += sum(_redirect(value[k], place, any_class, table) for k in value)
        elif fd.is_repeated:
            count += sum(_redirect(item, place, any_class, table) for item in value)
        else:
            count += _redirect(value, place, any_class, table)
    return count


def _redirect_any(any_msg: Any, place: Place, any_class: AnyClass, table: _Table) -> int:
    cls = any_class(any_msg.type_url) if any_msg.type_url else None
    if cls is None:
        return 0
    inner = cls()
    try:
        inner.ParseFromString(any_msg.value)
    except message.DecodeError:
        return 0
    count = _redirect(inner, place, any_class, table)
    if count:
        any_msg.value = inner.SerializeToString()
    return count
