"""FHIR R4 datatypes read by more than one client (Annuaire Santé, ROR, SMT).

Declared once so that a quirk met in one upstream's real payloads is handled for every
client, instead of drifting between two or three private copies. Tolerant by design, since
the directory clients decode live Annuaire and ROR answers:

* unknown members are ignored (msgspec's default), so a new upstream field breaks nothing;
* every member is optional, even those FHIR requires (an ``Extension`` without ``url``
  decodes and simply matches no known extension);
* ``omit_defaults``: the terminology engine re-encodes codings and designations in its
  answers, and absent members must stay absent there.

Only the members some client reads are declared; add one when a client needs it.
"""

from __future__ import annotations

import msgspec


class Coding(msgspec.Struct, omit_defaults=True):
    system: str | None = None
    version: str | None = None
    code: str | None = None
    display: str | None = None


class Identifier(msgspec.Struct, omit_defaults=True):
    system: str | None = None
    value: str | None = None


class CodeableConcept(msgspec.Struct, omit_defaults=True):
    coding: list[Coding] = []
    text: str | None = None


class Reference(msgspec.Struct, omit_defaults=True):
    reference: str | None = None


class ContactPoint(msgspec.Struct, omit_defaults=True):
    system: str | None = None
    value: str | None = None


class Extension(msgspec.Struct, omit_defaults=True, rename="camel"):
    """A (possibly complex) extension; the ``value[x]`` types the ANS profiles use."""

    url: str = ""
    extension: list[Extension] = []
    value_codeable_concept: CodeableConcept | None = None
    value_coding: Coding | None = None
    value_code: str | None = None
    value_string: str | None = None
