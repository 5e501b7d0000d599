from __future__ import annotations

import pytest

from gateway.text import normalise, prefix_match, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Médecine générale", "medecine generale"),
        ("MEDECINE-GÉNÉRALE", "medecine generale"),
        ("Dermatologie, Vénéréologie", "dermatologie venereologie"),
        ("Cardio & Maladies vasculaires", "cardio et maladies vasculaires"),
        ("Créneau accessible par l'ensemble", "creneau accessible par l ensemble"),
        ("  Sage-Femme ", "sage femme"),
        ("Œnologie", "oenologie"),
    ],
)
def test_normalise_folds_accents_case_hyphens_and_ampersand(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_prefix_match_is_order_free_and_word_anchored() -> None:
    label = words("Gynécologie-obstétrique")
    assert prefix_match(words("obst gyn"), label)
    assert not prefix_match(words("ecologie"), label)
    assert not prefix_match(words("gyn pediatrie"), label)
