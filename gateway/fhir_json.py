"""FHIR JSON plumbing shared by every upstream model: resource type probe, Bundle entries.

Entries are kept as raw bytes (``msgspec.Raw``) so each module decodes only the resource
types it knows, into its own msgspec models.
"""

from __future__ import annotations

import msgspec


class _Probe(msgspec.Struct, rename="camel"):
    resource_type: str = ""


class _Entry(msgspec.Struct):
    resource: msgspec.Raw = msgspec.Raw(b"")


class _Link(msgspec.Struct):
    relation: str = ""
    url: str = ""


class _Bundle(msgspec.Struct):
    entry: list[_Entry] = []
    link: list[_Link] = []


def resource_type(data: bytes) -> str:
    """The ``resourceType`` of a JSON document ("" when absent).

    Raises ``msgspec.DecodeError`` when the document is not JSON.
    """
    return msgspec.json.decode(data, type=_Probe).resource_type


def bundle_entries(data: bytes) -> tuple[list[bytes], str | None]:
    """The raw resources of a Bundle's entries, and its ``next`` link if any."""
    parsed = msgspec.json.decode(data, type=_Bundle)
    entries = [bytes(e.resource) for e in parsed.entry if len(e.resource)]
    next_url = next((link.url for link in parsed.link if link.relation == "next"), None)
    return entries, next_url
