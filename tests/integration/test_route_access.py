"""Every route declares who may call it (``opt``); the guard reads that, not the URL."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from gateway.app import create_app
from gateway.auth.keys import Role
from gateway.auth.policy import ACCESS, Access
from tests.conftest import offline_settings


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(offline_settings())


def declared(app: Litestar) -> dict[tuple[str, str], Access | None]:
    found: dict[tuple[str, str], Access | None] = {}
    for route in app.routes:
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in handler.http_methods:
                found[(route.path, method)] = handler.opt.get(ACCESS)
    return found


def test_every_route_declares_its_access(app: Litestar) -> None:
    routes = declared(app)
    assert len(routes) > 30
    undeclared = sorted(f"{method} {path}" for (path, method), a in routes.items() if a is None)
    assert undeclared == []


@pytest.mark.parametrize(
    ("method", "path", "public_ops", "roles"),
    [
        ("POST", "/admin/mappings/reload", True, {Role.ADMIN}),
        ("GET", "/admin/mappings", True, {Role.ADMIN}),
        ("GET", "/console/links", False, None),
        ("GET", "/console/config.json", False, None),
        ("GET", "/v1/terminology/valuesets", True, {Role.SEARCH, Role.ADMIN}),
        ("POST", "/admin/cache/purge", True, {Role.ADMIN}),
        ("GET", "/admin/cache/stats", True, {Role.ADMIN}),
        ("POST", "/v1/contextual-search/links", True, {Role.LRM, Role.ADMIN}),
        ("GET", "/v1/contextual-search/resolve", True, {Role.SEARCH, Role.LRM, Role.ADMIN}),
        ("GET", "/v1/search", True, {Role.SEARCH, Role.ADMIN}),
        ("POST", "/v1/rank", True, {Role.SEARCH, Role.ADMIN}),
        ("GET", "/fhir/CodeSystem/$lookup", True, {Role.SEARCH, Role.ADMIN}),
        ("GET", "/v1/practitioners/{idnps:str}", True, {Role.SEARCH, Role.ADMIN}),
        ("GET", "/health/ready", True, None),
        ("GET", "/metrics", True, None),
        ("GET", "/schema/openapi.json", True, None),
        ("GET", "/metrics", False, {Role.ADMIN}),
        ("GET", "/health/live", False, {Role.ADMIN}),
        ("GET", "/schema/openapi.json", False, {Role.ADMIN}),
    ],
)
def test_route_policy(
    app: Litestar, method: str, path: str, public_ops: bool, roles: set[Role] | None
) -> None:
    access = declared(app)[(path, method)]
    assert access is not None
    found = access.required(public_ops)
    assert (None if found is None else set(found)) == roles
