"""``gateway sync directory``: write directory resources into the snapshot, as served.

CPTS search pages from the ROR (with credentials) and, for each ``--practitioner``, the
Annuaire Bundle of that practitioner (with an API key). Files are written atomically, so
a failed sync never leaves a truncated file nor loses the previous one.
"""

from __future__ import annotations

from pathlib import Path

from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.identifiers import PractitionerId
from gateway.directory.ror import RorClient
from gateway.errors import GatewayError
from gateway.files import write_atomically
from gateway.upstream.report import Echo, SyncReport


async def sync_directory(
    out_dir: Path,
    *,
    ror: RorClient | None,
    annuaire: AnnuaireClient | None,
    practitioners: list[PractitionerId],
    echo: Echo | None = None,
) -> SyncReport:
    report = SyncReport(echo=echo)
    if ror is not None:
        try:
            pages = await ror.cpts_pages()
        except GatewayError as exc:
            report.fail("CPTS from the ROR", exc)
        else:
            written = []
            for number, page in enumerate(pages, start=1):
                target = out_dir / f"ror-cpts-page-{number:03d}.json"
                write_atomically(target, page)
                written.append(target)
                report.ok(f"CPTS page {number} -> {target}")
            _prune(out_dir, "ror-cpts-page-", written)
    for pid in practitioners:
        if annuaire is None:
            report.fail(pid.idnps, "no Annuaire API key (GATEWAY_ANNUAIRE_API_KEY)")
            continue
        try:
            pages = await annuaire.practitioner_pages(pid)
        except GatewayError as exc:
            report.fail(pid.idnps, exc)
            continue
        written = []
        for number, page in enumerate(pages, start=1):
            target = out_dir / f"annuaire-practitioner-{pid.rpps}-{number}.json"
            write_atomically(target, page)
            written.append(target)
            report.ok(f"practitioner {pid.idnps} -> {target}")
        _prune(out_dir, f"annuaire-practitioner-{pid.rpps}-", written)
    return report


def _prune(out_dir: Path, prefix: str, keep: list[Path]) -> None:
    """Pages of an earlier, longer sync would otherwise keep being served from the snapshot."""
    for old in out_dir.glob(f"{prefix}*.json"):
        if old not in keep:
            old.unlink(missing_ok=True)
