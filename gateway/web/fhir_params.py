"""FHIR operation parameters from a GET query string or a POST ``Parameters`` body.

Both become ``OperationParams`` (name → list of values) so each operation is written once.
Every accessor validates: wrong types, out-of-range numbers and over-long strings are
``InvalidInput`` naming the parameter (a 400), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.errors import InvalidInput
from gateway.terminology.model import Coding

#: Longest accepted value per parameter; canonical URLs and codes are far shorter in practice.
MAX_LENGTH = {"filter": 200, "code": 256, "display": 1024, "version": 128}
DEFAULT_MAX_LENGTH = 1024


class _CodeableConcept(msgspec.Struct):
    coding: list[Coding] = []
    text: str | None = None


class _Parameter(msgspec.Struct, rename="camel"):
    name: str
    value_string: str | None = None
    value_uri: str | None = None
    value_url: str | None = None
    value_canonical: str | None = None
    value_code: str | None = None
    #: some clients send "true" as a string; flag() reads both
    value_boolean: bool | str | None = None
    value_integer: int | None = None
    value_coding: Coding | None = None
    value_codeable_concept: _CodeableConcept | None = None
    #: ``tx-resource``, ``valueSet``, a batch's ``validation``: kept as JSON, decoded by use.
    resource: msgspec.Raw = msgspec.Raw()

    def value(self) -> Any:
        for candidate in (
            self.value_string,
            self.value_uri,
            self.value_url,
            self.value_canonical,
            self.value_code,
            self.value_boolean,
            self.value_integer,
            self.value_coding,
        ):
            if candidate is not None:
                return candidate
        if self.value_codeable_concept is not None:
            return self.value_codeable_concept
        return bytes(self.resource) if len(self.resource) else None


class _Parameters(msgspec.Struct, rename="camel"):
    resource_type: str
    parameter: list[_Parameter] = []


_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def _checked_length(name: str, value: str) -> str:
    limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
    if len(value) > limit:
        raise InvalidInput(f"Parameter '{name}' is longer than {limit} characters", parameter=name)
    return value


class OperationParams:
    def __init__(self, values: Mapping[str, list[Any]]) -> None:
        self._values = {k: v for k, v in values.items() if v}

    @classmethod
    def from_query(cls, query: Mapping[str, list[str]]) -> OperationParams:
        return cls({k: [v for v in vs if v != ""] for k, vs in query.items()})

    @classmethod
    def from_body(cls, body: bytes) -> OperationParams:
        try:
            parsed = msgspec.json.decode(body, type=_Parameters)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(
                f"Body is not a FHIR Parameters resource: {exc}", parameter="body"
            ) from None
        if parsed.resource_type != "Parameters":
            raise InvalidInput(
                f"Body must be a Parameters resource, not {parsed.resource_type}",
                parameter="resourceType",
            )
        values: dict[str, list[Any]] = {}
        for p in parsed.parameter:
            value = p.value()
            if value is not None:
                values.setdefault(p.name, []).append(value)
        return cls(values)

    def text(self, name: str, *aliases: str) -> str | None:
        for key in (name, *aliases):
            values = self._values.get(key)
            if values:
                value = values[0]
                if not isinstance(value, str):
                    raise InvalidInput(f"Parameter '{key}' must be a string", parameter=key)
                return _checked_length(key, value).strip() or None
        return None

    def texts(self, name: str) -> list[str]:
        out = []
        for value in self._values.get(name, []):
            if not isinstance(value, str):
                raise InvalidInput(f"Parameter '{name}' must be a string", parameter=name)
            out.append(_checked_length(name, value))
        return out

    def integer(
        self, name: str, default: int | None = None, *, minimum: int = 0, maximum: int = 100_000
    ) -> int | None:
        values = self._values.get(name)
        if not values:
            return default
        raw = values[0]
        if isinstance(raw, bool) or not isinstance(raw, int | str) or len(str(raw)) > 12:
            raise InvalidInput(f"Parameter '{name}' must be an integer", parameter=name)
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(
                f"Parameter '{name}' must be an integer, got {raw!r}", parameter=name
            ) from None
        if not minimum <= value <= maximum:
            raise InvalidInput(
                f"Parameter '{name}' must be between {minimum} and {maximum}", parameter=name
            )
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        values = self._values.get(name)
        if not values:
            return default
        raw = values[0]
        if isinstance(raw, bool):
            return raw
        lowered = raw.lower() if isinstance(raw, str) else None
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidInput(
            f"Parameter '{name}' must be true or false, got {str(raw)[:20]!r}", parameter=name
        )

    def coding(self, name: str = "coding") -> Coding | None:
        values = self._values.get(name)
        if not values:
            return None
        value = values[0]
        if isinstance(value, _CodeableConcept):
            return value.coding[0] if value.coding else None
        if isinstance(value, Coding):
            return value
        if not isinstance(value, str):
            raise InvalidInput(f"Parameter '{name}' must be a Coding", parameter=name)
        system, sep, code = _checked_length(name, value).rpartition("|")
        if not sep or not code:
            raise InvalidInput(f"Parameter '{name}' must be 'system|code'", parameter=name)
        return Coding(system=system or None, code=code)

    def system_and_code(self, system_names: tuple[str, ...]) -> tuple[str | None, str]:
        """(system, code) from ``code`` + one of ``system_names``, else ``coding`` or the
        first coding of ``codeableConcept``."""
        coding = self.coding() or self.coding("codeableConcept")
        code = self.text("code")
        system = self.text(*system_names)
        if coding is not None:
            code = code or coding.code
            system = system or coding.system
        if not code:
            raise InvalidInput("Parameter 'code' (or 'coding') is required", parameter="code")
        return system, _checked_length("code", code)

    def has(self, name: str) -> bool:
        return name in self._values

    def codeable_concept(self) -> list[Coding] | None:
        """Every coding of the ``codeableConcept`` parameter (None when absent)."""
        values = self._values.get("codeableConcept")
        if not values:
            return None
        value = values[0]
        if isinstance(value, _CodeableConcept):
            return list(value.coding)
        coding = self.coding("codeableConcept")
        return [coding] if coding is not None else []

    def resources(self, name: str) -> list[bytes]:
        """The resources given inline as ``name`` (JSON bytes)."""
        return [v for v in self._values.get(name, []) if isinstance(v, bytes)]

    def merged(self, inner: OperationParams) -> OperationParams:
        """These parameters overridden by ``inner``'s (a batch entry inherits the batch's)."""
        values = {k: v for k, v in self._values.items() if k != "validation"}
        values.update(inner._values)
        return OperationParams(values)
