"""Cache keys.

Terminology keys carry the resource's canonical *and* version so that two versions never
share an entry. Keys derived from patient data (addresses, names) are hashed with a
per-process salt so the clear value never sits in memory as a key nor leaves the process.
"""

from __future__ import annotations

import hashlib
import secrets

_SALT = secrets.token_bytes(16)


def versioned_key(kind: str, canonical: str, version: str | None, *extra: str) -> tuple[str, ...]:
    return (kind, canonical, version or "", *extra)


def hashed_key(kind: str, *parts: str) -> tuple[str, str]:
    digest = hashlib.blake2b(digest_size=20, key=_SALT)
    for part in parts:
        # Length-prefixed, so ("a\x00b",) and ("a", "b") never hash alike.
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return (kind, digest.hexdigest())
