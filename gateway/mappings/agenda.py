"""``mappings/agenda_sources.csv``: the agenda software the gateway reads free slots from.

DESIGN.md §9.2: the SAS "Consommateur" flows read each editor's FHIR API (``psindiv``:
practitioners' own slots, ``cpts``: also the CPTS slots, ``sos``: SOS Médecins sites).
Stewards list one row per source; the refresher polls each at its own rate over its own
window. Certificates are never in the file (it is committed): the operator gives them
per source in ``GATEWAY_AGENDA_<NAME>_CLIENT_CERT`` / ``_KEY`` (``gateway.availability.tls``),
which is why two names that give the same variable are refused here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

from gateway.mappings.csvfile import Problems, read_rows

AgendaKind = Literal["psindiv", "cpts", "sos"]
KINDS: tuple[AgendaKind, ...] = get_args(AgendaKind)
_KIND_OF: dict[str, AgendaKind] = {kind: kind for kind in KINDS}
COLUMNS = ("name", "kind", "base_url", "rate_per_s", "window_hours")
#: The built-in fictitious agenda (demo and tests): no network, no certificate.
DEMO_URL = "demo:"
MAX_WINDOW_HOURS = 168  # one week: the SAS shows slots up to a few days ahead
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_RATE = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")  # a decimal comma, as radius.py accepts
_HOURS = re.compile(r"^[0-9]{1,4}$")


@dataclass(frozen=True, slots=True)
class AgendaSource:
    name: str
    kind: AgendaKind
    base_url: str
    rate_per_s: float
    window_hours: int
    line: int

    @property
    def demo(self) -> bool:
        return self.base_url == DEMO_URL


def variable_stem(name: str) -> str:
    """``GATEWAY_AGENDA_<stem>_CLIENT_CERT``: the name upper-cased, ``-`` → ``_`` (a shell
    variable cannot hold ``-``)."""
    return name.upper().replace("-", "_")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a source's FHIR base, or None."""
    if url == DEMO_URL:
        return None
    usage = "an https:// FHIR base URL, or demo: for the built-in demo agenda"
    if not url or any(ch.isspace() for ch in url):
        return f"base_url '{url}' must be {usage}"
    parts = urlsplit(url)
    try:
        _ = parts.port  # the property raises on a port that is not a number up to 65535
    except ValueError:
        return f"base_url '{url}' has an invalid port"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"base_url '{url}' must be {usage}"
    if parts.username is not None or parts.password is not None:
        # The file is committed: secrets go in the certificate variables, never here.
        return f"base_url '{url}' must not hold a user or password"
    if parts.query or parts.fragment:
        return f"base_url '{url}' must be the FHIR base, without '?' or '#'"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # Slots name practitioners and patients book on them: only a local test server
        # may go without TLS.
        return f"base_url '{url}': http:// is only for a loopback host (localhost, 127.0.0.1)"
    return None


def _source(problems: Problems, line: int, cells: dict[str, str]) -> AgendaSource | None:
    """The source of one row, or None after adding its problems."""
    before = len(problems.messages)
    name, kind, url = cells["name"], cells["kind"], cells["base_url"]
    rate_text, hours_text = cells["rate_per_s"], cells["window_hours"]
    if not _NAME.match(name):
        problems.add(
            line,
            f"name '{name}' must be 1 to 32 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit",
        )
    kind_of = _KIND_OF.get(kind)
    if kind_of is None:
        problems.add(line, f"kind '{kind}' must be one of {', '.join(KINDS)}")
    url_problem = _url_problem(url)
    if url_problem is not None:
        problems.add(line, url_problem)
    rate = float(rate_text.replace(",", ".")) if _RATE.match(rate_text) else 0.0
    if rate <= 0:
        problems.add(line, f"rate_per_s is '{rate_text}', not a number of calls per second above 0")
    hours = int(hours_text) if _HOURS.match(hours_text) else 0
    if not 1 <= hours <= MAX_WINDOW_HOURS:
        problems.add(
            line,
            f"window_hours is '{hours_text}', not a whole number of hours from 1 to "
            f"{MAX_WINDOW_HOURS}",
        )
    if len(problems.messages) != before or kind_of is None:
        return None
    return AgendaSource(name, kind_of, url.rstrip("/") or url, rate, hours, line)


def load_agenda_sources(path: Path) -> list[AgendaSource]:
    """Every source of ``path`` in file order; one ``MappingError`` lists every problem."""
    problems = Problems(path)
    found: list[AgendaSource] = []
    names: dict[str, int] = {}
    stems: dict[str, tuple[str, int]] = {}
    for row in read_rows(path, COLUMNS, problems):
        name = row.cells["name"]
        if name in names:
            problems.add(row.line, f"name '{name}' is already listed on line {names[name]}")
            continue
        names[name] = row.line
        stem = variable_stem(name)
        if stem in stems:
            other, line = stems[stem]
            problems.add(
                row.line,
                f"name '{name}' and '{other}' (line {line}) would share the certificate "
                f"variables GATEWAY_AGENDA_{stem}_CLIENT_CERT/_KEY; rename one",
            )
            continue
        stems[stem] = (name, row.line)
        source = _source(problems, row.line, row.cells)
        if source is not None:
            found.append(source)
    problems.raise_if_any()
    return found
