"""Prometheus remote read with ``STREAMED_XOR_CHUNKS``: the server streams its stored chunks as they are.

No PromQL evaluation and no JSON: the request is a snappy-compressed protobuf ``ReadRequest``; the
response is a stream of frames, each ``uvarint length, CRC-32C (Castagnoli, big-endian) of the
message, a ChunkedReadResponse`` (prometheus/storage/remote/chunked.go). The messages are those of
prometheus/prompb (``remote.proto``, ``types.proto``, Apache-2.0), declared here with the protobuf
runtime's descriptor API so no generated code is vendored; only the fields kubetally reads.

Prometheus and Mimir serve it (``/api/v1/read``; Prometheus 2.13+ streams chunks); Thanos' query API
and VictoriaMetrics do not: :func:`read_chunks` raises :class:`RemoteReadUnsupported` when a server
answers without the streamed content type, so the caller can fall back to PromQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cramjam
import crc32c
import httpx
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from kubetally.errors import SourceError
from kubetally.sources.prometheus.xor import decode

STREAMED_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
MatchType = Literal["=", "!=", "=~", "!~"]
_MATCH = {"=": 0, "!=": 1, "=~": 2, "!~": 3}
_XOR = 1


def _messages() -> dict[str, Any]:
    f = descriptor_pb2.FileDescriptorProto(name="kubetally_prompb.proto", package="prometheus", syntax="proto3")
    t = descriptor_pb2.FieldDescriptorProto
    opt, rep = t.LABEL_OPTIONAL, t.LABEL_REPEATED

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = f.message_type.add(name=name)
        for field_name, number, label, kind, type_name in fields:
            added = m.field.add(name=field_name, number=number, label=label, type=kind)
            if type_name:
                added.type_name = type_name

    message(
        "LabelMatcher",
        ("type", 1, opt, t.TYPE_INT32, ""),
        ("name", 2, opt, t.TYPE_STRING, ""),
        ("value", 3, opt, t.TYPE_STRING, ""),
    )
    message(
        "Query",
        ("start_timestamp_ms", 1, opt, t.TYPE_INT64, ""),
        ("end_timestamp_ms", 2, opt, t.TYPE_INT64, ""),
        ("matchers", 3, rep, t.TYPE_MESSAGE, ".prometheus.LabelMatcher"),
    )
    message(
        "ReadRequest",
        ("queries", 1, rep, t.TYPE_MESSAGE, ".prometheus.Query"),
        ("accepted_response_types", 2, rep, t.TYPE_INT32, ""),
    )
    message("Label", ("name", 1, opt, t.TYPE_STRING, ""), ("value", 2, opt, t.TYPE_STRING, ""))
    message(
        "Chunk",
        ("min_time_ms", 1, opt, t.TYPE_INT64, ""),
        ("max_time_ms", 2, opt, t.TYPE_INT64, ""),
        ("type", 3, opt, t.TYPE_INT32, ""),
        ("data", 4, opt, t.TYPE_BYTES, ""),
    )
    message(
        "ChunkedSeries",
        ("labels", 1, rep, t.TYPE_MESSAGE, ".prometheus.Label"),
        ("chunks", 2, rep, t.TYPE_MESSAGE, ".prometheus.Chunk"),
    )
    message("ChunkedReadResponse", ("chunked_series", 1, rep, t.TYPE_MESSAGE, ".prometheus.ChunkedSeries"),
            ("query_index", 2, opt, t.TYPE_INT64, ""))  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    names = ("LabelMatcher", "Query", "ReadRequest", "ChunkedReadResponse")
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{n}")) for n in names}


_M = _messages()


class RemoteReadUnsupported(SourceError):
    """The server has no streamed remote read (Thanos, VictoriaMetrics, a proxy in between)."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchType
    value: str


@dataclass
class Raw:
    """Raw samples of one query: ``labels[series]`` and, per sample, ``series``, ``t_ms`` and ``value``
    (sorted by series, then time; only samples within the query's [start, end])."""

    labels: list[dict[str, str]]
    series: np.ndarray
    t_ms: np.ndarray
    value: np.ndarray
    chunks: int
    bytes_read: int


def request_body(matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> bytes:
    query = _M["Query"](start_timestamp_ms=start_ms, end_timestamp_ms=end_ms)
    for m in matchers:
        query.matchers.add(type=_MATCH[m.op], name=m.name, value=m.value)
    req = _M["ReadRequest"](accepted_response_types=[1])  # STREAMED_XOR_CHUNKS only
    req.queries.append(query)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


def frames(stream: Iterator[bytes]) -> Iterator[bytes]:
    """The messages of a streamed response, each checked against its CRC-32C."""
    buf = bytearray()
    for piece in stream:
        buf += piece
        while True:
            size, used = _uvarint(buf)
            if used == 0 or len(buf) < used + 4 + size:
                break
            expected = int.from_bytes(buf[used : used + 4], "big")
            message = bytes(buf[used + 4 : used + 4 + size])
            if crc32c.crc32c(message) != expected:
                raise SourceError("remote read: a frame failed its CRC-32C check (corrupt stream)")
            del buf[: used + 4 + size]
            yield message
    if buf:
        raise SourceError(f"remote read: the stream ended inside a frame ({len(buf)} bytes left)")


def _uvarint(buf: bytearray) -> tuple[int, int]:
    value = shift = 0
    for i, byte in enumerate(buf[:10]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    return 0, 0


def read_chunks(
    http: httpx.Client, matchers: Sequence[Matcher], start_ms: int, end_ms: int, *, where: str = "the server"
) -> Raw:
    """Every raw sample of the series matching ``matchers`` in ``[start_ms, end_ms]`` (one request)."""
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Read-Version": "0.1.0",
        "Accept-Encoding": "identity",
    }
    labels: list[dict[str, str]] = []
    owners: list[int] = []
    data: list[bytes] = []
    read = 0
    with http.stream("POST", "/api/v1/read", content=request_body(matchers, start_ms, end_ms), headers=headers) as r:
        kind = r.headers.get("content-type", "")
        if r.status_code == 200 and kind.startswith(STREAMED_TYPE):
            pass
        elif r.status_code in (200, 404, 405, 501):
            raise RemoteReadUnsupported(
                f"{where} has no streamed remote read (HTTP {r.status_code}, {kind or 'no type'})"
            )
        else:
            text = r.read().decode(errors="replace").strip()
            if r.status_code == 400 and "unsupported path" in text:  # VictoriaMetrics
                raise RemoteReadUnsupported(f"{where} has no streamed remote read (HTTP 400: unsupported path)")
            raise SourceError(f"remote read at {where}: HTTP {r.status_code}: {text[:200]}")
        response = _M["ChunkedReadResponse"]()
        for message in frames(r.iter_bytes()):
            read += len(message)
            response.ParseFromString(message)
            for series in response.chunked_series:
                labels.append({label.name: label.value for label in series.labels})
                for chunk in series.chunks:
                    if chunk.type != _XOR:
                        raise SourceError(
                            f"remote read at {where}: chunk encoding {chunk.type} is not XOR (histograms?)"
                        )
                    owners.append(len(labels) - 1)
                    data.append(chunk.data)
    index, t_ms, value = decode(data)
    series_of = np.asarray(owners, dtype=np.int64)[index] if data else index
    inside = (t_ms >= start_ms) & (t_ms <= end_ms)
    return Raw(labels, series_of[inside], t_ms[inside], value[inside], len(data), read)
