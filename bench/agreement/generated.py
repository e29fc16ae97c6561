"""Generated inputs for the agreement figure: seeded mutants of the suites and the corpora.

Seeds: the hand-written suites (``http1_cases``, ``http2_cases``) and the project's corpora -
the raw ``http1_connection`` files and the downstream bytes of every ``h1_capture*`` /
``h2_capture*`` testcase (``harness.model.fuzz.h1_capture_bytes`` / ``h2_capture_bytes``).

HTTP/1 mutants are byte-level (``generated_inputs``: flips, inserts, erases,
dictionary tokens, crossover). HTTP/2 mutants are frame-level, since a byte flip in a frame
header mostly yields one FRAME_SIZE or PROTOCOL error and tells little about the model: the
frames after the client preface are split and then dropped, duplicated, repeated (floods),
swapped, re-flagged, moved to another stream, truncated, byte-flipped, crossed with another
seed's frames, or joined by one of ``EDGE_FRAMES`` (empty DATA, PING, SETTINGS, RST_STREAM,
WINDOW_UPDATE, PRIORITY, GOAWAY, trailers). Deterministic for a seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench.agreement import http2_build as h2
from bench.agreement.http2_cases import CASES as H2_CASES

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "corpora"
H2_FRAME_HEADER = 9
MAX_BYTES = 128 * 1024

EDGE_FRAMES = (
    h2.data(1, b""),
    h2.data(1, b"", end_stream=True),
    h2.data(1, b"x", end_stream=True),
    h2.ping(),
    h2.ping(ack=True),
    h2.settings(),
    h2.settings(ack=True),
    h2.settings((4, 0)),
    h2.settings((1, 0), (3, 1)),
    h2.rst_stream(1),
    h2.rst_stream(3, 0),
    h2.window_update(0, 1),
    h2.window_update(1, 0),
    h2.window_update(1, 2**31 - 1),
    h2.priority(1, 1),
    h2.priority(3),
    h2.goaway(),
    h2.headers(1, [("x-trailer", "t")]),
    h2.headers(1, [("x-trailer", "t")], end_stream=False),
    h2.headers(1, [(":path", "/t")]),
    h2.get(3),
    h2.get(1, end_stream=False),
    h2.get(5, method="POST", end_stream=False, extra=[("content-length", "1")]),
)


# Tokens the generator splices in (what libFuzzer's dictionary would hold for HTTP/1).
TOKENS = (
    b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b",", b"\x00", b"\x7f", b"\xff",
    b"content-length: ", b"transfer-encoding: chunked", b"host: ", b"connection: close",
    b"expect: 100-continue", b"upgrade: h2c", b"te: trailers", b"0\r\n\r\n", b"HTTP/1.0",
    b"HTTP/1.1", b"GET ", b"POST ", b"CONNECT ", b"OPTIONS * ", b"http://h/", b"%2e", b"#",
    b"x-request-id: ", b"x-envoy-retry-on: 5xx", b"x-forwarded-proto: ", b"1000000", b"-1",
)  # fmt: skip


def generated_inputs(seeds: list[bytes], count: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """``count`` mutants of ``seeds``, 1-4 mutations each, deterministic for ``seed``."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for i in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(6)
            pos = rng.randint(0, len(data))
            if op == 0 and data:
                data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[pos:pos] = rng.choice(TOKENS)
            elif op == 2 and data:
                del data[pos : pos + rng.randint(1, 8)]
            elif op == 3:
                data[pos:pos] = bytes([rng.randrange(256)])
            elif op == 4:
                other = rng.choice(seeds)
                cut = rng.randint(0, len(other))
                data = data[:pos] + bytearray(other[cut:])
            elif op == 5 and data:
                start = rng.randint(0, len(data) - 1)
                data[pos:pos] = data[start : start + rng.randint(1, 16)]
        out.append((f"generated_{i:04d}", bytes(data)))
    return out


def _corpus_files(target: str) -> list[Path]:
    from harness.engine.corpus import iter_files

    root = CORPORA / target
    return sorted(iter_files(root)) if root.is_dir() else []


def http1_seeds() -> list[bytes]:
    """The raw HTTP/1 corpus and the downstream bytes of the HTTP/1 capture corpora."""
    from harness import proto, targets
    from harness.engine.corpus import parse_text_proto
    from harness.model.fuzz import h1_capture_bytes

    seeds = [p.read_bytes() for p in _corpus_files("http1_connection")]
    for target in ("h1_capture", "h1_capture_direct_response"):
        cls = proto.message_class(targets.get(target).proto_name or "")
        for path in _corpus_files(target):
            case = parse_text_proto(cls, path.read_bytes())
            if case is not None:
                seeds.append(h1_capture_bytes(case)[0])
    return [s for s in seeds if s]


