"""``tests/agenda_stub.AgendaStub`` answers the IG's three searches with Bundles that
``read_slots`` reads back into the offers it was given (through the real ``UpstreamClient``
and ``search_pages``), and fails the way it is told to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from gateway.availability.slots import OfferedSlot, ReadSlot, SlotPlace, read_slots
from gateway.errors import UpstreamBadResponse, UpstreamError
from gateway.fhir import search_pages
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient
from tests.agenda_stub import AGENDA_URL, AgendaStub, Kind, StubSlot

NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC).timestamp()
H = 3600
DUPONT, MARTIN = "810000000001", "810000000002"
CABINET = SlotPlace("3 rue Neuve", "75001", "PARIS")
ANNEXE = SlotPlace("8 avenue Foch", "75016", "PARIS")
SOS_RENNES = "334173748400020"
CPTS = "1950047225"


def instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def query(kind: Kind, owners: list[str], count: int = 100) -> httpx.QueryParams:
    """The IG's search for ``kind``, window [NOW, NOW + 24 h]."""
    low, high = f"ge{instant(NOW)}", f"le{instant(NOW + 24 * H)}"
    if kind == "sos":
        tokens = ",".join(f"urn:oid:1.2.250.1.71.4.2.2|{o}" for o in owners)
        return httpx.QueryParams([
            ("_revinclude", "Slot:schedule"), ("_include", "Schedule:actor:Location"),
            ("_include:iterate", "Location:organization"),
            ("_has:Slot:schedule:start", low), ("_has:Slot:schedule:start", high),
            ("_has:Slot:schedule:status", "free"),
            ("actor:Location.organization.identifier", tokens), ("_count", str(count)),
        ])  # fmt: skip
    cpts = [
        ("_include", "Slot:service-type-reference"),
        ("_include:iterate", "HealthcareService:organization"),
    ]
    tokens = ",".join(f"urn:oid:1.2.250.1.71.4.2.1|{o}" for o in owners)
    return httpx.QueryParams([
        ("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor"),
        *(cpts if kind == "cpts" else []),
        ("start", low), ("start", high), ("schedule.actor:Practitioner.identifier", tokens),
        ("status", "free"), ("_count", str(count)),
    ])  # fmt: skip


@pytest.fixture
async def client() -> AsyncIterator[tuple[UpstreamClient, respx.MockRouter]]:
    router = respx.MockRouter(assert_all_called=False)
    settings = UpstreamSettings(
        name="agenda", url=AGENDA_URL, retries=0, rate_per_s=1e3, budget_s=0.3
    )
    upstream = UpstreamClient(settings, transport=httpx.MockTransport(router.async_handler))
    yield upstream, router
    await upstream.aclose()


Client = tuple[UpstreamClient, respx.MockRouter]


async def search(
    client: Client, stub: AgendaStub, params: httpx.QueryParams
) -> tuple[list[ReadSlot], list[str]]:
    upstream, router = client
    stub.mount(router)
    path = "/Schedule" if stub.kind == "sos" else "/Slot"
    slots: list[ReadSlot] = []
    problems: list[str] = []
    async for page in search_pages(upstream, path, params, max_pages=10):
        read = read_slots(page.bundle)
        slots += read.slots
        problems += read.problems
    return slots, problems


def offered(
    start: float,
    types: tuple[str, ...] = ("PUBLIC",),
    modes: tuple[str, ...] = ("AMB",),
    walk_in: bool = False,
    booking_url: str | None = None,
    specialties: tuple[str, ...] = (),
) -> OfferedSlot:
    begin = int(NOW + start)
    return OfferedSlot(begin, begin + 1800, types, modes, walk_in, booking_url, specialties)


async def test_psindiv_pages_read_back_into_the_offers(client: Client) -> None:
    stub = AgendaStub("psindiv", now=NOW)
    url = "https://agenda.test/rdv/1"
    stub.offer(
        DUPONT,
        StubSlot(
            1 * H,
            types=("PRO", "PUBLIC"),
            modes=("VR", "AMB"),
            booking_url=url,
            place=CABINET,
            specialties=("SM54",),
            slot_id="d1",
        ),
        StubSlot(2 * H, walk_in=True, place=ANNEXE, slot_id="d2"),
        StubSlot(30 * H, place=CABINET, slot_id="d-tomorrow"),
    )  # out of the window
    stub.offer(MARTIN, StubSlot(90 * 60, modes=("HH",), slot_id="m1"))  # fmt: skip

    slots, problems = await search(client, stub, query("psindiv", [DUPONT, MARTIN], count=2))

    assert problems == []
    assert slots == [
        ReadSlot("d1", DUPONT, CABINET, None, None, offered(
            1 * H, types=("PRO", "PUBLIC"), modes=("AMB", "VR"), booking_url=url,
            specialties=("SM54",))),
        ReadSlot("m1", MARTIN, None, None, None, offered(90 * 60, modes=("HH",))),
        ReadSlot("d2", DUPONT, ANNEXE, None, None, offered(2 * H, walk_in=True)),
    ]  # fmt: skip
    assert len(stub.requests) == 2  # two pages of two, then one
    assert [stub.identifiers(r) for r in stub.requests] == [[DUPONT, MARTIN]] * 2


