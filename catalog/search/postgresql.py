"""The PostgreSQL backend: ``tsvector`` documents, ``plainto_tsquery``/``phraseto_tsquery`` from the words alone.

Ranking (``search_rank``): see ``catalog.search.ranking``. ``ts_filter`` picks
the weights: A is title+subtitle, B the contributors' names.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from functools import reduce
from operator import and_, or_
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchQueryCombinable
from django.db import connections
from django.db.models import BigIntegerField, Case, F, FloatField, Func, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import Combinable

from bookstore.counting import bounded_count
from catalog.models import Book, BookSearchEntry
from catalog.search.index import POSTGRESQL_CONFIG
from catalog.search.query import Clause, SearchPlan, Term
from catalog.search.ranking import AUTHORS_TIER, EXACT_TIER, TITLE_PHRASE_TIER, TITLE_TIER


def _term_query(term: Term) -> SearchQuery:
    return SearchQuery(
        Func(Value(term.text), function="unaccent", output_field=TextField()),
        config=POSTGRESQL_CONFIG,
        search_type="phrase" if term.is_phrase else "plain",
    )


class _PrefixQuery(SearchQueryCombinable, Func):  # type: ignore[misc]
    """``to_tsquery(config, '<word>':*)``: the stemmed word as the beginning of a lexeme.

    The word holds letters and digits only (``catalog.search.query``), so the
    quoted operand is always one well-formed lexeme, never query syntax.
    """

    output_field = SearchQuery.output_field  # type: ignore[assignment]
    template = "to_tsquery(%(config)s::regconfig, '''' || unaccent(%(expressions)s) || ''':*')"

    def __init__(self, word: str) -> None:
        super().__init__(Value(word, output_field=TextField()))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = super().as_sql(compiler, connection, config=f"'{POSTGRESQL_CONFIG}'", **extra_context)
        return sql, list(params)


def _clause_query(clause: Clause) -> Combinable:
    queries: list[Combinable] = [_term_query(term) for term in clause.alternatives]
    if clause.prefix is not None:
        queries.append(_PrefixQuery(clause.prefix))
    return reduce(or_, queries)


def tsquery(plan: SearchPlan) -> Combinable:
    """The query a document must match: every clause, none of the exclusions."""
    parts = [_clause_query(clause) for clause in plan.clauses]
    parts += [~_term_query(term) for term in plan.exclude]
    return reduce(and_, parts)


class _Rank(Func):
    """``search_rank`` from the weighted tsvector: A is title+subtitle, B the contributors' names.

    Arguments: the document, the OR of the included terms, and optionally the
    OR of the included phrases (for the phrase-in-title tier).
    """

    output_field = FloatField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        compiled = [compiler.compile(e) for e in self.get_source_expressions()]
        (doc, doc_params), (query, query_params) = compiled[:2]
        both = [*doc_params, *query_params]
        sql = (
            f"{TITLE_TIER} * (ts_filter({doc}, '{{a}}') @@ {query})::int"
            f" + {AUTHORS_TIER} * (ts_filter({doc}, '{{b}}') @@ {query})::int"
            f" + ts_rank({doc}, {query})"  # ts_rank (OR query, default weights) lies in [0, 1]
        )
        params = both * 3
        if len(compiled) == 3:
            phrases, phrase_params = compiled[2]
            sql = f"{TITLE_PHRASE_TIER} * (ts_filter({doc}, '{{a}}') @@ {phrases})::int + {sql}"
            params = [*doc_params, *phrase_params, *params]
        return f"({sql})", params


def rank(plan: SearchPlan) -> _Rank:
    """``search_rank`` of a document for ``plan``: which fields hold a term, not how close the terms are."""
    arguments: list[Any] = [F("search_entry__document"), reduce(or_, [_clause_query(c) for c in plan.clauses])]
    if phrases := plan.phrases:
        arguments.append(reduce(or_, (_term_query(term) for term in phrases)))
    return _Rank(*arguments)


class _MatchingIds(Func):
    """``(SELECT * FROM book_search_ids(q, active_only, lim))``: the first ``lim`` matches."""

    template = "(SELECT * FROM %(function)s(%(expressions)s))"
    output_field = BigIntegerField()


def matching_ids(plan: SearchPlan, *, active_only: bool, limit: int, broad: bool) -> Func:
    """For ``pk__in``: the ids of the first ``limit`` books matching ``plan`` (shown ones only with ``active_only``).

    Migration 0009's ``book_search_ids`` reads the GIN index with a bitmap and
    stops after ``limit`` rows: milliseconds for a rare word, where the planner
    (misled by a LIMIT) would test every document. For a ``broad`` query (tens
    of thousands of matches) ``book_search_scan_ids`` walks the table instead,
    which meets ``limit`` matches sooner than a bitmap of them all is built.
    """
    function = "book_search_scan_ids" if broad else "book_search_ids"
    return _MatchingIds(tsquery(plan), Value(active_only), Value(limit), function=function)


def _ids_function(plan: SearchPlan, *, active_only: bool, limit: int, function: str, using: str) -> tuple[str, list]:
    """``function(tsquery, active_only, limit)`` compiled for ``using``: its SQL and parameters."""
    query = Book.objects.using(using).all().query
    compiler = query.get_compiler(using)
    call = Func(tsquery(plan), Value(active_only), Value(limit), function=function)
    sql, params = compiler.compile(call.resolve_expression(query))
    return sql, list(params)


def count_matching(plan: SearchPlan, *, active_only: bool, limit: int, using: str) -> int:
    """How many books match ``plan``, counted up to ``limit`` only (one query)."""
    sql, params = _ids_function(plan, active_only=active_only, limit=limit, function="book_search_ids", using=using)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {sql} AS ids", params)  # noqa: S608 - compiled expression, parameters
        return int(cursor.fetchone()[0])


def matching_ids_in_order(
    plan: SearchPlan, *, active_only: bool, offset: int, limit: int, broad: bool, using: str
) -> list[int]:
    """The ids of matches ``offset`` to ``limit`` (exclusive) in the order ``matching_ids`` yields them.

    Both functions read the index table in its physical order (a bitmap heap scan visits it block by block, the
    scan walks it), so the first ``offset`` of them are the first ``offset`` ``matching_ids(limit=offset)``
    gives, and the pages after the ranked candidates follow on from them.
    """
    function = "book_search_scan_ids" if broad else "book_search_ids"
    sql, params = _ids_function(plan, active_only=active_only, limit=limit, function=function, using=using)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {sql} AS ids OFFSET %s", [*params, offset])  # noqa: S608 - compiled
        return [int(row[0]) for row in cursor.fetchall()]


def counter_within(
    plan: SearchPlan, *, active_only: bool, ids: list[QuerySet[Any]], using: str
) -> Callable[[int], tuple[int, bool]]:
    """``counter(limit)`` of the books matching ``plan`` whose id is in each of ``ids`` (subqueries of link tables).

    Counted from the index table and the link tables alone (``is_active`` is kept in the index), up to
    ``limit``; beyond it, the planner's estimate of the same query.
    """
    entries = BookSearchEntry.objects.using(using).filter(document=tsquery(plan))
    for subquery in ids:
        entries = entries.filter(book_id__in=subquery)
    if active_only:
        # A constant: the column exists on PostgreSQL only, so the model does not declare it.
        entries = entries.extra(where=["book_search.is_active"])
    return functools.partial(bounded_count, entries)


def estimate_matching(plan: SearchPlan, *, active_only: bool, using: str) -> int:
    """The planner's estimate of the books matching ``plan`` (no row is read: ``EXPLAIN`` on the index table)."""
    query = BookSearchEntry.objects.using(using).all().query
    compiler = query.get_compiler(using)
    sql, params = compiler.compile(tsquery(plan).resolve_expression(query))  # type: ignore[attr-defined]
    active = " AND is_active" if active_only else ""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM book_search WHERE document @@ {sql}{active}",  # noqa: S608
            params,
        )
        plan_json = cursor.fetchone()[0]
    if isinstance(plan_json, str):
        plan_json = json.loads(plan_json)
    return int(plan_json[0]["Plan"]["Plan Rows"])


