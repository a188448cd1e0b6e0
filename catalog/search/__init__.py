"""Full-text search over books: one entry point, a backend per database.

``book_search(queryset, query)`` is what the admin calls; the API's book list
calls ``book_search_tolerant``, which adds typo tolerance, the in-stock boost,
the zero-result log and a bounded ranking for broad queries. The query
language is the same everywhere:

- words must all match (AND); ``"quoted words"`` match as a phrase; ``-word``
  and ``-"a phrase"`` exclude; anything else is just a separator;
- the last word, while it is being typed (the text does not end in a space),
  also matches as the beginning of a word: ``dun`` finds "Dune";
- English stemming (``running`` finds ``run``), case- and accent-insensitive;
- staff's synonyms (``SearchSynonym``) widen a word or phrase to its synonyms;
- an ISBN in any accepted spelling (optionally after ``ISBN``) finds that book.

Searched: title and subtitle, every contributor's name (any role),
description, publisher, series name and genre names.

User text never reaches the database's query syntax: it is cut into words
(``catalog.search.query``), and each backend builds its query from those words
alone (quoted FTS5 strings on SQLite, ``plainto_tsquery``/``phraseto_tsquery``
parameters on PostgreSQL). A single English stop word (``the``, ``for``) is
dropped; a phrase keeps every word in its place, stop words included, so
``"a bridge for"`` matches "A Bridge for Tomorrow" but neither "The Bridge"
nor "Bridge for Sale". Both indexes hold every word with its position for
that: FTS5 has no stop words, and PostgreSQL uses ``bookstore_english`` (see
migration 0004), the ``english`` configuration with its stemmer but without
its stop-word list.

Ranking: ``catalog.search.ranking``. Typos: ``catalog.search.typos``. The
index and the vocabulary: ``catalog.search.index``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from django.conf import settings
from django.db import connections
from django.db.models import Case, FloatField, QuerySet, Value, When

from catalog.models import Book
from catalog.search import postgresql, sqlite
from catalog.search.index import (
    POSTGRESQL_CONFIG,
    search_index_rebuild,
    search_index_set_active,
    search_index_update,
)
from catalog.search.misses import search_miss_record, search_misses_flush
from catalog.search.query import (
    MAX_QUERY_WORDS,
    MAX_WORD_LENGTH,
    STOP_WORDS,
    Clause,
    ParsedQuery,
    SearchPlan,
    Term,
    fold,
    normalise_query,
    parse_query,
    parse_query_with_prefix,
    search_plan,
)
from catalog.search.ranking import IN_STOCK_BOOST, ORDERING
from catalog.search.synonyms import plan_with_synonyms, synonyms_current
from catalog.search.typos import corrections

__all__ = [
    "MAX_QUERY_WORDS",
    "MAX_WORD_LENGTH",
    "POSTGRESQL_CONFIG",
    "STOP_WORDS",
    "ParsedQuery",
    "SearchResults",
    "Term",
    "book_search",
    "book_search_tolerant",
    "normalise_query",
    "parse_query",
    "search_index_rebuild",
    "search_index_set_active",
    "search_index_update",
    "search_miss_record",
    "search_misses_flush",
]

#: A query that finds fewer books than this is retried with typo tolerance.
TYPO_RETRY_BELOW = 3
#: Broad queries are ranked among at most this many matches (or the page's end, if further).
RANKED_CANDIDATES = 500
#: PostgreSQL's estimate is trusted without counting when it is this many times the exact-count limit:
#: its statistics of the index's words are close for a common word (they err by percents, not fivefold),
#: and a rare word or a combination of words is estimated low, so it is still counted exactly.
ESTIMATE_IS_SAFE_ABOVE = 5
#: A limit no catalog reaches: ``book_search_ids`` then yields every match.
EVERY_MATCH = 2**31 - 1


def _backend(queryset: QuerySet[Book]) -> ModuleType:
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        return postgresql
    if vendor == "sqlite":
        return sqlite
    raise NotImplementedError(f"Full-text search is not implemented for {vendor}.")  # pragma: no cover


def _constant_rank(queryset: QuerySet[Book], rank: float) -> QuerySet[Book]:
    return queryset.annotate(search_rank=Value(rank, output_field=FloatField()))


def _plan(query: str) -> tuple[ParsedQuery, SearchPlan | None]:
    parsed, prefix = parse_query_with_prefix(query)
    if parsed.isbn is not None or parsed.matches_nothing:
        return parsed, None
    return parsed, plan_with_synonyms(search_plan(parsed, prefix), synonyms_current())


def book_search(queryset: QuerySet[Book], query: str) -> QuerySet[Book]:
    """Books of ``queryset`` matching ``query``, best first, annotated with ``search_rank``.

    The result stays a lazy queryset (one SQL statement, a join with the
    index), so callers may filter, re-order, count and paginate it. Higher
    ``search_rank`` is better; ties go to recent sales, then the title.
    """
    parsed, plan = _plan(query)
    if parsed.isbn is not None:
        return _constant_rank(queryset.filter(isbn=parsed.isbn), 1.0)
    if plan is None:
        return _constant_rank(queryset.none(), 0.0)
    return _backend(queryset).search(queryset, plan).order_by(*ORDERING)


@dataclass
class SearchResults:
    """What ``book_search_tolerant`` found.

    ``queryset``: every matching book, annotated with ``search_rank`` and
    ordered best first (count it, filter it, re-order it). ``page(bottom,
    top)`` gives the books of one page of it, ranked among a bounded set of
    candidates, and ``page_ids(bottom, top)`` only their ids. ``did_you_mean``: the corrected query, when typo tolerance
    found what the query as typed did not.
    """

    queryset: QuerySet[Book]
    did_you_mean: str | None = None
    _ranked_page: Any = field(default=None, repr=False)
    #: ``counter(limit)``: how many books match, exact below ``limit``, and whether it is an estimate instead.
    counter: Callable[[int], tuple[int, bool]] | None = field(default=None, repr=False)
    #: ``first_ids(limit)``: for ``pk__in``, the ids of ``limit`` matches (the first in the index's order), from
    #: the index alone.
    first_ids: Callable[[int], Any] | None = field(default=None, repr=False)

    _ranked_ids: Any = field(default=None, repr=False)

    def page(self, bottom: int, top: int) -> Any:
        """Books ``bottom`` to ``top`` (exclusive) of ``queryset``, in its order."""
        if self._ranked_page is None:
            return self.queryset[bottom:top]
        return self._ranked_page(bottom, top)

    def page_ids(self, bottom: int, top: int) -> Any:
        """The ids of the books of ``page(bottom, top)``, in its order (without reading the books themselves)."""
        if self._ranked_ids is None:
            return _ids(self.queryset)[bottom:top]
        return self._ranked_ids(bottom, top)


def _ids(queryset: QuerySet[Book]) -> QuerySet[Book, int]:
    return queryset.select_related(None).prefetch_related(None).values_list("pk", flat=True)


def _boost(prefer_in_stock: bool) -> Any:
    if not prefer_in_stock:
        return None
    return Case(When(stock__gt=0, then=Value(float(IN_STOCK_BOOST))), default=Value(0.0), output_field=FloatField())


def _did_you_mean(plan: SearchPlan, fixes: dict[str, tuple[str, ...]]) -> str:
    parts: list[str] = []
    for clause in plan.clauses:
        term = clause.alternatives[0]
        if term.is_phrase:
            parts.append('"' + term.text + '"')
        else:
            parts.append(fixes.get(fold(term.words[0]), (term.words[0],))[0])
    parts += ["-" + (f'"{term.text}"' if term.is_phrase else term.text) for term in plan.exclude]
    return " ".join(parts)


def _corrected(plan: SearchPlan, fixes: dict[str, tuple[str, ...]]) -> SearchPlan:
    clauses = []
    for clause in plan.clauses:
        term = clause.alternatives[0]
        found = () if term.is_phrase else fixes.get(fold(term.words[0]), ())
        clauses.append(Clause((*clause.alternatives, *(Term((word,)) for word in found)), clause.prefix))
    return SearchPlan(tuple(clauses), plan.exclude)


def book_search_tolerant(
    queryset: QuerySet[Book],
    query: str,
    *,
    prefer_in_stock: bool = False,
    record_misses: bool = True,
    scope: Literal["active", "all"] | None = None,
    count_within: tuple[Literal["active", "all"], list[QuerySet[Any]]] | None = None,
) -> SearchResults:
    """Search ``queryset`` (already filtered) like ``book_search``, tolerating typos; for the API's book list.

    When the query as typed finds fewer than ``TYPO_RETRY_BELOW`` books, each
    word that is not in the vocabulary is widened to its nearest vocabulary
    words within the typo budget (``catalog.search.typos``); books matching
    the query as typed still come first, and ``did_you_mean`` names the
    corrected query. ``prefer_in_stock`` ranks books in stock first within
    each tier. A search that finds nothing is counted in the zero-result log
    (``record_misses``). A constant number of queries whatever the result.

    ``scope``: the caller vouches that ``queryset`` is exactly the shown books
    (``"active"``) or every book (``"all"``), with no other filter. PostgreSQL
    then finds, counts (up to a bound) and picks the candidates to rank from
    the search index alone, never touching every match of a broad word.

    ``count_within``: instead, the caller vouches that ``queryset`` is exactly the shown books (``"active"``)
    or every book (``"all"``) whose id is in each of the given subqueries of link tables (genres,
    credits). PostgreSQL then counts the matches (up to a bound) from the index and those link tables,
    never reading ``books``.
    """
    parsed, plan = _plan(query)
    if parsed.isbn is not None or plan is None:
        found = book_search(queryset, query)
        if record_misses and not found.exists():
            search_miss_record(query=query)
        return SearchResults(found)
    backend = _backend(queryset)
    indexed = scope is not None and backend is postgresql and bool(plan.clauses)
    active_only = scope == "active"

    restrictions: dict[int, Any] = {}

    def restriction(searched: SearchPlan) -> Any:
        # With other filters on PostgreSQL, a query the planner expects in fewer than tens of thousands of
        # books is matched through the GIN index (every match, by a bitmap): seeing a LIMIT, the planner
        # would otherwise test document after document, seconds for a word that is in no book.
        if backend is not postgresql or indexed or not plan.clauses:
            return None
        if id(searched) not in restrictions:
            guess = postgresql.estimate_matching(searched, active_only=False, using=queryset.db)
            broad_guess = guess >= ESTIMATE_IS_SAFE_ABOVE * int(settings.LIST_EXACT_COUNT_LIMIT)
            restrictions[id(searched)] = (
                None
                if broad_guess
                else postgresql.matching_ids(searched, active_only=False, limit=EVERY_MATCH, broad=False)
            )
        return restrictions[id(searched)]

    def count_up_to(searched: SearchPlan, limit: int) -> int:
        if indexed:
            return postgresql.count_matching(searched, active_only=active_only, limit=limit, using=queryset.db)
        found = backend.search(queryset, plan, None if searched is plan else searched, candidates=restriction(searched))
        return len(found.order_by().values_list("pk", flat=True)[:limit])

    # PostgreSQL's estimate first (a millisecond): a word it expects in tens of thousands of books is
    # neither retried for typos nor counted one by one (see ESTIMATE_IS_SAFE_ABOVE). Otherwise the
    # count, exact up to the list's limit, is taken at once: it also says whether the query found few.
    exact_limit = int(settings.LIST_EXACT_COUNT_LIMIT)
    estimate = postgresql.estimate_matching(plan, active_only=active_only, using=queryset.db) if indexed else 0
    broad = estimate >= ESTIMATE_IS_SAFE_ABOVE * exact_limit
    counted: int | None = None  # the matches counted up to exact_limit + 1, when they were
    corrected: SearchPlan | None = None
    did_you_mean = None
    if plan.clauses and not broad:
        if indexed:
            counted = count_up_to(plan, exact_limit + 1)
        few = counted if counted is not None else count_up_to(plan, TYPO_RETRY_BELOW)
        if few < TYPO_RETRY_BELOW:
            words = [fold(c.alternatives[0].words[0]) for c in plan.clauses if not c.alternatives[0].is_phrase]
            fixes = corrections(words)
            if fixes:
                candidate = _corrected(plan, fixes)
                guess = (
                    postgresql.estimate_matching(candidate, active_only=active_only, using=queryset.db)
                    if indexed
                    else 0
                )
                # A corrected query the planner expects in thousands of books surely finds more than a few;
                # otherwise it is counted (up to the list's limit on PostgreSQL, the count the list shows).
                more = None if guess >= 1000 else count_up_to(candidate, exact_limit + 1 if indexed else few + 1)
                if more is None or more > few:
                    corrected, did_you_mean = candidate, _did_you_mean(plan, fixes)
                    estimate, counted = guess, (more if indexed else None)
                    broad = estimate >= ESTIMATE_IS_SAFE_ABOVE * exact_limit
            if record_misses and few == 0 and corrected is None:
                search_miss_record(query=query)
    boost = _boost(prefer_in_stock)
    matched = corrected or plan
    restricted = restriction(matched)
    ranked = backend.search(queryset, plan, corrected, boost=boost, candidates=restricted).order_by(*ORDERING)
    if not plan.clauses:
        return SearchResults(ranked, did_you_mean)

    def ranked_ids(bottom: int, top: int) -> Any:
        # Ranking every match of a broad word costs time in proportion to the matches: rank a bounded set and
        # choose the page's ids among them. From the index (PostgreSQL, no other filter), the order is the
        # first RANKED_CANDIDATES matches ranked, then the other matches in the index's order, so deeper
        # pages continue that order without repeating or skipping a book.
        if indexed:
            if bottom >= RANKED_CANDIDATES:
                return _after_ranked(bottom, top)
            candidates: Any = postgresql.matching_ids(
                matched, active_only=active_only, limit=RANKED_CANDIDATES, broad=broad
            )
        else:
            matches = backend.search(queryset, plan, corrected, candidates=restricted)
            candidates = matches.order_by().values("pk")[: max(RANKED_CANDIDATES, top)]
        chosen = backend.search(queryset, plan, corrected, candidates=candidates, boost=boost)
        head = _ids(chosen.order_by(*ORDERING))[bottom:top]
        if indexed and top > RANKED_CANDIDATES:
            return [*head, *_after_ranked(RANKED_CANDIDATES, top)]
        return head

    def _after_ranked(bottom: int, top: int) -> list[int]:
        return postgresql.matching_ids_in_order(
            matched, active_only=active_only, offset=bottom, limit=top, broad=broad, using=queryset.db
        )

    def ranked_page(bottom: int, top: int) -> Any:
        # Only then are the page's books read, with everything they show.
        ids = ranked_ids(bottom, top)
        page = backend.search(queryset, plan, corrected, candidates=ids, boost=boost).order_by(*ORDERING)
        if isinstance(ids, list):  # a page past the ranked candidates: in the order of its ids
            position = {book_id: n for n, book_id in enumerate(ids)}
            return sorted(page, key=lambda book: position[book.pk])
        return page

    def counter(limit: int) -> tuple[int, bool]:
        if broad:
            return estimate, True
        found = counted if counted is not None and limit == exact_limit + 1 else count_up_to(matched, limit)
        if found < limit:
            return found, False
        return max(found, postgresql.estimate_matching(matched, active_only=active_only, using=queryset.db)), True

    def first_ids(limit: int) -> Any:
        # The first ``limit`` matches in the index table's order, from a bitmap of the GIN index that stops
        # after ``limit`` rows: bounded by ``limit`` whatever the number of matches (ordering them by id
        # would read every match's row first).
        return postgresql.matching_ids(matched, active_only=active_only, limit=limit, broad=False)

    if not indexed:
        within = None
        if count_within is not None and backend is postgresql and plan.clauses:
            within = postgresql.counter_within(
                matched, active_only=count_within[0] == "active", ids=count_within[1], using=queryset.db
            )
        return SearchResults(ranked, did_you_mean, ranked_page, within, _ranked_ids=ranked_ids)
    return SearchResults(ranked, did_you_mean, ranked_page, counter, first_ids, ranked_ids)