async def test_cpts_slots_name_their_cpts_when_the_search_includes_it(client: Client) -> None:
    offer = StubSlot(H, types=("CPTS",), place=CABINET, cpts_finess=CPTS, slot_id="c1")
    cpts, psindiv = AgendaStub("cpts", now=NOW), AgendaStub("psindiv", now=NOW)
    cpts.offer(DUPONT, offer)
    psindiv.offer(DUPONT, offer)

    [read], problems = await search(client, cpts, query("cpts", [DUPONT]))

    assert problems == []
    assert (read.cpts_finess, read.cpts_finesses, read.slot.types) == (CPTS, (CPTS,), ("CPTS",))
    # The psindiv search does not include the HealthcareService: the CPTS stays unknown.
    [plain], _ = await search(client, psindiv, query("psindiv", [DUPONT]))
    assert plain.cpts_finess is None


async def test_sos_schedules_page_by_site_and_read_back(client: Client) -> None:
    stub = AgendaStub("sos", now=NOW)
    stub.offer(SOS_RENNES, StubSlot(H, place=CABINET, slot_id="s1"),
               StubSlot(2 * H, place=ANNEXE, slot_id="s2"),
               StubSlot(3 * H, place=CABINET, slot_id="s3"))  # fmt: skip

    slots, problems = await search(client, stub, query("sos", [SOS_RENNES], count=1))

    assert problems == []
    assert [(s.slot_id, s.place, s.organization, s.idnps) for s in slots] == [
        ("s1", CABINET, SOS_RENNES, None),
        ("s3", CABINET, SOS_RENNES, None),
        ("s2", ANNEXE, SOS_RENNES, None),
    ]
    assert len(stub.requests) == 2  # one Schedule (site) per page


async def test_a_malformed_slot_is_a_problem_and_past_slots_are_served(client: Client) -> None:
    stub = AgendaStub("psindiv", now=NOW, malformed_slot=True, past=True)
    stub.offer(DUPONT, StubSlot(H, slot_id="d1"), StubSlot(2 * H, slot_id="d2"))

    slots, problems = await search(client, stub, query("psindiv", [DUPONT]))

    # The past slot comes first (it started 10 minutes ago): it is the broken one.
    assert problems == [f"Slot/{DUPONT}-past: start is not a FHIR instant"]
    assert [s.slot_id for s in slots] == ["d1", "d2"]
    stub.malformed_slot = False
    slots, _ = await search(client, stub, query("psindiv", [DUPONT]))
    assert slots[0].slot_id == f"{DUPONT}-past"
    assert slots[0].slot.start < NOW  # read_slots keeps it: the refresher drops it


@pytest.mark.parametrize(
    ("mode", "error"),
    [("down", UpstreamError), ("html", UpstreamBadResponse), ("slow", UpstreamError)],
)
async def test_failure_modes(client: Client, mode: str, error: type[Exception]) -> None:
    stub = AgendaStub("psindiv", now=NOW, down=mode == "down", html=mode == "html",
                      slow=1.0 if mode == "slow" else 0.0)  # fmt: skip
    stub.offer(DUPONT, StubSlot(H))

    with pytest.raises(error):
        await search(client, stub, query("psindiv", [DUPONT]))
    assert len(stub.requests) == 1  # the request was made (and kept) before failing


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("psindiv", query("cpts", [DUPONT])),
        ("cpts", query("psindiv", [DUPONT])),
        ("sos", query("psindiv", [SOS_RENNES])),
        ("psindiv", query("psindiv", [f"8{n:011d}" for n in range(26)])),
    ],
)
async def test_another_search_is_refused(
    client: Client, kind: Kind, params: httpx.QueryParams
) -> None:
    with pytest.raises(UpstreamBadResponse, match="HTTP 400"):
        await search(client, AgendaStub(kind, now=NOW), params)
