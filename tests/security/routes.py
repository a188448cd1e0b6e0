"""The API's operations as Django's URL resolver sees them, independent of the OpenAPI schema."""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# Documentation of the API, not part of it.
DOC_PATHS = {"/api/schema/", "/api/docs/"}
_METHODS = ("get", "post", "put", "patch", "delete")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _to_template(regex_or_route: str) -> str:
    text = _GROUP.sub(lambda m: "{" + m.group(1) + "}", regex_or_route)
    text = _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", text)
    return text.replace("^", "").replace("$", "").replace("\\.", ".").replace("\\", "")


def _walk(patterns: list[Any], prefix: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in patterns:
        piece = _to_template(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + piece)
        elif isinstance(pattern, URLPattern):
            found.append((prefix + piece, pattern.callback))
    return found


def _methods(callback: Any) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: {"get": "list", "post": "create"}
        return {method.upper() for method in actions if method in _METHODS}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return {"GET"}
    return {method.upper() for method in _METHODS if hasattr(view_class, method)}


def _anonymous_params(path: str) -> str:
    # The schema calls a viewset's ``pk`` "id"; only the shape of the path matters here.
    return re.sub(r"\{\w+\}", "{}", path)


def api_operations() -> set[tuple[str, str]]:
    """Every (METHOD, /path/{}) the URL configuration serves under /api/, docs excluded."""
    operations = set()
    for path, callback in _walk(get_resolver().url_patterns, "/"):
        if not path.startswith("/api/") or path in DOC_PATHS:
            continue
        operations |= {(method, _anonymous_params(path)) for method in _methods(callback)}
    return operations


def schema_operations(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (METHOD, /path/{}) of an OpenAPI document."""
    return {
        (method.upper(), _anonymous_params(path))
        for path, item in schema["paths"].items()
        for method in item
        if method in _METHODS
    }
