"""Batch payloads as the journal stores them: zlib-compressed JSON in columns, not rows, with each
value's provenance (step, indicator, spec line) written once per batch, not once per value.

A payload of 1,000 values was ~230 kB of JSON repeating every key and the step's indicator and
spec line per value; packed it is a few kB. An emptied (pruned) payload is the empty blob.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

FORMAT = 1
PROVENANCE = ("step", "indicator", "origin")  # the same for every value of a step
EMPTY = b""
LEVEL = 1  # 3× faster than zlib's default 6 on payloads, for ~20 % more bytes


def pack(payload: Sequence[Mapping[str, Any]]) -> bytes:
    """The stored form of a payload (``unpack`` gives back equal dicts). Deterministic: equal
    payloads (keys in any order) pack to the same bytes, so ``digest`` can hash the document."""
    return zlib.compress(document(payload), LEVEL) if payload else EMPTY


def document(payload: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON document ``pack`` compresses."""
    keys: set[str] = set()
    for value in payload:
        keys.update(value)
    if any(v is None for value in payload for v in value.values()):
        doc: dict[str, Any] = {"f": FORMAT, "rows": list(payload)}  # None means "absent" below
    else:
        doc = _columns(payload, sorted(keys))
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def digest(packed_document: bytes) -> str:
    """SHA-256 of a payload's document (its canonical form)."""
    return hashlib.sha256(packed_document).hexdigest()


def payload_digest(payload: Sequence[Mapping[str, Any]]) -> str:
    """The digest the journal records for a payload: SHA-256 of its document."""
    return digest(document(payload))


def _columns(payload: Sequence[Mapping[str, Any]], keys: list[str]) -> dict[str, Any]:
    """One list per key; the provenance keys as one small table indexed per value."""
    prov_keys = [k for k in PROVENANCE if k in keys]
    plain = [k for k in keys if k not in prov_keys]
    table: dict[tuple[Any, ...], int] = {}
    refs = [table.setdefault(t, len(table)) for t in map(_getter(prov_keys), payload)]
    rows = list(map(_getter(plain), payload))
    return {
        "f": FORMAT,
        "keys": plain,
        "cols": [list(col) for col in zip(*rows, strict=True)] if plain else [],
        "prov": {"keys": prov_keys, "rows": [list(t) for t in table], "of": refs},
    }


def _getter(keys: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A value's fields as a tuple (None where absent: packed values never hold None)."""

    def get(value: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(value.get(k) for k in keys)

    if not keys:
        return lambda value: ()
    try_fast = itemgetter(*keys)
    if len(keys) == 1:
        return lambda value: (value[keys[0]],) if keys[0] in value else (None,)

    def fast(value: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            found: tuple[Any, ...] = try_fast(value)
        except KeyError:
            return get(value)
        return found

    return fast


def unpack(blob: bytes | str | None) -> list[dict[str, Any]]:
    """The payload of a stored blob (a schema-2 journal's JSON text is read as it was)."""
    if not blob:
        return []
    if isinstance(blob, str):
        rows: list[dict[str, Any]] = json.loads(blob)
        return rows
    doc = json.loads(zlib.decompress(blob))
    if doc.get("f") != FORMAT:
        raise ValueError(f"unknown payload format {doc.get('f')!r}")
    if "rows" in doc:
        return list(doc["rows"])
    prov = doc["prov"]
    prov_rows = [
        {k: v for k, v in zip(prov["keys"], row, strict=True) if v is not None}
        for row in prov["rows"]
    ]
    keys, refs = doc["keys"], prov["of"]
    rows_of = zip(*doc["cols"], strict=True) if keys else iter([()] * len(refs))
    out = []
    for ref, row in zip(refs, rows_of, strict=True):
        value = {k: v for k, v in zip(keys, row, strict=True) if v is not None}
        value.update(prov_rows[ref])
        out.append(value)
    return out
