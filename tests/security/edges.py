"""Query values at the edges where servers fail: the ends of the calendar and signed orderings.

API.md: "No query value makes the server fail: dates at the ends of the
calendar, ``ordering=--field`` and the like are 400s." Shared by the contract
fuzzing (which mixes these values into its examples) and the sweep over every
list in ``test_query_values.py``. Both read the parameters from the OpenAPI
schema, so a new list or parameter is covered without being named here.
"""

from __future__ import annotations

import re
from typing import Any

#: Dates and timestamps at the ends of the calendar, with and without offsets: adding a
#: day to the last date, or converting one of these instants to UTC, leaves the calendar.
CALENDAR_ENDS = (
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59+14:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T00:00:00-14:00",
)

#: Orderings with repeated or foreign signs, for each field ``{0}`` an ordering parameter allows.
SIGNED_ORDERINGS = ("--{0}", "---{0}", "+{0}", "+-{0}", "-+{0}", "{0},--{0}")

_DATE_NAME = re.compile(r"(_after|_before|_at|_date|_since|_until)$")


def takes_dates(parameter: dict[str, Any]) -> bool:
    """A query parameter that takes a date or a timestamp, by its schema format or its name."""
    schema = parameter.get("schema", {})
    return schema.get("format") in {"date", "date-time"} or bool(_DATE_NAME.search(parameter["name"]))


def _component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def ordering_fields(document: dict[str, Any], operation: dict[str, Any], parameter: dict[str, Any]) -> list[str]:
    """The fields an ordering parameter's enum names or, if it has none, those of the listed objects."""
    schema = parameter.get("schema", {})
    choices = schema.get("items", schema).get("enum")
    if choices:
        return sorted({choice.removeprefix("-") for choice in choices})
    content = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = _component(document, content)
    listed = _component(document, page["properties"]["results"]["items"])
    return sorted(listed["properties"])


def edge_values(document: dict[str, Any], operation: dict[str, Any]) -> list[tuple[str, str]]:
    """(query parameter, value) pairs at the edges, for the operation's own parameters."""
    edges: list[tuple[str, str]] = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        if takes_dates(parameter):
            edges += [(parameter["name"], value) for value in CALENDAR_ENDS]
        elif parameter["name"] == "ordering":
            fields = ordering_fields(document, operation, parameter)
            edges += [(parameter["name"], pattern.format(field)) for field in fields for pattern in SIGNED_ORDERINGS]
    return edges
