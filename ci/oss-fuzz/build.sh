#!/bin/bash -eu
# The one build script of envoy-fuzz's fuzzers: OSS-Fuzz (ci/oss-fuzz/Dockerfile copies it to
# $SRC/build.sh), ClusterFuzzLite (.clusterfuzzlite/build.sh is a link to it) and the local
# simulation `envoy-fuzz ci build` (which runs this file) all run it. It writes to $OUT, as
# OSS-Fuzz's Python projects do: fuzz_<t> (wrapper), fuzz_<t>.pkg (pyinstaller --onefile),
# fuzz_<t>_seed_corpus.zip, fuzz_<t>.dict, fuzz_<t>.options.
cd "$SRC/envoy-fuzz"

# The local build runs from a venv that has the project installed already.
if [ "${ENVOY_FUZZ_PREINSTALLED:-0}" != 1 ]; then
  pip3 install .
fi

# One fuzz script per OSS-Fuzz-legal target (fuzzers/fuzz_<t>.py for the built-in ones), with
# the pyinstaller arguments for what it imports by name (harness/ci/plan.py says which).
plan=$WORK/envoy-fuzz-plan
rm -rf "$plan"
python3 -m harness.ci.plan scripts "$plan" > /dev/null

compile_one() {  # SCRIPT: compile_python_fuzzer SCRIPT with the arguments planned for it
  local args=()
  mapfile -t args < "${1%.py}.args"
  compile_python_fuzzer "$1" "${args[@]}"
}
export -f compile_one
# One at a time unless asked: OSS-Fuzz's compile_python_fuzzer clears the work directory that
# every build shares. The local one gives each build its own, and sets ENVOY_FUZZ_BUILD_JOBS.
find "$plan" -name 'fuzz_*.py' | sort |
  xargs -d '\n' -n 1 -P "${ENVOY_FUZZ_BUILD_JOBS:-1}" bash -euc 'compile_one "$0"'

# Seed corpora (corpora/<t>/ with envoy/ and regressions/), dictionaries, options.
python3 -m harness.ci.plan extras "$OUT" > /dev/null