def search(
    queryset: QuerySet[Book],
    plan: SearchPlan,
    corrected: SearchPlan | None = None,
    *,
    candidates: Any = None,
    boost: Any = None,
) -> QuerySet[Book]:
    """``queryset`` narrowed to the books matching ``plan`` (or ``corrected``), annotated with ``search_rank``.

    With ``corrected`` (a plan whose clauses hold those of ``plan`` and more
    alternatives), books matching ``plan`` itself rank ``EXACT_TIER`` above the
    books only the corrected plan finds. ``candidates``: the ids (a subquery)
    of matching books to rank, instead of every match. ``boost``: an
    expression added to the rank.
    """
    if not plan.clauses:
        matching = BookSearchEntry.objects.filter(document=reduce(or_, (_term_query(term) for term in plan.exclude)))
        return queryset.exclude(pk__in=matching.values("book_id")).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    matched = tsquery(plan if corrected is None else corrected)
    # Candidates already match: the tsquery is not evaluated again, the rank reads their documents only.
    queryset = (
        queryset.filter(pk__in=candidates)
        if candidates is not None
        else queryset.filter(search_entry__document=matched)
    )
    score: Any = rank(plan)
    if corrected is not None:
        score = Case(
            When(Q(search_entry__document=tsquery(plan)), then=rank(plan) + Value(float(EXACT_TIER))),
            default=rank(corrected),
            output_field=FloatField(),
        )
    if boost is not None:
        score = score + boost
    return queryset.annotate(search_rank=score)
