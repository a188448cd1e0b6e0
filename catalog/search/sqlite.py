"""The SQLite backend: an FTS5 table (``book_id``, ``title``, ``authors``, ``body``), queried with quoted strings only.

Ranking (``search_rank``): see ``catalog.search.ranking``; FTS5's bm25 over
column subsets tells the title and contributor tiers apart.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, FloatField, Func, Lookup, QuerySet, Value, When
from django.db.models.sql.compiler import SQLCompiler

from catalog.models import Book, BookSearchEntry
from catalog.search.query import Clause, SearchPlan, Term
from catalog.search.ranking import AUTHORS_TIER, EXACT_TIER, TITLE_PHRASE_TIER, TITLE_TIER


class _Fts5Match(Lookup):
    """``<fts5 table column> MATCH <query>``: the FTS5 full-text condition."""

    lookup_name = "match"

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} MATCH {rhs}", [*lhs_params, *rhs_params]


BookSearchEntry._meta.get_field("fts").register_lookup(_Fts5Match)


class _Fts5Rank(Func):
    """``search_rank`` from FTS5's bm25 over the columns (book_id, title, authors, body).

    bm25 is negative for a match (lower is better) and exactly 0 when the
    columns it weighs hold none of the query's phrases, which tells the tiers
    apart; ``r / (1 + r)`` maps the full score ``r`` into [0, 1).
    """

    template = (
        f"({TITLE_TIER} * (bm25(%(expressions)s, 0, 1, 0, 0) < 0)"
        f" + {AUTHORS_TIER} * (bm25(%(expressions)s, 0, 0, 1, 0) < 0)"
        " - bm25(%(expressions)s) / (1 - bm25(%(expressions)s)))"
    )
    output_field = FloatField()


def fts5_string(term: Term) -> str:
    """``term`` as an FTS5 string.

    Words hold letters and digits only, so a quoted FTS5 string is always
    well formed: never an operator, a column filter or a prefix query.
    """
    return '"' + term.text.replace('"', '""') + '"'


def _clause(clause: Clause) -> str:
    strings = [fts5_string(term) for term in clause.alternatives]
    if clause.prefix is not None:
        strings.append(fts5_string(Term((clause.prefix,))) + " *")
    return strings[0] if len(strings) == 1 else "(" + " OR ".join(strings) + ")"


def expression(plan: SearchPlan) -> str:
    """The FTS5 query a row must match: every clause, none of the exclusions."""
    included = " AND ".join(_clause(clause) for clause in plan.clauses)
    if plan.exclude:
        excluded = " OR ".join(fts5_string(term) for term in plan.exclude)
        return f"({included}) NOT ({excluded})"
    return included


def _rank(plan: SearchPlan) -> Any:
    rank: Any = _Fts5Rank(F("search_entry__fts"))
    if phrases := plan.phrases:
        # bm25 cannot weigh some phrases apart from the others: the books with
        # a phrase in the title come from a second, uncorrelated MATCH.
        in_title = "title : (" + " OR ".join(fts5_string(term) for term in phrases) + ")"
        titled = BookSearchEntry.objects.filter(fts__match=in_title).values("book_id")
        rank = rank + Case(
            When(pk__in=titled, then=Value(float(TITLE_PHRASE_TIER))), default=Value(0.0), output_field=FloatField()
        )
    return rank


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
        excluded = " OR ".join(fts5_string(term) for term in plan.exclude)
        matching = BookSearchEntry.objects.filter(fts__match=excluded)
        return queryset.exclude(pk__in=matching.values("book_id")).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    exact = expression(plan)
    # bm25() needs the MATCH in its own query, so it stays beside the candidates.
    queryset = queryset.filter(search_entry__fts__match=expression(plan if corrected is None else corrected))
    if candidates is not None:
        queryset = queryset.filter(pk__in=candidates)
    score: Any = _rank(plan if corrected is None else corrected)
    if corrected is not None:
        exact_books = BookSearchEntry.objects.filter(fts__match=exact).values("book_id")
        score = score + Case(
            When(pk__in=exact_books, then=Value(float(EXACT_TIER))), default=Value(0.0), output_field=FloatField()
        )
    if boost is not None:
        score = score + boost
    return queryset.annotate(search_rank=score)
