"""Staff's synonyms (``SearchSynonym``) applied to a search plan.

A synonym's sides are cut into words exactly like a query, so whatever staff
type (quotes, stars, FTS operators) is only ever words. A query term, or a run
of single-word terms, whose words equal one side gets the other side as an
alternative: ``hp`` also finds ``"harry potter"``; ``science fiction`` (two
words in a row) becomes ``"science fiction"`` or ``"sci fi"``. An edit counts
from the next search on, on every server and both databases: ``synonyms_current`` keeps them in the shared cache
under the catalog's generation token, which every synonym saved or deleted
replaces when its transaction commits (``catalog.apps``).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from catalog import readcache
from catalog.models import SearchSynonym
from catalog.search.query import MAX_QUERY_WORDS, MAX_WORD_LENGTH, Clause, SearchPlan, Term, fold, words_of

#: A synonym side longer than this many words is ignored.
MAX_SYNONYM_WORDS = 8

Synonyms = dict[tuple[str, ...], tuple[tuple[str, ...], ...]]


def _side(text: str) -> tuple[str, ...] | None:
    words = tuple(words_of(text))
    if not words or len(words) > MAX_SYNONYM_WORDS or any(len(word) > MAX_WORD_LENGTH for word in words):
        return None
    return words


def synonyms_load(using: str | None = None) -> Synonyms:
    """Every synonym, as folded words → what they also find (one query)."""
    found: dict[tuple[str, ...], dict[tuple[str, ...], None]] = {}
    rows = SearchSynonym.objects.using(using).values_list("term", "synonym", "both_ways")
    for term, synonym, both_ways in rows:
        left, right = _side(term), _side(synonym)
        if left is None or right is None or left == right:
            continue
        found.setdefault(left, {})[right] = None
        if both_ways:
            found.setdefault(right, {})[left] = None
    return {words: tuple(targets) for words, targets in found.items()}


def synonyms_current() -> Synonyms:
    """``synonyms_load()`` through the shared cache: one cache round trip per search instead of a query.

    Filled from the primary database, so a replica that has not yet received an edit cannot store the old
    synonyms under the new token.
    """
    return readcache.shared_value("synonyms", lambda: synonyms_load(DEFAULT_DB_ALIAS))


def _folded(term: Term) -> tuple[str, ...]:
    return tuple(fold(word) for word in term.words)


def plan_with_synonyms(plan: SearchPlan, synonyms: Synonyms) -> SearchPlan:
    """``plan`` with each clause (or run of single-word clauses) that is a synonym's side given its other sides."""
    if not synonyms or not plan.clauses:
        return plan
    longest = max(len(words) for words in synonyms)
    clauses = list(plan.clauses)
    result: list[Clause] = []
    i = 0
    while i < len(clauses):
        matched = False
        # A phrase or a single word on its own.
        own = _folded(clauses[i].alternatives[0])
        if own in synonyms:
            targets = tuple(Term(words) for words in synonyms[own])
            result.append(Clause(tuple(dict.fromkeys((clauses[i].alternatives[0], *targets))), clauses[i].prefix))
            i += 1
            continue
        # A run of single words, longest first.
        for size in range(min(longest, len(clauses) - i), 1, -1):
            run = clauses[i : i + size]
            if any(clause.alternatives[0].is_phrase for clause in run):
                continue
            words = tuple(fold(clause.alternatives[0].words[0]) for clause in run)
            if words in synonyms:
                phrase = Term(tuple(clause.alternatives[0].words[0] for clause in run))
                targets = tuple(Term(target) for target in synonyms[words])
                result.append(Clause(tuple(dict.fromkeys((phrase, *targets)))))
                i += size
                matched = True
                break
        if not matched:
            result.append(clauses[i])
            i += 1
    if sum(len(term.words) for clause in result for term in clause.alternatives) > 4 * MAX_QUERY_WORDS:
        return plan  # a pathological set of synonyms must not make a query of thousands of words
    return SearchPlan(tuple(result), plan.exclude)
