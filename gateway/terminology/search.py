"""Fuzzy French label search (``/v1/terminology/search``), ranked with rapidfuzz.

Two signals, best label wins per concept:
* word-prefix match (every query word starts a label word: "cardio" → "Cardiologie…")
  scores 90–100, more for labels the query covers more fully (exact label = 100);
* otherwise rapidfuzz ``WRatio`` on normalised text, scaled to at most 85, for typos
  ("cardiolgie", "pediatr").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from gateway.terminology.engine import ExpansionItem
from gateway.text import normalise, prefix_match

MIN_SCORE = 60.0


@dataclass(frozen=True, slots=True)
class SearchMatch:
    system: str
    code: str
    display: str
    score: float
    inactive: bool


def _label_score(query: str, query_words: tuple[str, ...], label_words: tuple[str, ...]) -> float:
    label = " ".join(label_words)
    if not label:
        return 0.0
    if label == query:
        return 100.0
    if prefix_match(query_words, label_words):
        coverage = min(1.0, len(query) / len(label))
        return 90.0 + 9.0 * coverage
    return 0.85 * fuzz.WRatio(query, label, processor=None)


def rank(
    query: str, items: Iterable[ExpansionItem], *, limit: int = 10, include_inactive: bool = False
) -> list[SearchMatch]:
    normalised = normalise(query)
    query_words = tuple(normalised.split())
    if not query_words:
        return []
    best: dict[tuple[str, str], SearchMatch] = {}
    for item in items:
        if item.inactive and not include_inactive:
            continue
        score = max(
            (_label_score(normalised, query_words, lw) for lw in item.label_words), default=0.0
        )
        if score < MIN_SCORE:
            continue
        key = (item.system, item.code)
        previous = best.get(key)
        if previous is None or score > previous.score:
            best[key] = SearchMatch(
                item.system, item.code, item.display, round(score, 1), item.inactive
            )
    ordered = sorted(best.values(), key=lambda m: (-m.score, len(m.display), m.code))
    return ordered[:limit]
