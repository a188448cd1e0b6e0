"""Every route of the site is reachable: no earlier pattern shadows a later one.

The URLconf lists the API first and, within it, the catalog's routes before the others' (Django tries them in
order on every request), so a pattern that matches too much would hide the routes after it.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse


def _named_routes(resolver: URLResolver, namespace: str | None = None) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace if entry.namespace else namespace
            yield from _named_routes(entry, f"{namespace}:{inner}" if namespace and entry.namespace else inner)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def _sample_kwargs(pattern: URLPattern) -> dict[str, str]:
    converters = getattr(pattern.pattern, "converters", {})
    return {
        name: "x" if name in converters and converters[name].regex == "[^/]+" else "1"
        for name in pattern.pattern.regex.groupindex
    }


def test_every_named_route_resolves_to_itself():
    routes = dict(_named_routes(get_resolver()))
    assert "book-detail" in routes
    assert "book-facets" in routes
    checked = 0
    for name, pattern in routes.items():
        if name.startswith("admin:"):
            continue  # the admin's own URLconf, after the API
        path = reverse(name, kwargs=_sample_kwargs(pattern))
        assert resolve(path).view_name == name, path
        checked += 1
    assert checked >= 40


def test_the_api_comes_first_and_the_catalog_first_within_it():
    api = get_resolver().url_patterns[0]
    assert isinstance(api, URLResolver)
    assert str(api.pattern) == "api/v1/"
    api_routes = [name for name, _pattern in _named_routes(api)]
    assert api_routes.index("book-detail") < api_routes.index("order-list") < api_routes.index("api-key-list")
