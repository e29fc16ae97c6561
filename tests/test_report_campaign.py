"""The campaign report: inline SVG plots that draw the run's libFuzzer status lines, the
findings table, settings, summary.json; nothing external; rendered by a real browser."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html import escape
from pathlib import Path

import pytest

from harness.engine.progress import MAX_SAMPLES, Sample, Stats, combined_series
from harness.report import svg
from tests.conftest import envoy_fuzz

SERIES = {"exec/s": "exec_per_sec", "coverage (cov)": "cov", "features (ft)": "ft"}
SERIES["corpus size (inputs)"] = "corpus_units"
_FIELDS = {
    "cov": re.compile(r"\bcov: (\d+)"),
    "ft": re.compile(r"\bft: (\d+)"),
    "corpus_units": re.compile(r"\bcorp: (\d+)"),
    "exec_per_sec": re.compile(r"\bexec/s: (\d+)"),
}


def status_lines(log: Path) -> list[dict[str, int]]:
    """Each libFuzzer status line's figures, read straight from the log (a figure a line
    leaves out keeps its last value, as the launcher's reading does)."""
    current = dict.fromkeys(_FIELDS, 0)
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if not re.match(r"^#\d+", line):
            continue
        for name, pattern in _FIELDS.items():
            if m := pattern.search(line):
                current[name] = int(m.group(1))
        out.append(dict(current))
    return out


def plotted(html: str) -> dict[str, list[tuple[float, float]]]:
    """Every plot's polyline mapped back to data values through its axes."""
    plots = {}
    for m in re.finditer(r"<svg class=\"plot\"(.*?)</svg>", html, re.S):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1).split(">", 1)[0]))
        left, top, width, height = map(float, attrs["data-area"].split())
        x_max, y_max = float(attrs["data-x-max"]), float(attrs["data-y-max"])
        line = re.search(r'<polyline points="([^"]*)"', m.group(1))
        points = []
        for pair in line.group(1).split() if line else []:
            px, py = map(float, pair.split(","))
            points.append(((px - left) / width * x_max, (top + height - py) / height * y_max))
        plots[attrs["data-series"]] = points
        assert y_max / height * 0.051 < max(1.0, y_max / 100)  # precise enough to compare
    return plots


def assert_no_external_resource(html: str) -> None:
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\b(src|srcset)\s*=", html, re.I)
    assert not re.search(r"url\(|@import|@font-face", html, re.I)
    assert [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")] == []
    assert not re.search(r"https?://", html)


def assert_plots_match_log(html: str, target: str, log: Path, seconds: float) -> None:
    plots = plotted(html)
    lines = status_lines(log)
    assert len(lines) >= 3, log.read_text()
    for label, field in SERIES.items():
        points = plots[f"{target}: {label}"]
        y_max = max(v[field] for v in lines) or 1
        assert len(points) == len(lines)  # one point per status line (no thinning this short)
        tolerance = svg.nice_ceiling(y_max) / (svg.HEIGHT - svg.TOP - svg.BOTTOM) * 0.051
        for (_, y), expected in zip(points, lines, strict=True):
            assert abs(y - expected[field]) <= tolerance, (label, y, expected)
        xs = [x for x, _ in points]
        assert xs == sorted(xs) and xs[0] >= 0 and xs[-1] <= seconds + 0.5


def test_fuzz_report_plots_the_status_lines_of_its_log(tmp_path: Path) -> None:
    report = tmp_path / "D"
    result = envoy_fuzz(
        "fuzz", "http1_connection", "--runs", "4000", "--report", str(report), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "report: D/index.html" in result.stdout
    html = (report / "index.html").read_text()
    summary = json.loads((report / "summary.json").read_text())
    (row,) = summary["targets"]
    log = Path(row["log"])
    assert log == tmp_path / "artifacts" / "http1_connection" / "fuzz.log"
    assert_no_external_resource(html)
    assert_plots_match_log(html, "http1_connection", log, row["seconds"])
    # summary.json holds the same series, sample for sample
    assert [dict(zip(SERIES.values(), s, strict=True)) for s in zip(
        *(row["series"][f] for f in SERIES.values()), strict=True
    )] == status_lines(log)  # fmt: skip
    # -runs is a lower bound: libFuzzer's once-a-second -reload can run a few re-read corpus
    # files after its last check of the budget (4002 seen once)
    assert row["runs"] == row["series"]["runs"][-1] >= 4000
    assert summary["settings"]["runs"] == 4000
    assert "-use_value_profile=1" in summary["settings"]["libfuzzer_flags"]
    assert "<h3>Findings</h3><p>No findings.</p>" in html


def test_report_of_a_crash_lists_its_finding_group(tmp_path: Path) -> None:
    targets_file = tmp_path / "crashy.py"
    targets_file.write_text(
        "import harness\n\n"
        "def run(data: bytes) -> None:\n"
        "    if data[:1] == b'Z':\n"
        "        raise ValueError('planted')\n\n"
        "harness.register('crashy', run, input='bytes', corpus='seeds')\n"
    )
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "z").write_bytes(b"Zebra")
    result = envoy_fuzz(
        "fuzz", "crashy", "--targets", str(targets_file), "--runs", "100", "--json", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    page = Path(json.loads(result.stdout)["report"])
    assert page == tmp_path / "artifacts" / "report-crashy" / "index.html"  # the default
    html = page.read_text()
    (group,) = json.loads((page.parent / "summary.json").read_text())["targets"][0][
        "finding_groups"
    ]
    assert group["kind"] == "uncaught-exception" and group["reproducible"] == "yes"
    assert group["smallest"] <= 5 and "crashy" in group["reproduce"]
    assert group["signature"] == "uncaught-exception: run"  # kind + top frame
    for cell in (group["signature"], f"{group['smallest']} B", group["reproduce"]):
        assert escape(cell) in html
    assert_no_external_resource(html)


@pytest.mark.extended
def test_campaign_report_has_a_plot_per_series_and_target(tmp_path: Path) -> None:
    result = envoy_fuzz("campaign", "--time", "20", "--report", "D", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "D" / "index.html").read_text()
    rows = json.loads(result.stdout)
    assert_no_external_resource(html)
    assert len(plotted(html)) == 4 * len(rows) >= 4 * 10
    for row in rows:
        assert_plots_match_log(html, row["target"], Path(row["log"]), row["seconds"])


# --- units ---------------------------------------------------------------------------------


def test_thin_keeps_first_last_and_order() -> None:
    points = [(float(i), float(i * i)) for i in range(2000)]
    thinned = svg.thin(points, 100)
    assert len(thinned) == 100
    assert thinned[0] == points[0] and thinned[-1] == points[-1]
    assert thinned == sorted(thinned) and set(thinned) <= set(points)
    assert svg.thin(points[:50], 100) == points[:50]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 3), (7.5, 8), (11, 12), (21, 25), (1001, 1200)]
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert svg.nice_ceiling(value) == ceiling


