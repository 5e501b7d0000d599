"""Code system versions: wildcards and the request's version rules.

NOS are republished monthly, so a value set or a coding often names a version other than the
latest. A version may be a wildcard (``1.0.x``, ``1.x``, ``*``: the latest loaded version that
matches). A request may carry, per code system (``canonical|version``):

- ``system-version``: the version to use where the value set does not pin one;
- ``check-system-version``: the version actually used must match, else an error;
- ``force-system-version``: the version to use, whatever the value set or coding says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gateway.errors import InvalidInput
from gateway.terminology.indexed import version_order

_WILD = frozenset({"x", "X", "*"})


def is_wildcard(version: str | None) -> bool:
    return bool(version) and any(part in _WILD for part in (version or "").split("."))


def version_matches(pattern: str, version: str | None) -> bool:
    """Whether ``version`` is ``pattern`` or one of the versions the wildcard stands for."""
    if version is None:
        return False
    if not is_wildcard(pattern):
        return pattern == version
    parts = version.split(".")
    for index, part in enumerate(pattern.split(".")):
        if part in _WILD:
            continue
        if index >= len(parts) or parts[index] != part:
            return False
    return True


def best_version(pattern: str | None, known: Iterable[str]) -> str | None:
    """The version ``pattern`` selects among ``known`` (latest match), None if none does."""
    candidates = [v for v in known if pattern is None or version_matches(pattern, v)]
    return max(candidates, key=version_order) if candidates else None


@dataclass(frozen=True, slots=True)
class VersionRules:
    """``system-version``/``check-system-version``/``force-system-version`` of one request,
    keyed by code system identity (any alias of the system finds them)."""

    default: dict[str, str] = field(default_factory=dict)
    check: dict[str, str] = field(default_factory=dict)
    force: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        identity: Callable[[str], str],
        *,
        default: Iterable[str] = (),
        check: Iterable[str] = (),
        force: Iterable[str] = (),
    ) -> VersionRules:
        def table(name: str, values: Iterable[str]) -> dict[str, str]:
            out: dict[str, str] = {}
            for value in values:
                system, sep, version = value.partition("|")
                if not sep or not system or not version:
                    raise InvalidInput(
                        f"Parameter '{name}' must be 'system|version', got {value!r}",
                        parameter=name,
                    )
                out[identity(system)] = version
            return out

        return cls(
            table("system-version", default),
            table("check-system-version", check),
            table("force-system-version", force),
        )

    def __bool__(self) -> bool:
        return bool(self.default or self.check or self.force)

    def key(self) -> tuple[object, ...]:
        """Hashable form, for memo keys of results that depend on the rules."""
        return (
            tuple(sorted(self.default.items())),
            tuple(sorted(self.check.items())),
            tuple(sorted(self.force.items())),
        )

    def effective(self, identity: str, pinned: str | None) -> str | None:
        """The version (or wildcard) to use for an include of ``identity`` pinned to
        ``pinned`` (None: versionless include)."""
        if identity in self.force:
            return self.force[identity]
        if pinned:
            return pinned
        return self.default.get(identity) or self.check.get(identity)

    def allowed(self, identity: str, version: str | None) -> str | None:
        """The ``check-system-version`` pattern ``version`` violates, else None."""
        pattern = self.check.get(identity)
        if pattern is None or version is None or version_matches(pattern, version):
            return None
        return pattern


NO_RULES = VersionRules()
