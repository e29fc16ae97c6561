"""Reading libFuzzer's output lines."""

from harness.engine.progress import Stats


def test_single_process_status_and_final_stats() -> None:
    stats = Stats()
    for line in [
        "#2\tINITED cov: 5 ft: 6 corp: 1/14b exec/s: 0 rss: 83Mb",
        "#4096\tpulse  cov: 88 ft: 120 corp: 12/345b lim: 4 exec/s: 2048 rss: 84Mb",
        "#5000\tNEW    cov: 90 ft: 125 corp: 13/400b lim: 33 exec/s: 2500 rss: 85Mb L: 5/33 MS: 1",
        "stat::number_of_executed_units: 5123",
        "stat::new_units_added:          13",
    ]:
        stats.feed(line)
    assert (stats.runs, stats.cov, stats.ft, stats.corpus_units) == (5123, 90, 125, 13)
    assert (stats.exec_per_sec, stats.rss_mb, stats.new_units) == (2500, 85, 13)


def test_fork_mode_lines_and_artifacts() -> None:
    stats = Stats()
    stats.feed(
        "#9000: cov: 70 ft: 99 corp: 20 exec/s: 3000 oom/timeout/crash: 0/1/2 time: 5s job: 3"
    )
    stats.feed("artifact_prefix='/a/'; Test unit written to /a/crash-abc")
    stats.feed("=== Uncaught Python exception: ===")
    assert (stats.runs, stats.cov, stats.corpus_units, stats.timeouts, stats.crashes) == (
        9000,
        70,
        20,
        1,
        2,
    )
    assert stats.artifacts == ["/a/crash-abc"]
    assert stats.crash_lines == ["=== Uncaught Python exception: ==="]


def test_parallel_workers_combine_into_one_view() -> None:
    first, second = Stats(), Stats()
    first.feed("#1500 pulse  cov: 40 ft: 90 corp: 7/1Kb exec/s: 900 rss: 60Mb")
    second.feed("#1200 pulse  cov: 44 ft: 80 corp: 9/2Kb exec/s: 800 rss: 70Mb")
    second.feed("Test unit written to artifacts/crash-abc")
    both = Stats.combined([first, second])
    assert (both.runs, both.exec_per_sec, both.rss_mb) == (2700, 1700, 130)  # counts add up
    assert (both.cov, both.ft, both.corpus_units) == (44, 90, 9)  # the largest worker's
    assert both.artifacts == ["artifacts/crash-abc"]
    assert Stats.combined([first]) is first