def test_a_long_run_keeps_a_bounded_series_ending_with_the_newest_sample() -> None:
    stats = Stats()
    for i in range(3 * MAX_SAMPLES):
        stats.feed(f"#{i + 1}\tNEW    cov: {i} ft: {2 * i} corp: {i}/{i}b exec/s: 9 rss: 1Mb")
        stats.record(float(i))
    assert len(stats.series) <= MAX_SAMPLES
    assert stats.series[0].seconds == 0 and stats.series[-1].seconds == 3 * MAX_SAMPLES - 1
    assert [s.seconds for s in stats.series] == sorted(s.seconds for s in stats.series)


def test_workers_series_combine_like_their_figures() -> None:
    a = [Sample(1.0, 10, 5, 6, 2, 100), Sample(3.0, 30, 8, 9, 4, 100)]
    b = [Sample(2.0, 20, 7, 7, 3, 50)]
    both = combined_series([a, b])
    assert [s.seconds for s in both] == [1.0, 2.0, 3.0]
    assert both[1] == Sample(2.0, 30, 7, 7, 3, 150)  # a's newest + b's
    assert both[2] == Sample(3.0, 50, 8, 9, 4, 150)


# --- a real browser ------------------------------------------------------------------------


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered RGB(A) rows of an 8-bit PNG (what chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width * bpp)
    stride = width * bpp
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i * bpp : i * bpp + 3]) for r in rows for i in range(width)]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium: `make setup-browser`")
def test_chromium_renders_the_plots(tmp_path: Path) -> None:
    from harness.engine.launch import FuzzResult
    from harness.report.campaign import TargetRun, write_report

    stats = Stats(runs=300, cov=40, ft=90, corpus_units=12, exec_per_sec=150)
    for i in range(30):
        stats.series.append(Sample(i * 0.1, i * 10, i, 3 * i, i // 3, 150))
    result = FuzzResult("demo", "model", 3.0, stats, tmp_path, 12, tmp_path, [], 0)
    page = write_report(tmp_path / "r", [TargetRun(result)], {"time": 3}, "demo report")
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--screenshot={shot}",
         "--window-size=1000,900", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 900)
    line_blue = sum(1 for p in pixels if p[2] > 180 and p[0] < 60 and 70 < p[1] < 140)
    assert line_blue > 200  # the four polylines (#0969da) were drawn
