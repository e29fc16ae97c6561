"""What an OSS-Fuzz ``$OUT`` holds, and how OSS-Fuzz's runner starts what is in it.

One place for the conventions the build writes and the checks and runs read (checked against
google/oss-fuzz: ``compile_python_fuzzer``, ``base-runner/{run_fuzzer,parse_options.py,
test_all.py,bad_build_check}``): ``<fuzzer>`` (an sh wrapper naming ``LLVMFuzzerTestOneInput``),
``<fuzzer>.pkg`` (the pyinstaller package), ``<fuzzer>_seed_corpus.zip``, ``<fuzzer>.dict``,
``<fuzzer>.options`` (INI: ``[libfuzzer]`` keys become ``-key=value`` flags).
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError

# What marks a file in $OUT as a fuzz target (test_all.find_fuzz_targets).
TARGET_MARKER = b"LLVMFuzzerTestOneInput"
# Files test_all skips by name, and prefixes it skips.
NOT_TARGETS = ("llvm-symbolizer",)
NOT_TARGET_PREFIXES = ("afl-", "jazzer_")
# run_fuzzer's FUZZER_ARGS default (base-runner Dockerfile).
RUNNER_FUZZER_ARGS = ("-rss_limit_mb=2560", "-timeout=25")
SANITIZER_LIBRARY = "sanitizer_with_fuzzer.so"
# atheris' own copies, one per sanitizer (OSS-Fuzz's `compile` copies one to $OUT)
SANITIZER_SOURCES = {"address": "asan_with_fuzzer.so", "undefined": "ubsan_with_fuzzer.so"}
X86_64 = 62  # ELF e_machine of x86-64


def fuzzer_name(target: str) -> str:
    """The OSS-Fuzz name of a target's fuzzer (the name of its script, as in fuzzers/)."""
    return f"fuzz_{target}"


def seed_corpus(out: Path, fuzzer: str) -> Path:
    return out / f"{fuzzer}_seed_corpus.zip"


def dictionary(out: Path, fuzzer: str) -> Path:
    return out / f"{fuzzer}.dict"


def options_file(out: Path, fuzzer: str) -> Path:
    return out / f"{fuzzer}.options"


def package(out: Path, fuzzer: str) -> Path:
    return out / f"{fuzzer}.pkg"


def _is_elf(head: bytes) -> bool:
    return head.startswith(b"\x7fELF")


def _is_shell_script(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.startswith(b"#!") and first.rstrip().endswith((b"sh", b"bash"))


def find_fuzz_targets(out: Path) -> list[Path]:
    """Fuzz targets in ``out`` as OSS-Fuzz finds them: executable regular files, ELF or shell
    script, that contain ``LLVMFuzzerTestOneInput`` (sorted by name)."""
    found = []
    for path in sorted(out.iterdir()):
        name = path.name
        if name in NOT_TARGETS or name.startswith(NOT_TARGET_PREFIXES) or not path.is_file():
            continue
        if not path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            continue
        data = path.read_bytes()
        if (_is_elf(data[:4]) or _is_shell_script(data[:128])) and TARGET_MARKER in data:
            found.append(path)
    return found


def elf_machine(path: Path) -> int | None:
    """e_machine of an ELF file (62 = x86-64), None when ``path`` is no ELF file."""
    with path.open("rb") as f:
        head = f.read(20)
    if not _is_elf(head) or len(head) < 20:
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def read_options(path: Path) -> dict[str, dict[str, str]]:
    """The sections of an ``.options`` file (configparser, as parse_options.py reads it)."""
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as e:
        raise UserError(f"{path}: not an options file: {e}") from None
    return {section: dict(parser[section]) for section in parser.sections()}


def libfuzzer_options(path: Path) -> list[str]:
    """The ``[libfuzzer]`` section of an options file as flags (``-key=value``)."""
    if not path.exists():
        return []
    return [f"-{k}={v}" for k, v in read_options(path).get("libfuzzer", {}).items()]


def sanitizer_options(path: Path, section: str) -> str:
    """An ``[asan]``/``[ubsan]`` section as ``k=v:k=v`` for ``*SAN_OPTIONS``."""
    if not path.exists():
        return ""
    return ":".join(f"{k}={v}" for k, v in read_options(path).get(section, {}).items())


def write_options(path: Path, flags: list[str]) -> None:
    """An options file whose ``[libfuzzer]`` section carries ``flags`` (``-key=value``)."""
    lines = ["[libfuzzer]"]
    for flag in flags:
        key, sep, value = flag.lstrip("-").partition("=")
        if not sep:
            raise ValueError(f"not a -key=value flag: {flag!r}")
        lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class RunCommand:
    """One start of a fuzzer the way OSS-Fuzz's ``run_fuzzer`` starts it."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


def bare_env() -> dict[str, str]:
    """The environment fuzzers get here: nothing of this process's (no venv, no PYTHONPATH),
    as on a ClusterFuzz bot."""
    env = {"PATH": "/usr/bin:/bin"}
    for name in ("TMPDIR", "LANG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_fuzzer_command(
    out: Path,
    fuzzer: str,
    args: list[str],
    *,
    corpus_dir: Path | None = None,
    fuzzer_args: tuple[str, ...] = RUNNER_FUZZER_ARGS,
    cwd: Path | None = None,
) -> RunCommand:
    """``run_fuzzer FUZZER ARGS``: ``$OUT/FUZZER -- $FUZZER_ARGS ARGS [CORPUS] [options]
    [-dict=$OUT/FUZZER.dict]`` from ``cwd`` (default ``$OUT``), with OUT unset and the
    options' sanitizer sections in ``*SAN_OPTIONS``. The options come after ``args``, so
    they win (as in run_fuzzer)."""
    options = options_file(out, fuzzer)
    argv = [str(out / fuzzer), "--", *fuzzer_args, *args]
    if corpus_dir is not None:
        argv.append(str(corpus_dir))
    argv += libfuzzer_options(options)
    if not any(a.startswith("-dict=") for a in argv) and dictionary(out, fuzzer).exists():
        argv.append(f"-dict={dictionary(out, fuzzer)}")
    env = bare_env()
    for section, variable in (("asan", "ASAN_OPTIONS"), ("ubsan", "UBSAN_OPTIONS")):
        extra = sanitizer_options(options, section)
        if extra:
            env[variable] = extra
    return RunCommand(argv, env, cwd or out)
