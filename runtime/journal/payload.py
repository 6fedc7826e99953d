"""Batch payloads as the journal stores them: zlib-compressed JSON in columns, not rows, with each
value's provenance (step, indicator, spec line) written once per batch, not once per value.

A payload of 1,000 values was ~230 kB of JSON repeating every key and the step's indicator and
spec line per value; packed it is a few kB. An emptied (pruned) payload is the empty blob.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Packed:
    """A payload in its stored form with its digest: built once when a run stages a batch, and
    journalled as it is (a batch's JSON is not written twice)."""

    blob: bytes
    digest: str

    @classmethod
    def of(cls, payload: Sequence[Mapping[str, Any]]) -> Packed:
        doc = document(payload)
        return cls(zlib.compress(doc, LEVEL) if payload else EMPTY, digest(doc))


def document(payload: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON document ``pack`` compresses."""
    doc = _uniform(payload) or _mixed(payload)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("ascii")


def _uniform(payload: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Columns of a payload whose values all have the same keys (a run's batches), read at C
    speed; None for any other payload (``_mixed``)."""
    keys = sorted(payload[0]) if payload else []
    if len(keys) < 2 or sum(map(len, payload)) != len(keys) * len(payload):
        return None
    try:  # every value has every key of the first, and no more (the sum above)
        columns = list(zip(*map(itemgetter(*keys), payload), strict=True))
    except KeyError:
        return None
    if any(None in column for column in columns):
        return None
    return _document(dict(zip(keys, columns, strict=True)), len(payload))


def _mixed(payload: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Columns with None where a value lacks a key; rows as given if a value holds None."""
    if any(v is None for value in payload for v in value.values()):
        return {"f": FORMAT, "rows": list(payload)}  # None means "absent" in columns
    keys: set[str] = set()
    for value in payload:
        keys.update(value)
    columns = {k: [value.get(k) for value in payload] for k in sorted(keys)}
    return _document(columns, len(payload))


def _document(columns: Mapping[str, Sequence[Any]], size: int) -> dict[str, Any]:
    """One list per key; the provenance keys as one small table indexed per value."""
    prov_keys = [k for k in PROVENANCE if k in columns]
    plain = [k for k in columns if k not in prov_keys]
    prov = list(zip(*(columns[k] for k in prov_keys), strict=True)) if prov_keys else [()] * size
    table = {t: i for i, t in enumerate(dict.fromkeys(prov))}
    refs = list(map(table.__getitem__, prov))
    return {
        "f": FORMAT,
        "keys": plain,
        "cols": [list(columns[k]) for k in plain],
        "prov": {"keys": prov_keys, "rows": [list(t) for t in table], "of": refs},
    }


def digest(packed_document: bytes) -> str:
    """SHA-256 of a payload's document (its canonical form)."""
    return hashlib.sha256(packed_document).hexdigest()


def payload_digest(payload: Sequence[Mapping[str, Any]]) -> str:
    """The digest the journal records for a payload: SHA-256 of its document."""
    return digest(document(payload))


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
    keys, refs, cols = doc["keys"], prov["of"], doc["cols"]
    names = (*keys, *prov["keys"])
    rows_of = zip(*cols, strict=True) if keys else iter([()] * len(refs))
    provs = [tuple(row) for row in prov["rows"]]
    if any(None in col for col in cols) or any(None in row for row in provs):
        # columns of values lacking some keys: None means absent
        return [
            {k: v for k, v in zip(names, (*row, *provs[ref]), strict=True) if v is not None}
            for ref, row in zip(refs, rows_of, strict=True)
        ]
    return [dict(zip(names, row + provs[ref], strict=True))
            for ref, row in zip(refs, rows_of, strict=True)]  # fmt: skip
