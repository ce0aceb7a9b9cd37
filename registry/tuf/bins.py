"""Hashed-bin delegation of large namespaces (PEP 458's bins, TUF's succinct roles).

A namespace with more targets than the threshold delegates, from its own role,
to ``2^k`` bins named ``<namespace>@bin-<hex>`` (``@`` cannot appear in a
namespace, so a bin name never collides with another namespace). A target's bin
is chosen by the hash of its path, so a push changes one or two bins and only
those are re-signed; the namespace role changes only with its keys or its
number of bins. The number of bins only grows (no churn near the threshold).
Each bin's content has a fingerprint (sha256 over its canonical target list),
stored with it, which is how an unchanged bin is recognised without parsing it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from tuf.api.metadata import SuccinctRoles, TargetFile  # type: ignore[attr-defined]

MARK = "@bin"
MAX_BITS = 16


def prefix(namespace: str) -> str:
    return f"{namespace}{MARK}"


def namespace_of(role: str) -> str:
    """The namespace a role belongs to (a bin's, or the namespace role's own name)."""
    return role.split(f"{MARK}-", 1)[0]


def bins_of(namespace: str, roles: Iterable[str]) -> list[str]:
    start = f"{prefix(namespace)}-"
    return [role for role in roles if role.startswith(start)]


def current_bits(namespace: str, roles: Iterable[str]) -> int:
    """The bin layout in use, from the role names a snapshot lists (0: not binned)."""
    count = len(bins_of(namespace, roles))
    return count.bit_length() - 1 if count else 0


@dataclass(frozen=True, slots=True)
class Binning:
    #: A namespace is split into bins once it has more targets than this; 0: never.
    threshold: int
    #: Aim for at most this many targets per bin when choosing the number of bins.
    per_bin: int = 256

    def bits_for(self, count: int, current: int) -> int:
        """How many bits of bins for ``count`` targets, given the layout in use (0: none)."""
        if current == 0 and (self.threshold == 0 or count <= self.threshold):
            return 0
        per_bin = max(self.per_bin, 1)
        needed = math.ceil(math.log2(count / per_bin)) if count > per_bin else 1
        return min(max(current, needed, 1), MAX_BITS)


def layout(namespace: str, keyids: list[str], threshold: int, bits: int) -> SuccinctRoles:
    return SuccinctRoles(
        keyids=list(keyids), threshold=threshold, bit_length=bits, name_prefix=prefix(namespace)
    )


def group(
    targets: dict[str, TargetFile], succinct: SuccinctRoles
) -> dict[str, dict[str, TargetFile]]:
    """Every bin (empty ones too) with the targets whose path hashes into it."""
    grouped: dict[str, dict[str, TargetFile]] = {name: {} for name in succinct.get_roles()}
    for path, target in targets.items():
        grouped[succinct.get_role_for_target(path)][path] = target
    return grouped


def fingerprint(targets: dict[str, TargetFile]) -> str:
    listing = [[path, targets[path].to_dict()] for path in sorted(targets)]
    encoded = json.dumps(listing, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()
