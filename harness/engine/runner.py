"""The engine side of a fuzz run: hands one target to atheris (libFuzzer) in this process.

``fuzzers/fuzz_<target>.py`` calls ``runner.main("<target>")``; so does the launcher that
``envoy-fuzz fuzz`` writes for a user's target. Everything after the script name on the
command line is passed to libFuzzer, so each fuzzer script also runs standalone
(``python fuzzers/fuzz_x.py corpus/ -runs=1000``), which is what OSS-Fuzz packages.

The environment carries what the command line cannot (libFuzzer re-executes the script for
-fork/-jobs/-merge/-minimize_crash, and those children must see the same setup):

* ``ENVOY_FUZZ_TARGETS``: a user's targets file to import first;
* ``ENVOY_FUZZ_PLANE``: ``model`` or ``envoy`` (default: the target's first plane);
* ``ENVOY_FUZZ_MUTATOR``: ``auto`` (structure-aware for proto targets) or ``bytes``;
* ``ENVOY_FUZZ_FEEDBACK``: on the envoy plane, ``stats`` (the default: Envoy's stat counters
  are extra coverage features, ``harness.engine.features``) or ``visible`` (only what Envoy
  visibly did guides the fuzzer); ``ENVOY_FUZZ_STATS_OUT``: a dir where the envoy plane writes
  the stat counters it saw change (``harness.envoy.stats``);
* ``ENVOY_FUZZ_ENVOY_MODE``: how the config target's envoy plane runs Envoy on an input,
  ``validate`` (the default) or ``serve`` (``harness.envoy.serve``); the command sets it in
  its own environment, so that its end-of-run triage and side replays see it too;
* ``ENVOY_FUZZ_STATS_BATCH``: inputs per read of Envoy's counters under ``--feedback stats``
  (default ``harness.envoy.stats.BATCH``; 1 reads after every input);
* ``ENVOY_FUZZ_SPIN``: seconds an Envoy lane polls before a wait for Envoy sleeps (default
  ``harness.envoy.lane.SPIN``; the launcher sets 0 when it runs more workers than cores, where
  polling takes the CPU an Envoy needs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness import targets

ENV_TARGETS = "ENVOY_FUZZ_TARGETS"
ENV_PLANE = "ENVOY_FUZZ_PLANE"
ENV_MUTATOR = "ENVOY_FUZZ_MUTATOR"
ENV_SPIN = "ENVOY_FUZZ_SPIN"
ENV_FEEDBACK = "ENVOY_FUZZ_FEEDBACK"
ENV_STATS_OUT = "ENVOY_FUZZ_STATS_OUT"
ENV_STATS_BATCH = "ENVOY_FUZZ_STATS_BATCH"
ENV_ENVOY_MODE = "ENVOY_FUZZ_ENVOY_MODE"
FEEDBACKS = ("stats", "visible")
# libFuzzer's output corpus (its first corpus dir, which it reloads every second) in a fuzz
# run of this process; None outside one. The envoy plane hands inputs back through it.
output_corpus: Path | None = None
NOT_INSTRUMENTED = (
    "google",
    "grpc",
    "envoy",
    "validate",
    "xds",
    "udpa",
    "atheris",
    "rich",
    "hypothesis",
    "pytest",
    "_pytest",
)
# Per-byte, table-driven loops inside libraries a target instruments: every input runs their
# lines alike, so tracing them adds no coverage signal (a failure still shows, as the
# caller's exception path) yet costs most of the time (hpack's Huffman coder: ~80 % of the
# hpack target's, profiled under atheris).
HOT_LOOPS = ("hpack.huffman", "hpack.huffman_table", "harness.codec.huffman")
# Machinery no target tests, whatever imports it: the clones of h2 connections that targets
# make per input (its branches follow the template's state, not the input). What a single
# target imports but does not test is that target's ``not_instrumented``.
MACHINERY = ("harness.codec.h2_clone",)


def test_one_input(
    target: targets.Target, plane: str | None = None, *, cached: bool = True
) -> Callable[[bytes], None]:
    """The libFuzzer entry point for ``target``: decode the bytes, then run the target
    (``cached``: see ``corpus.Decoder``; False where each input runs once)."""
    from harness.engine import corpus

    run = target.run_function(plane)
    if target.proto_name is None:
        return run  # bytes targets take the input as it is: nothing to add per input
    # a run function that only reads its input takes the parsed message itself
    shared = (plane or target.default_plane()) in target.reads_input
    decode = corpus.Decoder(target, cached=cached, shared=shared).decode

    def one_input(data: bytes) -> None:
        value = decode(data)
        if value is not None:  # unparsable text: skipped, as libprotobuf-mutator does
            run(value)

    return one_input


def main(name: str, argv: list[str] | None = None, *, targets_module: str | None = None) -> None:
    """Fuzz target ``name`` under atheris with libFuzzer flags from ``argv``; a UserError
    before the first input (Envoy missing, a bad targets file) is one line and exit 2.
    ``targets_module`` names a user's targets module to import first (a frozen fuzzer has no
    targets file on disk, so it bundles the file as a module)."""
    from harness.errors import UserError, one_line

    try:
        _main(name, argv, targets_module)
    except UserError as e:
        print(one_line(e), file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _main(name: str, argv: list[str] | None, targets_module: str | None = None) -> None:
    from harness import targets

    argv = list(sys.argv if argv is None else argv)
    plane = os.environ.get(ENV_PLANE) or None
    if plane == "envoy" and not hands_inputs_to_children(argv):
        # first of all: Envoy gets ready while the engine loads (a no-op for targets
        # without a lane of their own)
        targets.prestart(name)

    import atheris

    # Imported before any instrumentation block, so that atheris does not instrument the
    # harness's own machinery (decoding, mutation): coverage and speed belong to the target.
    from harness import proto
    from harness.engine import corpus, mutate  # noqa: F401  (corpus: for test_one_input)

    targets_file = os.environ.get(ENV_TARGETS)
    if targets_file or targets_module:
        # A user's file: instrument it and what it imports (their parser), but not the
        # standard library or the big libraries every run loads anyway.
        with atheris.instrument_imports(
            exclude=[*sys.stdlib_module_names, *NOT_INSTRUMENTED, *HOT_LOOPS]
        ):
            if targets_file:
                targets.load_file(targets_file)
            else:
                targets.load_module(str(targets_module))
    target = targets.get(name)
    if target.proto_name is not None:
        proto.message_class(target.proto_name)  # generated schemas: nothing to instrument
    exclude = [*HOT_LOOPS, *MACHINERY, *target.not_instrumented]
    with atheris.instrument_imports(include=["harness", *target.instrument], exclude=exclude):
        entry = test_one_input(target, plane)

    if plane == "envoy" and feedback() == "stats":
        from harness.engine import features

        features.reserve()  # before atheris.Fuzz(), which hands libFuzzer the counters

    hooks: dict[str, Any] = {}
    if target.proto_name is not None and os.environ.get(ENV_MUTATOR, "auto") != "bytes":
        # looked up per call: atheris.Setup rebinds atheris.Mutate to the loaded engine's
        mutator = mutate.ProtoMutator(
            proto.message_class(target.proto_name), byte_mutator=lambda d, n: atheris.Mutate(d, n)
        )
        hooks = {"custom_mutator": mutator.mutate, "custom_crossover": mutator.crossover}
    global output_corpus
    output_corpus = _output_corpus(argv)
    atheris.Setup(argv, entry, **hooks)
    atheris.Fuzz()


def _output_corpus(argv: list[str]) -> Path | None:
    """libFuzzer's output corpus: its first corpus dir, unless the run reloads none
    (``-reload=0``) or hands its inputs to children or takes them as files."""
    if hands_inputs_to_children(argv) or any(a.startswith("-reload=0") for a in argv):
        return None
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if dirs and Path(dirs[0]).is_dir():
        return Path(dirs[0])
    return None


def feedback() -> str:
    """What guides the envoy plane (``ENV_FEEDBACK``; ``stats`` unless set to ``visible``)."""
    return "visible" if os.environ.get(ENV_FEEDBACK) == "visible" else "stats"


def envoy_mode() -> str:
    """How the config target's envoy plane runs Envoy (``ENV_ENVOY_MODE``; ``validate``
    unless set to ``serve``)."""
    return "serve" if os.environ.get(ENV_ENVOY_MODE) == "serve" else "validate"


# libFuzzer flags whose process runs no inputs itself: it re-executes this script for them.
_ORCHESTRATING = ("-fork=", "-jobs=", "-merge=", "-minimize_crash=")


def hands_inputs_to_children(argv: list[str]) -> bool:
    """Whether libFuzzer, given ``argv``, only orchestrates processes of its own."""
    return any(
        arg.startswith(_ORCHESTRATING) and arg.split("=", 1)[1] not in ("", "0") for arg in argv
    )
