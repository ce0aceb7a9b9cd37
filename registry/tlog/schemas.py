"""The log API's response bodies (camelCase fields, as transparency-log clients expect)."""

from __future__ import annotations

import msgspec


class InclusionProofView(msgspec.Struct, rename="camel"):
    log_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    inclusion_proof: list[str]


class ConsistencyProofView(msgspec.Struct, rename="camel"):
    first: int
    second: int
    consistency_proof: list[str]


class EntryView(msgspec.Struct, rename="camel"):
    log_index: int
    leaf_hash: str
    body: str
    integrated_time: str


class EntriesView(msgspec.Struct):
    entries: list[EntryView]
