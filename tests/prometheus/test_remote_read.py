"""Remote read (STREAMED_XOR_CHUNKS) and the vectorised XOR decoder: a hand-made chunk, a reference
encoder written from the format (xor.go) fuzzed with Hypothesis, and a real Prometheus whose raw
samples over JSON must equal what remote read returns, sample for sample."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubetally.errors import SourceError
from kubetally.sources.prometheus.remote_read import Matcher, RemoteReadUnsupported, frames, read_chunks
from kubetally.sources.prometheus.xor import STALE_NAN_BITS, decode
from servers import Serve


def bits_to_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def test_a_chunk_decoded_by_hand() -> None:
    # 4 samples: (1000 ms, 1.0), (2000, 1.0), (3000, 3.0), (4010, 3.0).
    head = bytes([0x00, 0x04, 0xD0, 0x0F]) + struct.pack(">d", 1.0) + bytes([0xE8, 0x07])  # zig-zag 2000, uvarint 1000
    tail = (
        "0"  # sample 1: same value
        "0"  # sample 2: delta of delta 0
        "11" "00001" "001100" "111111111111"  # 3.0 ^ 1.0 = 0x7FF8...: 1 leading zero, 12 meaningful bits
        "10" "00000000001010"  # sample 3: delta of delta +10 in 14 bits
        "0"  # same value
    )  # fmt: skip
    chunk = head + bits_to_bytes(tail)
    one = bytes([0x00, 0x01, 0x02]) + struct.pack(">d", -2.5)  # 1 sample: zig-zag 2 = +1 ms
    index, t, v = decode([chunk, one, chunk])
    assert index.tolist() == [0, 0, 0, 0, 1, 2, 2, 2, 2]
    assert t.tolist() == [1000, 2000, 3000, 4010, 1, 1000, 2000, 3000, 4010]
    assert v.tolist() == [1.0, 1.0, 3.0, 3.0, -2.5, 1.0, 1.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="header"):
        decode([b"\x00"])


class BitWriter:
    def __init__(self) -> None:
        self.bits: list[str] = []

    def write(self, value: int, n: int) -> None:
        if n:
            self.bits.append(format(value & ((1 << n) - 1), f"0{n}b"))

    def varint(self, value: int) -> None:
        while True:
            byte = value & 0x7F
            value >>= 7
            self.write(byte | (0x80 if value else 0), 8)
            if not value:
                return


def encode(samples: list[tuple[int, int]]) -> bytes:
    """A reference XOR encoder written from prometheus/tsdb/chunkenc/xor.go (values as 64-bit patterns)."""
    w = BitWriter()
    t_prev = delta_prev = v_prev = 0
    leading, trailing = 0xFF, 0
    for i, (t, v) in enumerate(samples):
        if i == 0:
            w.varint(((t << 1) ^ (t >> 63)) & ((1 << 64) - 1))
            w.write(v, 64)
        else:
            delta = t - t_prev
            if i == 1:
                w.varint(delta)
            else:
                dod = delta - delta_prev
                for prefix, n, size in (("0", 1, 0), ("10", 2, 14), ("110", 3, 17), ("1110", 4, 20)):
                    if (size == 0 and dod == 0) or (size and -(1 << (size - 1)) + 1 <= dod <= 1 << (size - 1)):
                        w.write(int(prefix, 2), n)
                        w.write(dod, size)
                        break
                else:
                    w.write(0b1111, 4)
                    w.write(dod, 64)
            delta_prev = delta
            x = v ^ v_prev
            if x == 0:
                w.write(0, 1)
            else:
                w.write(1, 1)
                lead = min(64 - x.bit_length(), 31)
                trail = (x & -x).bit_length() - 1
                if leading != 0xFF and lead >= leading and trail >= trailing:
                    w.write(0, 1)
                    w.write(x >> trailing, 64 - leading - trailing)
                else:
                    leading, trailing = lead, trail
                    sig = 64 - lead - trail
                    w.write(1, 1)
                    w.write(lead, 5)
                    w.write(sig if sig < 64 else 0, 6)
                    w.write(x >> trail, sig)
        t_prev, v_prev = t, v
    return struct.pack(">H", len(samples)) + bits_to_bytes("".join(w.bits))


def _pattern(x: float) -> int:
    return int(struct.unpack(">Q", struct.pack(">d", x))[0])


values = st.one_of(
    st.floats(allow_nan=False),
    st.sampled_from([0.0, 1.0, 1.5, 1e9, 123456.789]),
    st.integers(-(10**6), 10**6).map(float),
)
chunks = st.lists(
    st.tuples(
        st.integers(-(2**40), 2**40), st.lists(st.tuples(st.integers(0, 2**33), values), min_size=1, max_size=130)
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=120, deadline=None)
@given(chunks)
def test_decoder_inverts_the_reference_encoder(spec: list[tuple[int, list[tuple[int, float]]]]) -> None:
    data, want_t, want_v, want_i = [], [], [], []
    for k, (t0, steps) in enumerate(spec):
        t, samples = t0, []
        for gap, value in steps:
            samples.append((t, _pattern(value)))
            want_t.append(t)
            want_v.append(value)
            want_i.append(k)
            t += gap
        data.append(encode(samples))
    index, t_ms, v = decode(data)
    assert index.tolist() == want_i
    assert t_ms.tolist() == want_t
    assert v.tolist() == want_v


def test_staleness_markers_are_dropped() -> None:
    stale = encode([(0, _pattern(1.0)), (60_000, STALE_NAN_BITS), (120_000, _pattern(2.0))])
    _, t, v = decode([stale])
    assert t.tolist() == [0, 120_000] and v.tolist() == [1.0, 2.0]


def framed(message: bytes, crc: int) -> bytes:
    size = len(message)
    head = bytearray()
    while True:
        head.append((size & 0x7F) | (0x80 if size >> 7 else 0))
        size >>= 7
        if not size:
            break
    return bytes(head) + crc.to_bytes(4, "big") + message


def test_frames_are_split_and_checked() -> None:
    import crc32c

    good = [framed(m, crc32c.crc32c(m)) for m in (b"a" * 200, b"", b"xyz")]
    stream = b"".join(good)

    def pieces(size: int) -> Iterator[bytes]:
        yield from (stream[i : i + size] for i in range(0, len(stream), size))

    assert list(frames(pieces(3))) == [b"a" * 200, b"", b"xyz"]
    with pytest.raises(SourceError, match="CRC-32C"):
        list(frames(iter([framed(b"abc", 1)])))
    with pytest.raises(SourceError, match="inside a frame"):
        list(frames(iter([stream[:-1]])))


def raw_json(url: str, selector: str, start_ms: int, end_ms: int) -> dict[tuple[tuple[str, str], ...], list]:
    seconds = (end_ms - start_ms) // 1000
    body = httpx.post(
        f"{url}/api/v1/query", data={"query": f"{selector}[{seconds}s]", "time": str(end_ms / 1000)}, timeout=60
    ).json()
    return {
        tuple(sorted(s["metric"].items())): [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
        for s in body["data"]["result"]
    }


@pytest.mark.services
@pytest.mark.parametrize(
    ("name", "selector", "matchers"),
    [
        (
            "container_cpu_usage_seconds_total",
            'container_cpu_usage_seconds_total{container!~"|POD",job=~"kubelet"}',
            [Matcher("container", "!~", "|POD"), Matcher("job", "=~", "kubelet")],
        ),
        ("container_memory_working_set_bytes", "container_memory_working_set_bytes", []),
    ],
)
def test_remote_read_equals_the_servers_raw_samples(
    serve: Serve, auditflow: object, name: str, selector: str, matchers: list[Matcher]
) -> None:
    url = serve("prometheus", "default")
    end_ms = int(auditflow.info.end.timestamp()) * 1000  # type: ignore[attr-defined]
    start_ms = end_ms - 86_400_000 - 1  # the last day: chunks that straddle the start are cut
    want = raw_json(url, selector, start_ms + 1, end_ms)
    with httpx.Client(base_url=url, timeout=60) as http:
        raw = read_chunks(http, [Matcher("__name__", "=", name), *matchers], start_ms + 1, end_ms)
    got: dict[tuple[tuple[str, str], ...], list] = {}
    for i, labels in enumerate(raw.labels):
        m = raw.series == i
        got[tuple(sorted(labels.items()))] = list(zip(raw.t_ms[m].tolist(), raw.value[m].tolist(), strict=True))
    assert len(want) > 20 and sum(len(v) for v in want.values()) > 5_000
    assert got == want
    assert np.all(np.diff(raw.series) >= 0)


@pytest.mark.services
def test_victoria_metrics_has_no_streamed_remote_read(serve: Serve) -> None:
    url = serve("victoria-metrics", "default")
    with httpx.Client(base_url=url, timeout=60) as http, pytest.raises(RemoteReadUnsupported, match="no streamed"):
        read_chunks(http, [Matcher("__name__", "=", "up")], 0, 1000)
