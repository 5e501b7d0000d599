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
from gateway.terminology.sync import SyncReport, write_atomically


async def sync_directory(
    out_dir: Path,
    *,
    ror: RorClient | None,
    annuaire: AnnuaireClient | None,
    practitioners: list[PractitionerId],
) -> SyncReport:
    report = SyncReport()
    if ror is not None:
        try:
            pages = await ror.cpts_pages()
        except GatewayError as exc:
            report.failed.append(f"CPTS from the ROR: {exc.message}")
        else:
            for number, page in enumerate(pages, start=1):
                target = out_dir / f"ror-cpts-page-{number:03d}.json"
                write_atomically(target, page)
                report.written.append(f"CPTS page {number} -> {target}")
    for pid in practitioners:
        if annuaire is None:
            report.failed.append(f"{pid.idnps}: no Annuaire API key (GATEWAY_ANNUAIRE_API_KEY)")
            continue
        try:
            pages = await annuaire.practitioner_pages(pid)
        except GatewayError as exc:
            report.failed.append(f"{pid.idnps}: {exc.message}")
            continue
        for number, page in enumerate(pages, start=1):
            target = out_dir / f"annuaire-practitioner-{pid.rpps}-{number}.json"
            write_atomically(target, page)
            report.written.append(f"practitioner {pid.idnps} -> {target}")
    return report
