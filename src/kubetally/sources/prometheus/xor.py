"""Decode Prometheus XOR (Gorilla) chunks, many chunks at once, with numpy.

The format (prometheus/tsdb/chunkenc/xor.go, after Pelkonen et al., "Gorilla: a fast, scalable,
in-memory time series database", VLDB 2015): two big-endian bytes of sample count, then a bit
stream, most significant bit first. Sample 0: its millisecond timestamp as a signed varint and its
value as 64 raw bits. Sample 1: the timestamp delta as an unsigned varint, then the value XOR-encoded.
Later samples: the delta of the delta, after a prefix ``0`` (zero), ``10`` (14 bits), ``110`` (17),
``1110`` (20) or ``1111`` (64), then the value XOR-encoded: ``0`` (same value), ``10`` + the meaningful
bits in the previous leading/trailing-zero window, or ``11`` + 5 bits of leading zeros + 6 bits of
meaningful-bit count (0 meaning 64) + those bits.

Each sample depends on the one before, so one chunk cannot be decoded in parallel; but the chunks
are independent, so this decodes sample *j* of every chunk in one vectorised step (a loop over the
≤ 120-ish samples of a chunk, not over the samples of the response).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STALE_NAN_BITS = 0x7FF0000000000002
"""Prometheus' staleness marker (a NaN with this bit pattern): a series ended, not a sample."""
_U = np.uint64
_SIZES = np.array([0, 14, 17, 20, 64], dtype=_U)
"""Delta-of-delta widths by the number of leading ones of the prefix."""
_PREFIX_EDGES = np.array([7, 11, 13, 14], dtype=_U)
"""4-bit prefixes 0-7 have no leading one, 8-11 one, 12-13 two, 14 three, 15 four."""


class _Bits:
    """MSB-first bit reads at per-chunk positions in one padded byte buffer."""

    def __init__(self, data: bytes) -> None:
        self.buf = np.frombuffer(data + bytes(16), dtype=np.uint8).astype(_U)

    def peek(self, pos: np.ndarray, nbits: np.ndarray | int) -> np.ndarray:
        """The ``nbits`` (0..64) bits at bit ``pos``, as unsigned integers."""
        byte = (pos >> _U(3)).astype(np.int64)
        shift = pos & _U(7)
        word: np.ndarray = np.zeros(pos.shape, dtype=_U)
        for i in range(8):
            word |= self.buf[byte + i] << _U(56 - 8 * i)
        word = (word << shift) | (self.buf[byte + 8] >> (_U(8) - shift))
        n = np.broadcast_to(np.asarray(nbits, dtype=_U), pos.shape)
        safe = np.where(n == 0, _U(1), n)
        return np.where(n == 0, _U(0), word >> (_U(64) - safe))

    def varint(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unsigned LEB128 varints at ``pos``: (values, new positions)."""
        value = np.zeros(pos.shape, dtype=_U)
        going = np.ones(pos.shape, dtype=bool)
        for i in range(10):
            byte = self.peek(pos, 8)
            value |= np.where(going, (byte & _U(0x7F)) << _U(7 * i), _U(0))
            pos = np.where(going, pos + _U(8), pos)
            going &= (byte & _U(0x80)) != 0
            if not going.any():
                break
        return value, pos


def decode(chunks: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chunk index, timestamp ms, value) of every sample of ``chunks``, in chunk order then time order.
    Staleness markers are dropped. Raises ValueError for a chunk shorter than its header."""
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    if any(len(chunk) < 2 for chunk in chunks):
        raise ValueError("XOR chunk shorter than its 2-byte header")
    sizes = np.array([len(chunk) for chunk in chunks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    bits = _Bits(b"".join(chunks))
    raw = bits.buf
    counts = ((raw[starts] << _U(8)) | raw[starts + 1]).astype(np.int64)
    out_at = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    times = np.zeros(total, dtype=np.int64)
    values = np.zeros(total, dtype=_U)

    active = np.flatnonzero(counts > 0)
    pos = (starts[active].astype(_U) + _U(2)) * _U(8)
    # sample 0: signed varint time (zig-zag) and 64 raw value bits
    zz, pos = bits.varint(pos)
    t = (zz >> _U(1)).astype(np.int64) ^ -(zz & _U(1)).astype(np.int64)
    v = bits.peek(pos, 64)
    pos = pos + _U(64)
    times[out_at[active]] = t
    values[out_at[active]] = v
    delta = np.zeros(active.shape, dtype=np.int64)
    leading = np.zeros(active.shape, dtype=_U)
    trailing = np.zeros(active.shape, dtype=_U)
    for j in range(1, int(counts.max())):
        keep = counts[active] > j
        if not keep.all():
            active, pos, t, v = active[keep], pos[keep], t[keep], v[keep]
            delta, leading, trailing = delta[keep], leading[keep], trailing[keep]
        if active.size == 0:
            break
        if j == 1:
            d, pos = bits.varint(pos)
            delta = d.astype(np.int64)
        else:
            prefix = bits.peek(pos, 4)
            ones = np.searchsorted(_PREFIX_EDGES, prefix, side="left")  # leading ones of the 4-bit prefix
            pos = pos + np.where(ones == 4, _U(4), ones.astype(_U) + _U(1))
            width = _SIZES[ones]
            got = bits.peek(pos, width)
            pos = pos + width
            half = np.where(width == 0, _U(0), _U(1) << np.where(width == 0, _U(0), width - _U(1)))
            short = (width > 0) & (width < 64) & (got > half)
            dod = got.astype(np.int64)  # 64-bit: two's complement as is
            dod = np.where(short, dod - (np.int64(1) << width.astype(np.int64)), dod)
            delta = delta + dod
        t = t + delta
        # the value
        control = bits.peek(pos, 2)
        same = control < 2
        fresh = control == 3
        pos = pos + np.where(same, _U(1), _U(2))
        new_leading = bits.peek(pos, 5)
        mbits_raw = bits.peek(pos + _U(5), 6)
        mbits_new = np.where(mbits_raw == 0, _U(64), mbits_raw)
        leading = np.where(fresh, new_leading, leading)
        trailing = np.where(fresh, _U(64) - new_leading - mbits_new, trailing)
        pos = pos + np.where(fresh, _U(11), _U(0))
        mbits = np.where(same, _U(0), _U(64) - leading - trailing)
        xor = bits.peek(pos, mbits)
        pos = pos + mbits
        v = v ^ np.where(same, _U(0), xor << trailing)
        at = out_at[active] + j
        times[at] = t
        values[at] = v
    index = np.repeat(np.arange(len(chunks), dtype=np.int64), counts)
    fresh_sample = values != _U(STALE_NAN_BITS)
    return index[fresh_sample], times[fresh_sample], values[fresh_sample].view(np.float64)
