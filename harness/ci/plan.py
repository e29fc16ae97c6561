"""What ``ci/oss-fuzz/build.sh`` builds: the steps it cannot say in shell.

``build.sh`` runs ``python3 -m harness.ci.plan scripts PLAN`` (one fuzz script per target in
PLAN, and beside each the extra pyinstaller arguments ``compile_python_fuzzer`` needs, one a
line), compiles each script, then ``python3 -m harness.ci.plan extras $OUT`` (seed corpus
zip, dictionary, options of each fuzzer). OSS-Fuzz, ClusterFuzzLite and ``envoy-fuzz ci build``
all run that one build.sh; the local build picks what to build through the environment:

* ``ENVOY_FUZZ_CI_TARGETS``: target names, space-separated (default: every built-in target
  that is legal on OSS-Fuzz);
* ``ENVOY_FUZZ_CI_TARGETS_FILES``: users' targets files (``os.pathsep``-separated) whose
  targets are built too (all of them unless named in ``ENVOY_FUZZ_CI_TARGETS``).

A target is OSS-Fuzz-legal when it has a ``model`` plane: it runs in-process. The envoy and
differential planes start a real Envoy, a child process OSS-Fuzz forbids in a fuzz target (and
its binary is not in the image), so they are never built.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

from harness import targets
from harness.ci import outdir
from harness.engine import corpus
from harness.engine.launch import DEFAULT_FLAGS
from harness.errors import UserError, one_line

ENV_TARGETS = "ENVOY_FUZZ_CI_TARGETS"
ENV_TARGETS_FILES = "ENVOY_FUZZ_CI_TARGETS_FILES"
PLANE = "model"  # the one plane a frozen fuzzer runs (in-process: OSS-Fuzz-legal)
ARGS_SUFFIX = ".args"

# Libraries whose modules the harness imports by name at run time, so pyinstaller's static
# analysis cannot see them: the generated schemas (harness.proto.message_class walks them).
_PROTO_PACKAGE = "harness.proto"


def is_oss_fuzz_legal(target: targets.Target) -> bool:
    return PLANE in target.planes


def _load_files() -> list[Path]:
    files = [Path(f) for f in os.environ.get(ENV_TARGETS_FILES, "").split(os.pathsep) if f]
    for file in files:
        targets.load_file(file)
    return [f.resolve() for f in files]


def selected() -> list[targets.Target]:
    """The targets this build freezes (see the module's docstring)."""
    files = _load_files()
    names = os.environ.get(ENV_TARGETS, "").split()
    if names:
        chosen = [targets.get(n) for n in dict.fromkeys(names)]
    else:
        users = {str(f) for f in files}
        chosen = [t for t in targets.all_targets() if t.source == "builtin" or t.source in users]
        if files:  # a user's build: their targets, not every built-in one besides
            chosen = [t for t in chosen if t.source != "builtin"]
    illegal = [t.name for t in chosen if not is_oss_fuzz_legal(t)]
    if illegal:
        raise UserError(
            f"no in-process ({PLANE}) plane, so not buildable for OSS-Fuzz: {', '.join(illegal)}"
        )
    return chosen


def _proto_modules() -> list[str]:
    folder = Path(targets.PROJECT_ROOT) / "harness" / "proto"
    return sorted(f"{_PROTO_PACKAGE}.{p.stem}" for p in folder.glob("*_pb2.py"))


def _user_module(target: targets.Target) -> str:
    stem = Path(target.source).stem
    if not stem.isidentifier():
        raise UserError(
            f"{target.source}: a targets file to freeze needs a module name "
            f"(letters, digits, _), not {stem!r}"
        )
    return stem


def script_text(target: targets.Target) -> str:
    """The fuzz script of ``target``: the checked-in one of a built-in target; for a user's
    target the same three lines naming the user's module, which the frozen fuzzer bundles."""
    if target.source == "builtin" and target.fuzzer_script is not None:
        return target.fuzzer_script.read_text()
    module = _user_module(target)
    return (
        "#!/usr/bin/env python3\n"
        f'"""{target.name}: a user target from {Path(target.source).name} '
        '(written by envoy-fuzz ci build)."""\n\n'
        "import sys\n\nfrom harness.engine import runner\n\n"
        'if __name__ == "__main__":\n'
        f"    runner.main({target.name!r}, sys.argv, targets_module={module!r})\n"
    )


def pyinstaller_args(target: targets.Target) -> list[str]:
    """Extra arguments for ``compile_python_fuzzer``: what the fuzzer imports by name."""
    args = ["--paths", str(targets.PROJECT_ROOT)]
    entry = target.entry(PLANE)
    if entry is not None:
        args += ["--hidden-import", entry.partition(":")[0]]
    else:  # a user's file: bundled as a module, found beside it
        args += ["--paths", str(Path(target.source).parent)]
        args += ["--hidden-import", _user_module(target)]
    for module in (*_proto_modules(), *target.instrument):
        args += ["--hidden-import", module]
    return args


def write_scripts(plan: Path) -> list[Path]:
    """One ``fuzz_<t>.py`` and ``fuzz_<t>.args`` per selected target in ``plan``."""
    plan.mkdir(parents=True, exist_ok=True)
    written = []
    for target in selected():
        fuzzer = outdir.fuzzer_name(target.name)
        script = plan / f"{fuzzer}.py"
        script.write_text(script_text(target))
        script.chmod(0o755)
        (plan / f"{fuzzer}{ARGS_SUFFIX}").write_text("\n".join(pyinstaller_args(target)) + "\n")
        written.append(script)
    return written


def seed_files(target: targets.Target) -> list[Path]:
    """Every testcase of the target's corpus: seeds, ``envoy/`` and ``regressions/``."""
    return list(corpus.iter_files(target.corpus))


def write_seed_zip(target: targets.Target, path: Path) -> int:
    """The seed corpus zip (flat, named by sha1 as libFuzzer names corpus files, so two
    folders' same-named files cannot collide); returns how many files it holds."""
    names: set[str] = set()
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in seed_files(target):
            data = file.read_bytes()
            name = corpus.sha1(data)
            if name not in names:
                names.add(name)
                zf.writestr(name, data)
    tmp.replace(path)
    return len(names)


def write_extras(out: Path) -> list[str]:
    """Seed zip, dictionary and options of every selected target in ``out``."""
    done = []
    for target in selected():
        fuzzer = outdir.fuzzer_name(target.name)
        write_seed_zip(target, outdir.seed_corpus(out, fuzzer))
        if target.dictionary is not None and target.dictionary.is_file():
            shutil.copyfile(target.dictionary, outdir.dictionary(out, fuzzer))
        outdir.write_options(outdir.options_file(out, fuzzer), list(DEFAULT_FLAGS))
        done.append(fuzzer)
    return done


def main(argv: list[str]) -> int:
    usage = "usage: python3 -m harness.ci.plan scripts PLAN | extras OUT"
    try:
        if len(argv) == 2 and argv[0] == "scripts":
            for script in write_scripts(Path(argv[1])):
                print(script)
        elif len(argv) == 2 and argv[0] == "extras":
            print(" ".join(write_extras(Path(argv[1]))))
        else:
            print(usage, file=sys.stderr)
            return 2
    except UserError as e:
        print(one_line(e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
