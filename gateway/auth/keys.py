"""API keys of the gateway's consumers (``GATEWAY_API_KEYS_FILE``).

One key per line: ``<role> sha256:<hex digest of the key> <label>``; ``#`` comments and
blank lines are ignored. Only digests are stored. A presented key is hashed and compared
with every stored digest in constant time (``hmac.compare_digest``, no early exit), so
timing reveals neither which key nor how much of one matched.

Hand-written: the format is ours (a few lines), and a library for API-key files would add
a dependency for no gain.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Role(Enum):
    SEARCH = "search"  # the SAS search front end
    LRM = "lrm"  # LRM editors: the INT_L01 link builder
    ADMIN = "admin"  # data stewards and operators


KEY_PREFIX = "sasgw_"
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class KeyFileError(ValueError):
    """The keys file is unusable; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Consumer:
    role: Role
    label: str
    digest: bytes


def digest_of(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def new_key(role: Role, label: str) -> tuple[str, str]:
    """A fresh random key and the line to add to the keys file."""
    if not _LABEL.match(label):
        raise KeyFileError(f"label '{label}' must be 1-64 letters, digits, '.', '_', '@', '-'")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, f"{role.value} sha256:{digest_of(key).hex()} {label}"


class KeyRing:
    def __init__(self, consumers: list[Consumer]) -> None:
        self.consumers = consumers

    def __len__(self) -> int:
        return len(self.consumers)

    def authenticate(self, presented: str) -> Consumer | None:
        wanted = digest_of(presented)
        found: Consumer | None = None
        for consumer in self.consumers:  # every digest compared, whatever matches
            if hmac.compare_digest(consumer.digest, wanted):
                found = consumer
        return found


def load_keys(path: Path) -> KeyRing:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read the API keys file ({exc})") from None
    consumers: list[Consumer] = []
    problems: list[str] = []
    labels: dict[str, int] = {}
    digests: dict[bytes, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            problems.append(f"{path}:{number}: expected '<role> sha256:<hex> <label>'")
            continue
        role_text, digest_text, label = fields
        try:
            role = Role(role_text)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            problems.append(f"{path}:{number}: role '{role_text}' must be one of {roles}")
            continue
        match = _DIGEST.match(digest_text)
        if match is None:
            problems.append(f"{path}:{number}: the key must be 'sha256:' and 64 hex digits")
            continue
        if label in labels:
            problems.append(
                f"{path}:{number}: label '{label}' already used on line {labels[label]}"
            )
            continue
        digest = bytes.fromhex(match.group(1))
        if digest in digests:
            problems.append(
                f"{path}:{number}: this key is already listed on line {digests[digest]}"
            )
            continue
        labels[label] = number
        digests[digest] = number
        consumers.append(Consumer(role, label, digest))
    if problems:
        raise KeyFileError("\n".join(problems))
    return KeyRing(consumers)
