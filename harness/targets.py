"""The target registry: name -> Target(input kind, planes, run functions, corpus, dictionary).

Built-in targets are declared in ``BUILTIN_TARGETS`` as entry-point strings and imported only
when a run function is needed, so listing targets stays fast and atheris can instrument a
target's module by importing it inside ``atheris.instrument_imports()``.

Users add their own targets from a Python file passed with ``--targets FILE.py``::

    import harness

    def parse_thing(data: bytes) -> None:
        ...

    harness.register("thing", parse_thing, input="bytes")
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPORA_ROOT = PROJECT_ROOT / "corpora"
FUZZERS_ROOT = PROJECT_ROOT / "fuzzers"

# model: in-process (the Envoy model, codecs, utilities); envoy: a real Envoy; differential:
# both, compared (a mismatch is a divergence).
PLANES = ("model", "envoy", "differential")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

RunFunction = Callable[[Any], None]


@dataclass(frozen=True)
class BuiltinSpec:
    """One row of the built-in table; ``planes`` maps plane -> "module:function"."""

    name: str
    input: str
    planes: dict[str, str]
    envoy_corpora: tuple[str, ...] = ()
    instrument: tuple[str, ...] = ()
    # modules the target imports that are not under test (oracle tools, test scaffolding):
    # not instrumented, so their lines neither cost time nor count as coverage
    not_instrumented: tuple[str, ...] = ()
    summary: str = ""
    # "module:function" that starts the envoy plane's slow resources (a real Envoy) without
    # waiting for them; the runner calls it before the engine loads
    prestart: str = ""
    # how the envoy plane may run an input, first the default (``--envoy-mode``): only the
    # config target has a choice (validate, or serve: harness.envoy.serve)
    envoy_modes: tuple[str, ...] = ()
    # planes whose run function only reads its input message and keeps nothing of it: a
    # fuzzing worker hands it the parsed message itself, not a copy (``corpus.Decoder``)
    reads_input: tuple[str, ...] = ()


_ENVOY_PRESTART = "harness.envoy.lanes:prestart"
# What the HTTP/2 capture targets import but do not test: the oracles' strict HTTP/1 codec,
# which re-parses what the model forwards (the HTTP/2 targets' model path uses none of it;
# h1_capture and the HTTP/1 targets test it), the oracles, the test-frame builders (Envoy's
# Http2Frame test helper: what they branch on is the testcase's structure, which the
# mutator sees anyway), the replay driver and plain records. Instrumented, they were ~22 %
# of h2_capture's per-input time and 256 of its 1,177 edges on a 5,000-run corpus (151 in
# the HTTP/1 codec, 64 in the builders, 22 in the driver, 15 in the oracles).
_H2_CAPTURE_SCAFFOLDING = (
    "harness.codec.http1",
    "harness.codec.http1_edge",
    "harness.codec.http1_h2c",
    "harness.codec.http1_url",
    "harness.codec.http1_writer",
    "harness.model.http1",
    "harness.model.oracles",
    "harness.oracle",
    "harness.codec.h2_frames",
    "harness.model.fuzz",
    "harness.codec.memo",
    "harness.observation",
    "harness.config.proxy",
)

# What codec_impl runs but does not test: Envoy's test driver (the action script, the reorder
# buffers, the stream states it keeps so the codec API is never misused) and the oracles. The
# codecs themselves (codec_impl_h2/_h1, h2_connection, the HTTP/1 codec, h2) stay instrumented.
_CODEC_IMPL_SCAFFOLDING = (
    "harness.codec.codec_impl",
    "harness.codec.codec_impl_oracle",
    "harness.codec.fuzz_http2",
)

# The built-in targets. ``envoy_corpora`` names the folders of an Envoy checkout whose files
# `envoy-fuzz import-envoy` copies into corpora/<name>/envoy/.
BUILTIN_TARGETS: tuple[BuiltinSpec, ...] = (
    # --- built-in targets: keep one row per target, sorted by area ---
    BuiltinSpec(
        "h1_capture",
        "proto:test.integration.CaptureFuzzTestCase",
        {
            "model": "harness.model.fuzz:h1_capture",
            "envoy": "harness.envoy.fuzz:h1_capture",
            "differential": "harness.model.differential:h1_capture",
        },
        envoy_corpora=("test/integration/h1_corpus",),
        summary="HTTP/1 capture replay through the Envoy model or a real Envoy",
        reads_input=("model",),
        prestart=_ENVOY_PRESTART,
    ),
    BuiltinSpec(
        "h1_capture_direct_response",
        "proto:test.integration.CaptureFuzzTestCase",
        {
            "model": "harness.model.fuzz:h1_capture_direct_response",
            "envoy": "harness.envoy.fuzz:h1_capture_direct_response",
            "differential": "harness.model.differential:h1_capture_direct_response",
        },
        envoy_corpora=("test/integration/h1_corpus",),
        summary="HTTP/1 capture replay against a direct-response route (model or real Envoy)",
        reads_input=("model",),
        prestart=_ENVOY_PRESTART,
    ),
    BuiltinSpec(
        "h2_capture",
        "proto:test.integration.h2.H2CaptureFuzzTestCase",
        {
            "model": "harness.model.fuzz:h2_capture",
            "envoy": "harness.envoy.fuzz:h2_capture",
            "differential": "harness.model.differential:h2_capture",
        },
        envoy_corpora=("test/integration/h2_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        not_instrumented=_H2_CAPTURE_SCAFFOLDING,
        summary="HTTP/2 capture replay through the Envoy model or a real Envoy",
        reads_input=("model",),
        prestart=_ENVOY_PRESTART,
    ),
    BuiltinSpec(
        "h2_capture_direct_response",
        "proto:test.integration.h2.H2CaptureFuzzTestCase",
        {
            "model": "harness.model.fuzz:h2_capture_direct_response",
            "envoy": "harness.envoy.fuzz:h2_capture_direct_response",
            "differential": "harness.model.differential:h2_capture_direct_response",
        },
        envoy_corpora=("test/integration/h2_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        not_instrumented=_H2_CAPTURE_SCAFFOLDING,
        summary="HTTP/2 capture replay against a direct-response route (model or real Envoy)",
        reads_input=("model",),
        prestart=_ENVOY_PRESTART,
    ),
    BuiltinSpec(
        "http1_connection",
        "bytes",
        {"model": "harness.codec.fuzz_http1:http1_connection"},
        envoy_corpora=("test/common/http/http1/http1_connection_corpus",),
        summary="Envoy-compatible HTTP/1 codec on raw streams, as requests and as responses",
    ),
    BuiltinSpec(
        "request_header",
        "bytes",
        {"model": "harness.codec.fuzz_http2:request_header"},
        envoy_corpora=("test/common/http/http2/request_header_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        summary="HTTP/2 server codec on raw frames (Envoy frame_replay, two passes)",
    ),
    BuiltinSpec(
        "response_header",
        "bytes",
        {"model": "harness.codec.fuzz_http2:response_header"},
        envoy_corpora=("test/common/http/http2/response_header_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        summary="HTTP/2 client codec on raw frames (Envoy frame_replay, two passes)",
    ),
    BuiltinSpec(
        "http2_connection",
        "proto:test.common.http.http2.Http2ConnectionFuzzCase",
        {"model": "harness.codec.fuzz_http2:http2_connection"},
        envoy_corpora=("test/common/http/http2/http2_connection_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        summary="HTTP/2 server codec on Http2ConnectionFuzzCase frames",
    ),
    BuiltinSpec(
        "hpack",
        "proto:test.common.http.http2.HpackTestCase",
        {"model": "harness.codec.fuzz_http2:hpack"},
        envoy_corpora=("test/common/http/http2/hpack_corpus",),
        instrument=("hpack",),
        summary="HPACK encode/decode round trip",
    ),
    BuiltinSpec(
        "h2_frames",
        "bytes",
        {"model": "harness.codec.fuzz_http2:h2_frames_roundtrip"},
        instrument=("hyperframe",),
        summary="HTTP/2 frame parse/serialize/re-parse fixpoint",
    ),
    BuiltinSpec(
        "string_utility",
        "bytes",
        {"model": "harness.util.fuzz:run_string_utility"},
        summary="Envoy StringUtil: atoull, escape, trim, crop, findToken",
    ),
    BuiltinSpec(
        "base64",
        "bytes",
        {"model": "harness.util.fuzz:run_base64"},
        summary="Envoy Base64/Base64Url encode and strict decode",
    ),
    BuiltinSpec(
        "http_utility",
        "proto:test.common.http.UtilityTestCase",
        {"model": "harness.util.fuzz:run_http_utility"},
        envoy_corpora=("test/common/http/utility_corpus",),
        summary="Envoy Http::Utility: query, cookies, XFF, percent-encoding, authority, H2 options",
    ),
    BuiltinSpec(
        "path_utility",
        "proto:test.common.http.PathUtilityTestCase",
        {"model": "harness.util.fuzz:run_path_utility"},
        envoy_corpora=("test/common/http/path_utility_corpus",),
        summary="Envoy PathUtil: canonicalPath, mergeSlashes, removeQueryAndFragment",
    ),
    BuiltinSpec(
        "header_map",
        "proto:test.common.http.HeaderMapImplFuzzTestCase",
        {"model": "harness.util.fuzz:run_header_map"},
        envoy_corpora=("test/common/http/header_map_impl_corpus",),
        summary="Envoy-like request header map under HeaderMapImplFuzzTestCase actions",
    ),
    BuiltinSpec(
        "server",
        "proto:envoy.config.bootstrap.v3.Bootstrap",
        {
            "model": "harness.config.fuzz:server",
            "envoy": "harness.envoy.server:server",
            "differential": "harness.envoy.server:server_differential",
        },
        envoy_corpora=("test/server/server_corpus",),
        summary="v3 Bootstrap configs through a model of envoy --mode validate (server_fuzz_test)",
        envoy_modes=("validate", "serve"),
    ),
    BuiltinSpec(
        "codec_impl",
        "proto:test.common.http.CodecImplFuzzTestCase",
        {"model": "harness.codec.codec_impl:codec_impl"},
        envoy_corpora=("test/common/http/codec_impl_corpus",),
        instrument=("h2", "hpack", "hyperframe"),
        not_instrumented=_CODEC_IMPL_SCAFFOLDING,
        summary="HTTP/1 and HTTP/2 client and server codecs driven against each other",
    ),
    BuiltinSpec(
        "http1_codec_impl",
        "proto:test.common.http.http1.Http1CodecImplFuzzTestCase",
        {"model": "harness.codec.codec_impl:http1_codec_impl"},
        envoy_corpora=("test/common/http/http1/http1_codec_impl_corpus",),
        summary="HTTP/1 codec on Http1CodecImplFuzzTestCase request and response messages",
    ),
)


@dataclass
class Target:
    name: str
    input: str
    corpus: Path
    dictionary: Path | None
    source: str  # "builtin" or the path of the user's targets file
    summary: str = ""
    envoy_corpora: tuple[str, ...] = ()
    instrument: tuple[str, ...] = ()
    not_instrumented: tuple[str, ...] = ()  # exact module names (BuiltinSpec)
    reads_input: tuple[str, ...] = ()  # planes (BuiltinSpec)
    _entries: dict[str, str] = field(default_factory=dict)
    _functions: dict[str, RunFunction] = field(default_factory=dict)

    @property
    def planes(self) -> tuple[str, ...]:
        return tuple(p for p in PLANES if p in self._entries or p in self._functions)

    @property
    def proto_name(self) -> str | None:
        return self.input.removeprefix("proto:") if self.input.startswith("proto:") else None

    @property
    def regressions(self) -> Path:
        return self.corpus / "regressions"

    @property
    def fuzzer_script(self) -> Path | None:
        """The checked-in `fuzzers/fuzz_<name>.py` of a built-in target."""
        script = FUZZERS_ROOT / f"fuzz_{self.name}.py"
        return script if self.source == "builtin" and script.exists() else None

    def entry(self, plane: str) -> str | None:
        """The ``"module:function"`` of a built-in plane (None for a function registered
        from user code, or a plane the target lacks)."""
        return self._entries.get(plane)

    def default_plane(self) -> str:
        return "model" if "model" in self.planes else self.planes[0]

    def run_function(self, plane: str | None = None) -> RunFunction:
        """The run function of ``plane`` (imports a built-in target's module on first use)."""
        plane = plane or self.default_plane()
        if plane not in self.planes:
            raise UserError(
                f"target {self.name!r} has no {plane!r} plane (it has: {', '.join(self.planes)})"
            )
        if plane not in self._functions:
            module_name, _, attr = self._entries[plane].partition(":")
            self._functions[plane] = getattr(importlib.import_module(module_name), attr)
        return self._functions[plane]


_registry: dict[str, Target] = {}
_loaded_files: set[Path] = set()


def _validate(name: str, input: str, plane: str) -> None:
    if not _NAME.match(name):
        raise UserError(f"target name {name!r} must match [a-z][a-z0-9_]*")
    if input != "bytes" and not (input.startswith("proto:") and len(input) > len("proto:")):
        raise UserError(
            f"target {name!r}: input must be 'bytes' or 'proto:<message>', not {input!r}"
        )
    if plane not in PLANES:
        raise UserError(f"target {name!r}: plane must be one of {', '.join(PLANES)}, not {plane!r}")


def _add_builtins() -> None:
    for spec in BUILTIN_TARGETS:
        if spec.name in _registry:
            continue
        dictionary = FUZZERS_ROOT / f"{spec.name}.dict"
        _registry[spec.name] = Target(
            name=spec.name,
            input=spec.input,
            corpus=CORPORA_ROOT / spec.name,
            dictionary=dictionary if dictionary.exists() else None,
            source="builtin",
            summary=spec.summary,
            envoy_corpora=spec.envoy_corpora,
            instrument=spec.instrument,
            not_instrumented=spec.not_instrumented,
            reads_input=spec.reads_input,
            _entries=dict(spec.planes),
        )


def register(
    name: str,
    fn: RunFunction,
    input: str = "bytes",
    *,
    plane: str = "model",
    corpus: str | Path | None = None,
    dictionary: str | Path | None = None,
    instrument: Iterable[str] = (),
    summary: str = "",
    envoy_corpora: Iterable[str] = (),
) -> Target:
    """Register a fuzz target (or another plane of one) from user code.

    ``fn`` receives the raw bytes (``input="bytes"``) or the parsed message
    (``input="proto:pkg.Message"``; import its ``_pb2`` module first). It returns normally
    when the input is handled, raises ``harness.InvariantViolation`` when an oracle fails, and
    any other exception is reported as an uncaught exception. ``envoy_corpora`` names
    folders of an Envoy checkout that `envoy-fuzz import-envoy` copies into the corpus.
    """
    _validate(name, input, plane)
    _add_builtins()
    source = _current_file or "<python>"
    base = Path(_current_file).parent if _current_file else Path.cwd()
    existing = _registry.get(name)
    if existing is not None:
        if existing.source != source:
            raise UserError(f"target {name!r} is already defined by {existing.source}")
        if existing.input != input:
            raise UserError(
                f"target {name!r}: planes disagree on input ({existing.input} vs {input})"
            )
        existing._functions[plane] = fn
        return existing
    corpus_dir = Path(corpus) if corpus is not None else base / "corpora" / name
    dict_path = Path(dictionary) if dictionary is not None else None
    target = Target(
        name=name,
        input=input,
        corpus=corpus_dir if corpus_dir.is_absolute() else base / corpus_dir,
        dictionary=(
            dict_path if dict_path is None or dict_path.is_absolute() else base / dict_path
        ),
        source=source,
        summary=summary or _first_line(fn.__doc__),
        instrument=tuple(instrument),
        envoy_corpora=tuple(envoy_corpora),
        _functions={plane: fn},
    )
    _registry[name] = target
    return target


_current_file: str | None = None


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def load_file(path: str | Path) -> list[Target]:
    """Import a user's targets file; returns the targets it registered."""
    global _current_file
    file = Path(path).resolve()
    if file in _loaded_files:
        return [t for t in _registry.values() if t.source == str(file)]
    if not file.is_file():
        raise UserError(f"targets file not found: {path}")
    _add_builtins()
    _current_file = str(file)
    try:
        _import_file(file)
    except UserError:
        raise
    except SyntaxError as e:
        raise UserError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        raise UserError(f"{path}: failed to import: {type(e).__name__}: {e}") from None
    finally:
        _current_file = None
    _loaded_files.add(file)
    found = [t for t in _registry.values() if t.source == str(file)]
    if not found:
        raise UserError(f"{path} registers no targets (call harness.register(name, fn, input=...))")
    return found


def load_module(module_name: str) -> list[Target]:
    """Import a user's targets module by name; returns the targets it registered. A frozen
    fuzzer (``envoy-fuzz ci build``) bundles the user's targets file as a module, since no
    file of the checkout is there when it runs."""
    global _current_file
    _add_builtins()
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise UserError(f"targets module not found: {module_name}")
    source = spec.origin or module_name
    if module_name not in sys.modules:
        _current_file = source
        try:
            importlib.import_module(module_name)
        finally:
            _current_file = None
    found = [t for t in _registry.values() if t.source == source]
    if not found:
        raise UserError(f"targets module {module_name} registers no targets")
    return found


def _import_file(file: Path) -> None:
    """Import through the import system when the name allows, so that atheris's import hook
    instruments the file (and the modules beside it); else load it from its path."""
    stem = file.stem
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.stdlib_module_names:
        sys.path.insert(0, str(file.parent))
        try:
            module = importlib.import_module(stem)
        finally:
            sys.path.remove(str(file.parent))
        if Path(module.__file__ or "").resolve() == file:
            return
    spec = importlib.util.spec_from_file_location(f"envoy_fuzz_targets_{stem}", file)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import targets file {file} (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)


def prestart(name: str) -> None:
    """Start built-in target ``name``'s envoy-plane resources early (see ``BuiltinSpec``);
    nothing for other targets. Loads nothing but the hook's module."""
    spec = next((s for s in BUILTIN_TARGETS if s.name == name), None)
    if spec is not None and spec.prestart:
        module_name, _, attr = spec.prestart.partition(":")
        getattr(importlib.import_module(module_name), attr)(name)


def envoy_modes(name: str) -> tuple[str, ...]:
    """The ``--envoy-mode`` values built-in target ``name`` takes (none for most)."""
    spec = next((s for s in BUILTIN_TARGETS if s.name == name), None)
    return spec.envoy_modes if spec is not None else ()


def all_targets() -> list[Target]:
    _add_builtins()
    return sorted(_registry.values(), key=lambda t: t.name)


def get(name: str) -> Target:
    _add_builtins()
    target = _registry.get(name)
    if target is None:
        close = difflib.get_close_matches(name, list(_registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (see `envoy-fuzz targets`)"
        raise UserError(f"unknown target {name!r}{hint}")
    return target
