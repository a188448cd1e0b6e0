"""PostgreSQL array parameters built as one text literal.

Django's psycopg cursors bind parameters on the client, and psycopg dumps a
Python list element by element in Python; a bulk write passes lists of tens of
thousands of ids or names per statement, several times per batch. Built here
with one ``join`` and cast in SQL (``%s::bigint[]``), the same list costs a
small fraction of that.
"""

from __future__ import annotations

from collections.abc import Iterable


def bigint_array(values: Iterable[int]) -> str:
    """``[3, 1]`` → ``"{3,1}"``, for a ``%s::bigint[]`` parameter."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def text_array(values: Iterable[str]) -> str:
    """``['a "b"', 'c']`` → ``'{"a \\"b\\"","c"}'``, for a ``%s::text[]`` parameter (every element quoted)."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"
