"""HTTP caching of catalog reads, and book documents served from the shared cache.

API.md ("General additions"): catalog ``GET``s send ``ETag`` and, to
anonymous callers, ``Cache-Control: public, max-age=CATALOG_MAX_AGE``; a
matching ``If-None-Match`` is answered ``304`` without a body. Responses to
authenticated callers keep ``Cache-Control: no-store``
(``NoStoreForAuthenticatedMiddleware``). Every such response carries
``Vary: Authorization``, so a shared cache never hands the public answer to a
signed-in caller.

Book details and list pages without ``search`` come from ``catalog.readcache``
for anyone who sees the public catalog (anonymous callers and customers):

- a request without an ``Authorization`` header is answered straight from the
  stored document, before DRF runs at all (``cached_books_view``);
- otherwise the view authenticates, and a caller who does not see inactive
  books reads the same documents (``BookCacheMixin``);
- a miss runs the view with every catalog read on the primary database (a
  lagging replica must not fill the cache), renders it and stores it.

A search page for the same callers is made of the stored details of its books
(``book_documents``): the search runs per request and gives the page's ids.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from bookstore.limits import MAX_ID
from bookstore.renderers import JSONRenderer, json_bytes
from bookstore.replicas import current_state
from catalog import readcache

#: Set on a request whose cache lookup already missed before DRF ran: the view fills that lookup.
_LOOKUP_ATTRIBUTE = "_catalog_lookup"


def http_caching(request: HttpRequest, response: HttpResponseBase, etag: str, *, public: bool) -> HttpResponseBase:
    """``ETag``, ``Vary`` and (``public``) ``Cache-Control`` on a 200; ``304`` if ``If-None-Match`` matches."""
    response["ETag"] = etag
    if public:
        response["Cache-Control"] = f"public, max-age={settings.CATALOG_MAX_AGE}"
    patch_vary_headers(response, ["Authorization"])
    return get_conditional_response(request, etag=etag, response=cast(HttpResponse, response)) or response


class CatalogHttpCachingMixin:
    """``ETag`` / ``304`` / ``Cache-Control`` on a catalog viewset's successful ``GET`` and ``HEAD``; orjson bodies."""

    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.streaming:
            return response
        etag = response.get("ETag")
        if etag is None:
            if hasattr(response, "render"):
                response.render()
            etag = readcache.etag_of(response.content)
        public = not request.user.is_authenticated
        return cast(Response, http_caching(request._request, response, etag, public=public))


# --- book documents -------------------------------------------------------------------------------


def _book_id(raw: Any) -> int | None:
    """The book id of a detail URL, or None when it is no plain id (the view answers that)."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


@functools.cache
def _list_parameters() -> frozenset[str]:
    from catalog.api.filters import BookFilter

    return frozenset(BookFilter.base_filters) - {"search"} | {"page", "page_size"}


def list_cacheable(request: HttpRequest) -> bool:
    """A books list without ``search`` whose parameters are all the list's own (any other is never stored)."""
    return _list_parameters().issuperset(request.GET.keys())


def _lookup_target(request: HttpRequest, action: str, kwargs: Mapping[str, Any]) -> tuple[bool, int | None]:
    """(cacheable, book id) of a books read."""
    if action == "retrieve":
        book_id = _book_id(kwargs.get("pk"))
        return book_id is not None, book_id
    return list_cacheable(request), None


def document_response(document: readcache.Document) -> HttpResponse:
    return HttpResponse(document.body, content_type="application/json", headers={"ETag": document.etag})


def cached_books_view(view: Callable[..., HttpResponseBase], actions: Mapping[str, str]) -> Callable[..., Any]:
    """Wrap the books list or detail view: anonymous ``GET``s are answered from stored documents before DRF."""
    action = actions.get("get")
    if action not in ("list", "retrieve"):
        return view
    methods = {*actions, "head", "options"}
    allow = ", ".join(name.upper() for name in view.cls.http_method_names if name in methods)  # type: ignore[attr-defined]

    @functools.wraps(view)
    def serve(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "GET" and "HTTP_AUTHORIZATION" not in request.META:
            cacheable, book_id = _lookup_target(request, action, kwargs)
            if cacheable:
                found = readcache.lookup(request, book_id)
                if found is not None and found.document is not None:
                    response = document_response(found.document)
                    response["Allow"] = allow
                    return http_caching(request, response, found.document.etag, public=True)
                setattr(request, _LOOKUP_ATTRIBUTE, found)  # a miss (or no cache): the view need not look again
        return view(request, *args, **kwargs)

    return serve


def _fill_from_primary() -> None:
    """The rest of this request reads the primary: a replica may not have the last write a document must show."""
    state = current_state()
    if state is not None:
        state.pinned = True


def book_documents(
    request: HttpRequest, book_ids: Sequence[int], render: Callable[[Sequence[int]], Mapping[int, bytes]]
) -> list[bytes]:
    """The detail documents of ``book_ids`` (a search's page), in that order, as a list page's items.

    Stored ones come from the cache in one round trip; ``render(ids)`` renders the others from the primary
    database (its ``id → body``; a book it no longer finds is left out) and they are stored for the next
    page or detail that shows them. Without the cache, ``render`` renders them all.
    """
    found = readcache.lookup_details(request, book_ids)
    if found is None:
        rendered = render(book_ids)
        return [rendered[book_id] for book_id in book_ids if book_id in rendered]
    missing = [book_id for book_id in book_ids if found[book_id].document is None]
    if missing:
        _fill_from_primary()
        rendered = render(missing)
        misses = [(found[book_id], rendered[book_id]) for book_id in missing if book_id in rendered]
        for (lookup, _body), document in zip(misses, readcache.store_many(misses), strict=True):
            lookup.document = document
    documents = (found[book_id].document for book_id in book_ids)
    return [document.body for document in documents if document is not None]


class BookCacheMixin:
    """The books viewset's ``list`` and ``retrieve`` through the stored documents, for the public catalog."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return self._through_cache(request, kwargs, lambda: super(BookCacheMixin, self).list(request, *args, **kwargs))  # type: ignore[misc]

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return self._through_cache(
            request,
            kwargs,
            lambda: super(BookCacheMixin, self).retrieve(request, *args, **kwargs),  # type: ignore[misc]
        )

    def _public(self) -> bool:
        raise NotImplementedError

    def _through_cache(self, request: Request, kwargs: Mapping[str, Any], read: Callable[[], Response]) -> Response:
        """The stored document (a plain ``HttpResponse``, typed as DRF's: ``finalize_response`` takes either)."""
        django_request = request._request
        action = "retrieve" if "pk" in kwargs else "list"
        cacheable, book_id = _lookup_target(django_request, action, kwargs)
        if not cacheable or not self._public():
            return read()
        if hasattr(django_request, _LOOKUP_ATTRIBUTE):
            found = getattr(django_request, _LOOKUP_ATTRIBUTE)
        else:
            found = readcache.lookup(django_request, book_id)
        if found is None:
            return read()
        if found.document is not None:
            return cast(Response, document_response(found.document))
        _fill_from_primary()
        response = read()
        if response.status_code != 200:
            return response
        return cast(Response, document_response(readcache.store(found, json_bytes(response.data))))