def http2_seeds() -> list[bytes]:
    """The HTTP/2 suite and the downstream bytes of the HTTP/2 capture corpora."""
    from harness import proto, targets
    from harness.engine.corpus import parse_text_proto
    from harness.model.fuzz import h2_capture_bytes

    seeds = [d for _, d in H2_CASES if d.startswith(h2.PREFACE)]
    for target in ("h2_capture", "h2_capture_direct_response"):
        cls = proto.message_class(targets.get(target).proto_name or "")
        for path in _corpus_files(target):
            case = parse_text_proto(cls, path.read_bytes())
            if case is not None:
                down = h2_capture_bytes(case)[0]
                if down.startswith(h2.PREFACE):
                    seeds.append(down)
    return seeds


def split_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """The whole frames after the preface, and what is left (a partial frame)."""
    at = len(h2.PREFACE)
    frames: list[bytes] = []
    while at + H2_FRAME_HEADER <= len(data):
        length = int.from_bytes(data[at : at + 3], "big")
        end = at + H2_FRAME_HEADER + length
        if end > len(data):
            break
        frames.append(data[at:end])
        at = end
    return frames, data[at:]


def _reflag(frame: bytes, rng: random.Random) -> bytes:
    flags = frame[4] ^ rng.choice((0x1, 0x4, 0x8, 0x20))
    return frame[:4] + bytes([flags]) + frame[5:]


def _restream(frame: bytes, rng: random.Random) -> bytes:
    stream = rng.choice((0, 1, 2, 3, 5, 7, 2**31 - 1))
    return frame[:5] + stream.to_bytes(4, "big") + frame[9:]


def _truncate(frame: bytes, rng: random.Random) -> bytes:
    """A shorter payload with its length field kept honest (a short PING, SETTINGS...)."""
    payload = frame[H2_FRAME_HEADER:]
    if not payload:
        return frame
    cut = payload[: rng.randrange(len(payload))]
    return len(cut).to_bytes(3, "big") + frame[3:H2_FRAME_HEADER] + cut


def _flip(frame: bytes, rng: random.Random) -> bytes:
    if len(frame) <= H2_FRAME_HEADER:
        return frame
    body = bytearray(frame)
    at = rng.randrange(H2_FRAME_HEADER, len(body))
    body[at] ^= 1 << rng.randrange(8)
    return bytes(body)


def mutate_h2(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    frames, tail = split_frames(data)
    for _ in range(rng.randint(1, 3)):
        before = list(frames)
        _mutate_frames(frames, seeds, rng)
        if sum(map(len, frames)) > MAX_BYTES:
            frames = before  # the model does not go past 1 MiB; keep mutants well below
    if rng.random() < 0.1 and frames:  # end part-way through a frame
        last = frames.pop()
        tail = last[: rng.randrange(1, len(last))] if len(last) > 1 else b""
    return h2.PREFACE + b"".join(frames) + tail


def _mutate_frames(frames: list[bytes], seeds: list[bytes], rng: random.Random) -> None:
    op = rng.randrange(10)
    at = rng.randint(0, len(frames))
    pick = min(at, len(frames) - 1)
    if op == 0 and frames:
        del frames[pick]
    elif op == 1 and frames:
        frames.insert(at, frames[pick])
    elif op == 2 and frames:  # a flood of one frame
        frames[pick:pick] = [frames[pick]] * rng.choice((3, 10, 100, 1001))
    elif op == 3 and len(frames) > 1:
        other = rng.randrange(len(frames))
        frames[pick], frames[other] = frames[other], frames[pick]
    elif op == 4 and frames:
        frames[pick] = _reflag(frames[pick], rng)
    elif op == 5 and frames:
        frames[pick] = _restream(frames[pick], rng)
    elif op == 6 and frames:
        frames[pick] = _truncate(frames[pick], rng)
    elif op == 7 and frames:
        frames[pick] = _flip(frames[pick], rng)
    elif op == 8:
        donor, _ = split_frames(rng.choice(seeds))
        if donor:
            start = rng.randrange(len(donor))
            frames[at:at] = donor[start : start + rng.randint(1, 3)]
    else:
        frames.insert(at, rng.choice(EDGE_FRAMES))


def http2_inputs(count: int, seed: int = 2) -> list[tuple[str, bytes]]:
    seeds = http2_seeds()
    rng = random.Random(seed)
    return [
        (f"h2_generated_{i:04d}", mutate_h2(rng.choice(seeds), seeds, rng)) for i in range(count)
    ]


def http1_inputs(count: int, seed: int = 1) -> list[tuple[str, bytes]]:
    from bench.agreement import http1_cases

    seeds = [d for _, d in http1_cases.cases()] + http1_seeds()
    return [(f"h1_{name}", data) for name, data in generated_inputs(seeds, count, seed)]
