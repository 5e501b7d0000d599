"""Cache keys: versions never share an entry; hashed keys never carry the clear text."""

from __future__ import annotations

import pytest

from gateway.cache import hashed_key, versioned_key

URL = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"


def test_versioned_keys_differ_by_version() -> None:
    assert versioned_key("CodeSystem", URL, "1") != versioned_key("CodeSystem", URL, "2")


def test_versioned_key_is_stable_for_equal_inputs() -> None:
    assert versioned_key("CodeSystem", URL, "1") == versioned_key("CodeSystem", URL, "1")
    assert hash(versioned_key("CodeSystem", URL, "1")) == hash(
        versioned_key("CodeSystem", URL, "1")
    )


def test_versioned_key_without_version_differs_from_any_version() -> None:
    unversioned = versioned_key("CodeSystem", URL, None)

    assert unversioned == versioned_key("CodeSystem", URL, "")  # both mean "no version"
    assert unversioned != versioned_key("CodeSystem", URL, "1")


def test_versioned_key_separates_kinds_and_extra_parts() -> None:
    assert versioned_key("CodeSystem", URL, "1") != versioned_key("ValueSet", URL, "1")
    assert versioned_key("ValueSet", URL, "1", "expand") != versioned_key("ValueSet", URL, "1")
    assert versioned_key("ValueSet", URL, "1", "a") != versioned_key("ValueSet", URL, "1", "b")


SENSITIVE = ("12 rue de la Paix", "75002", "Dupont", "Jean-Émile")


def test_hashed_key_never_contains_the_clear_input() -> None:
    key = hashed_key("geocode", *SENSITIVE)

    text = repr(key) + str(key)
    for part in SENSITIVE:
        assert part not in text
        assert part.casefold() not in text.casefold()
        for word in part.split():
            if len(word) > 3:
                assert word.casefold() not in text.casefold()


def test_hashed_key_keeps_kind_and_a_fixed_size_digest() -> None:
    kind, digest = hashed_key("geocode", *SENSITIVE)

    assert kind == "geocode"
    assert len(digest) == 40  # 20-byte blake2b, hex
    int(digest, 16)  # hex only
    assert len(hashed_key("geocode", "x" * 10_000)[1]) == 40


def test_hashed_key_is_deterministic_within_the_process() -> None:
    assert hashed_key("geocode", *SENSITIVE) == hashed_key("geocode", *SENSITIVE)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("Dupont",), ("Dupond",)),
        (("a", "b"), ("b", "a")),
        (("ab",), ("a", "b")),
        (("a\x00b",), ("a", "b")),
        (("a", ""), ("a",)),
        (("",), ()),
    ],
)
def test_hashed_key_distinguishes_different_parts(
    left: tuple[str, ...], right: tuple[str, ...]
) -> None:
    assert hashed_key("geocode", *left) != hashed_key("geocode", *right)


def test_hashed_key_separates_kinds() -> None:
    assert hashed_key("geocode", "x") != hashed_key("directory", "x")
