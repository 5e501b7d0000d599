"""The FHIR ``Bundle`` envelope, as every search client and snapshot reader needs it.

Entries are kept as raw JSON (``msgspec.Raw``): each module decodes only the resource types
it knows, into its own models, and decides itself what a malformed entry means (the ROR
index skips it, the Annuaire and SMT clients reject the answer).

``total`` is deliberately not declared: paging never trusts it (Annuaire and ROR searches
often omit it), so it is never read, and a bogus value cannot fail a decode either.
"""

from __future__ import annotations

import msgspec


class BundleLink(msgspec.Struct, omit_defaults=True):
    relation: str = ""
    url: str = ""


class BundleEntry(msgspec.Struct, omit_defaults=True, rename="camel"):
    full_url: str | None = None
    resource: msgspec.Raw = msgspec.Raw(b"")


class Bundle(msgspec.Struct, omit_defaults=True, rename="camel"):
    resource_type: str = ""
    link: list[BundleLink] = []
    entry: list[BundleEntry] = []

    def next_url(self) -> str | None:
        """The ``next`` link; an empty one counts as none (following it would re-read
        the current page)."""
        return next((link.url for link in self.link if link.relation == "next" and link.url), None)

    def resources(self) -> list[bytes]:
        """The raw JSON of every entry that carries a resource."""
        return [bytes(entry.resource) for entry in self.entry if len(entry.resource)]


class _Probe(msgspec.Struct, rename="camel"):
    resource_type: str = ""


def resource_type(data: bytes) -> str:
    """The ``resourceType`` of a JSON document ("" when absent).

    Raises ``msgspec.DecodeError`` when the document is not JSON.
    """
    return msgspec.json.decode(data, type=_Probe).resource_type


def bundle_entries(data: bytes) -> tuple[list[bytes], str | None]:
    """The raw resources of a Bundle's entries, and its ``next`` link if any."""
    bundle = msgspec.json.decode(data, type=Bundle)
    return bundle.resources(), bundle.next_url()
