"""French text normalisation, shared by every package that compares words typed by people.

Terminology (``$expand`` filters, fuzzy label search, display checks), commune names, the
stewards' synonyms and practitioner names all compare text this one way, so it lives in no
domain package (geo and mappings import it without importing the terminology).

"Médecine générale", "MEDECINE GENERALE" and "medecine-generale" normalise alike:
accents stripped (NFKD), case folded, hyphens/apostrophes/punctuation to spaces,
"&" read as "et". Standard library only: ``unicodedata`` does the job, and rapidfuzz's
default processor keeps accents.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " et "))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.casefold().replace("œ", "oe").replace("æ", "ae")
    return _NON_WORD.sub(" ", stripped).strip()


def words(text: str) -> tuple[str, ...]:
    return tuple(normalise(text).split())


def prefix_match(query_words: tuple[str, ...], label_words: tuple[str, ...]) -> bool:
    """Every query word is the prefix of some word of the label (order-free)."""
    return all(any(w.startswith(q) for w in label_words) for q in query_words)
