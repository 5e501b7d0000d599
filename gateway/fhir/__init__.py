"""FHIR plumbing shared by every upstream client: datatypes, the Bundle envelope, paging.

A lower layer: it imports nothing from ``gateway.directory``, ``gateway.terminology``,
``gateway.search`` or ``gateway.web`` (only ``gateway.errors`` and ``gateway.upstream``),
so that each of those can build on it without the directory and terminology models
reaching into one another for a ``Coding``.
"""

from gateway.fhir.bundle import Bundle, BundleEntry, BundleLink, bundle_entries, resource_type
from gateway.fhir.paging import JsonSource, SearchPage, search_pages
from gateway.fhir.types import (
    CodeableConcept,
    Coding,
    ContactPoint,
    Extension,
    Identifier,
    Reference,
)

__all__ = [
    "Bundle",
    "BundleEntry",
    "BundleLink",
    "CodeableConcept",
    "Coding",
    "ContactPoint",
    "Extension",
    "Identifier",
    "JsonSource",
    "Reference",
    "SearchPage",
    "bundle_entries",
    "resource_type",
    "search_pages",
]
