"""Corpus regression replay: every corpus file of every in-process target, once each.

One test per file (ids like ``h1_capture/regressions/crash-<sha1>`` or
``http1_connection/envoy/case000``). Seeds, Envoy's imported corpora and minimized crashers
(``regressions/``) all replay here forever; a file that still finds something fails with the
finding's kind, signature and message.
"""

from __future__ import annotations

import pytest

from harness import targets
from harness.triage import replay

CASES = list(replay.cases([t for t in targets.all_targets() if "model" in t.planes]))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_corpus_file_replays_cleanly(case: replay.Case) -> None:
    outcome = replay.run_case(case)
    if outcome.status == "skipped":
        pytest.skip(f"{case.id}: {outcome.message} (libprotobuf-mutator skips it too)")
    if outcome.status == "finding":
        pytest.fail(
            f"{case.id}: {outcome.kind} [{outcome.signature}]: {outcome.message}\n"
            + outcome.traceback,
            pytrace=False,
        )


def test_every_builtin_target_has_a_seed_corpus_and_a_fuzzer_script() -> None:
    for target in targets.all_targets():
        if target.source != "builtin":
            continue
        assert target.fuzzer_script is not None, f"fuzzers/fuzz_{target.name}.py is missing"
        assert any(True for _ in replay.cases([target])), f"corpora/{target.name}/ has no files"
