"""Shared fixtures: reference data location, settings, app clients, a fake SMT."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
import stamina
import structlog
from litestar import Litestar

from gateway.app import build_assembly, create_app
from gateway.assembly import Assembly
from gateway.component import Component, Transports
from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    Manifest,
    content_version,
    load_columns,
    save_columns,
    write_manifest,
)
from gateway.observability import logging as gateway_logging
from gateway.observability.logging import configure_logging
from gateway.settings import (
    DEFAULT_MAPPINGS_DIR,
    DEMO_SNAPSHOT_DIR,
    AnnuaireSettings,
    CacheSettings,
    RorSettings,
    Settings,
    SnapshotSettings,
    UpstreamSettings,
)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT.parent / "shared" / "reference"
SMT_URL = "https://smt.test/fhir"
C = TypeVar("C", bound=Component)


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    # Retries still happen (at most 3 attempts, fewer if configured), without sleeping.
    stamina.set_testing(True, attempts=3, cap=True)


@pytest.fixture
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not present at {REFERENCE_DIR} (../shared/ is absent)")
    return REFERENCE_DIR


@pytest.fixture
def nos_dir(reference_dir: Path) -> Path:
    path = reference_dir / "nos"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


def offline_settings(snapshot: Path = DEMO_SNAPSHOT_DIR) -> Settings:
    return Settings(
        smt=UpstreamSettings(name="smt", url=""),
        snapshot=SnapshotSettings(snapshot),
        annuaire=AnnuaireSettings(UpstreamSettings(name="annuaire", url="")),
        ror=RorSettings(UpstreamSettings(name="ror", url="")),
        geocoder=UpstreamSettings(name="geocoder", url=""),
    )


def online_settings(
    snapshot: Path = DEMO_SNAPSHOT_DIR, *, patient: bool = False, **cache: Any
) -> Settings:
    """A live (respx-mocked) SMT with short timeouts; ``patient`` for bursts of hundreds of
    concurrent requests, whose single upstream answer may wait on a loaded machine."""
    return Settings(
        smt=UpstreamSettings(
            name="smt",
            url=SMT_URL,
            connect_timeout_s=0.2,
            read_timeout_s=10.0 if patient else 0.5,
            budget_s=20.0 if patient else 1.0,
            retries=1,
            breaker_failures=3,
            breaker_reset_s=30.0,
            rate_per_s=1000.0,
        ),
        snapshot=SnapshotSettings(snapshot),
        cache=CacheSettings(**cache),
        annuaire=AnnuaireSettings(UpstreamSettings(name="annuaire", url="")),
        ror=RorSettings(UpstreamSettings(name="ror", url="")),
        geocoder=UpstreamSettings(name="geocoder", url=""),
    )


@pytest.fixture
def demo_settings() -> Settings:
    return offline_settings()


class AppClient(httpx.AsyncClient):
    """An httpx client driving the ASGI app in the test's own event loop.

    (Litestar's AsyncTestClient runs the app in another loop, which hides the background
    refresh tasks from the test.)
    """

    def __init__(self, app: Litestar, assembly: Assembly) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
        self.app = app
        self.assembly = assembly

    def component(self, kind: type[C]) -> C:
        return self.assembly.get(kind)

    async def __aexit__(self, *exc: Any) -> None:
        await self.assembly.aclose()
        await super().__aexit__(*exc)


@pytest.fixture
async def client(demo_settings: Settings) -> AsyncIterator[AppClient]:
    """The app over the bundled demo snapshot, offline."""
    async with make_client(demo_settings) as test_client:
        yield test_client


def copy_mappings(target: Path) -> Path:
    """A writable copy of the committed steward tables."""
    target.mkdir(parents=True, exist_ok=True)
    for path in DEFAULT_MAPPINGS_DIR.glob("*.csv"):
        (target / path.name).write_bytes(path.read_bytes())
    return target


def publish_locations(snapshot: Path, family: str) -> str:
    """A new index as ``gateway sync locations`` writes it: every family renamed."""
    directory = snapshot / "directory"
    columns, meta = load_columns(directory / LOCATIONS_FILE)
    columns["family"] = np.full(columns["family"].shape, family.encode(), dtype="S40")
    version = content_version(columns)
    save_columns(directory / LOCATIONS_FILE, columns, meta)
    write_manifest(
        directory,
        Manifest(
            version=version, created="2026-12-01T00:00:00Z", source="test",
            locations=int(columns["idnps"].size), practitioners=0,
        ),
    )  # fmt: skip
    return version


def make_client(settings: Settings, transports: Transports | None = None) -> AppClient:
    assembly = build_assembly(settings, transports)
    return AppClient(create_app(settings, assembly=assembly), assembly)


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    """A FHIR searchset Bundle as the SMT returns it for ``GET /CodeSystem?url=``."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Whatever configures logging inside (a test, a command) is undone on the way out:
    the root logger's handlers and level, and the stream the access log writes to (a
    command's may be pytest's captured stderr, closed after the test)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_stream = gateway_logging._stream
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        gateway_logging._stream = saved_stream
        structlog.reset_defaults()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """JSON logging configured as in production, written to a buffer the test reads."""
    with logging_restored():
        stream = io.StringIO()
        configure_logging("DEBUG", stream)
        yield stream
