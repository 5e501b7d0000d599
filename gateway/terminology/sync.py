"""``gateway sync terminology``: materialise the mirrored NOS from the SMT into the snapshot.

Each resource is written as ``<Kind>-<NOS id>.json`` through a temporary file and an atomic
rename, so a failed or interrupted sync never leaves a truncated file nor loses the
previous copy. ValueSets get their full expansion (paged, ``total`` not trusted) attached
when they reference a code system the snapshot does not hold.

``--all`` mirrors every NOS the SMT publishes (``catalogue``): the stewards' list plus
whatever else the server lists, so the offline fallback covers them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from gateway.errors import GatewayError
from gateway.files import write_atomically
from gateway.terminology.canonical import nos_id
from gateway.terminology.indexed import version_order
from gateway.terminology.model import ValueSet
from gateway.terminology.smt import SmtClient
from gateway.upstream.report import Echo, SyncReport


class Mirrored(Protocol):
    """One resource to mirror. The list is the stewards' (``mappings/nos.csv``): the caller
    passes it, so the terminology never imports the mappings that build on it."""

    @property
    def name(self) -> str: ...  # the NOS name, for file names and reports

    @property
    def kind(self) -> str: ...  # CodeSystem, ValueSet or ConceptMap

    @property
    def canonical(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Published:
    """A NOS the SMT lists."""

    name: str
    kind: str
    canonical: str


KINDS = ("CodeSystem", "ValueSet", "ConceptMap")


async def catalogue(smt: SmtClient, listed: Sequence[Mirrored]) -> list[Mirrored]:
    """``listed`` (the stewards' rows first), then every other NOS the SMT publishes."""
    entries: list[Mirrored] = list(listed)
    held = {(e.kind, nos_id(e.canonical)) for e in listed}
    for kind in KINDS:
        async for item in smt.catalogue(kind):
            identity = nos_id(item.url)
            if identity is not None and (kind, identity) not in held:
                held.add((kind, identity))
                entries.append(Published(identity, kind, item.url))
    return entries


async def sync_terminology(
    smt: SmtClient,
    entries: Sequence[Mirrored],
    out_dir: Path,
    echo: Echo | None = None,
    advance: Callable[[], None] | None = None,
) -> SyncReport:
    report = SyncReport(echo=echo)
    mirrored_systems = {nos_id(e.canonical) for e in entries if e.kind == "CodeSystem"}
    for entry in entries:
        if advance is not None:
            advance()
        try:
            found = await smt.read(entry.kind, entry.canonical)
            if not found:
                report.fail(entry.name, f"not found on the SMT ({entry.canonical})")
                continue
            resource, raw = max(found, key=lambda pair: version_order(pair[0].version))
            if isinstance(resource, ValueSet) and resource.compose is not None:
                systems = {nos_id(i.system) for i in resource.compose.include if i.system}
                if not systems <= mirrored_systems:
                    raw = await _with_expansion(smt, raw, entry.canonical, resource.version)
            target = out_dir / f"{entry.kind}-{entry.name}.json"
            write_atomically(target, raw)
            report.ok(f"{entry.name} {resource.version or ''} -> {target}")
        except GatewayError as exc:
            report.fail(entry.name, exc)
    return report


async def _with_expansion(smt: SmtClient, raw: bytes, url: str, version: str | None) -> bytes:
    contains = await smt.expand_all(url, version)
    document = msgspec.json.decode(raw)
    document["expansion"] = {"total": len(contains), "contains": msgspec.to_builtins(contains)}
    return msgspec.json.encode(document)
