"""Typo tolerance: near words from the vocabulary (``search_words``), within Meilisearch's budget.

A word of fewer than 5 letters is never corrected; from 5 letters one typo is
allowed, from 9 two. A typo is an insertion, a deletion, a substitution or a
swap of two neighbouring letters (optimal string alignment distance).

Near words are looked up in one query whatever the number of words: on
PostgreSQL the nearest words by pg_trgm distance (a GiST index on
``search_words.word``), on SQLite the words sharing the most trigrams
(``search_word_trigrams``). Both keep only words within the budget by exact
distance, so both databases propose the same corrections.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connections

from catalog.models import Book
from catalog.search.index import trigrams

#: Words of this length get one typo, ...
ONE_TYPO_FROM = 5
#: ... and from this length two.
TWO_TYPOS_FROM = 9
#: Near words examined per word, nearest first by trigrams.
CANDIDATES = 40
#: Corrections kept per word, best first.
MAX_CORRECTIONS = 3


def typo_budget(word: str) -> int:
    """How many typos ``word`` may hold: 0 below 5 letters, 1 from 5, 2 from 9."""
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    return 1 if len(word) >= ONE_TYPO_FROM else 0


def typo_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance between ``a`` and ``b``; any value above ``limit`` is ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


# The words sharing the most trigrams with one query word (its position in the list comes back as ``q``).
_SQLITE_NEAR = (
    "SELECT * FROM (SELECT %s AS q, t.word FROM search_word_trigrams t"
    " WHERE t.trigram IN (SELECT value FROM json_each(%s)) AND t.length BETWEEN %s AND %s"
    " GROUP BY t.word ORDER BY count(*) DESC, t.word LIMIT %s)"
)


def _near_words(words: Sequence[str]) -> dict[str, list[str]]:
    connection = connections[Book.objects.db]
    found: dict[str, list[str]] = {word: [] for word in words}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT q.word, near.word FROM unnest(%s::text[]) AS q(word)"
                " CROSS JOIN LATERAL (SELECT w.word FROM search_words w"
                "  WHERE length(w.word) BETWEEN length(q.word) - 2 AND length(q.word) + 2"
                "  ORDER BY w.word <-> q.word LIMIT %s) near",
                [list(words), CANDIDATES],
            )
        else:
            params: list[Any] = []
            for index, word in enumerate(words):
                params += [index, json.dumps(trigrams(word)), len(word) - 2, len(word) + 2, CANDIDATES]
            cursor.execute(" UNION ALL ".join([_SQLITE_NEAR] * len(words)), params)
        for key, near in cursor.fetchall():
            word = key if connection.vendor == "postgresql" else words[key]
            found[word].append(near)
    return found


def corrections(words: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Vocabulary words near each of ``words`` (folded), best first; a word of the vocabulary itself gets none.

    Best is fewest typos, then the smaller change in length, then alphabetical.
    """
    wanted = list(dict.fromkeys(word for word in words if typo_budget(word)))
    if not wanted:
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for word, near in _near_words(wanted).items():
        if word in near:
            continue  # a known word is no typo
        budget = typo_budget(word)
        scored = sorted(
            (distance, abs(len(candidate) - len(word)), candidate)
            for candidate in near
            if (distance := typo_distance(word, candidate, budget)) <= budget
        )
        if scored:
            result[word] = tuple(candidate for _, _, candidate in scored[:MAX_CORRECTIONS])
    return result
