"""Rendered catalog documents in the shared cache, and their invalidation by every catalog write.

What is kept: the rendered JSON body (bytes) and its ETag of a book's detail
and of a books list page without ``search``, as anonymous callers and
customers see them (active books only). Staff representations and whole
search pages are never kept; a search page is made of its books' stored
details (``lookup_details``). ``catalog.api.caching`` serves and fills them. Small
values derived from the catalog that every search needs (staff's synonyms)
are kept the same way (``shared_value``).

Freshness rests on *generation tokens*, random strings in the same cache:

- ``all``: replaced after every catalog write; every list page depends on it;
- ``shared``: replaced after every catalog write except those confined to some
  books' own documents (stock, covers); every detail depends on it;
- ``book:<id>``: replaced after a write confined to that book (an order taking
  its stock, a cancellation returning it, goods-in, a stock-take, a cover).

A stored document carries the tokens read *before* the database was read for
it, and is served only while the current tokens are the same. Writers replace
the tokens in ``transaction.on_commit`` of their own transaction, so before a
write returns to its caller, every document read from the database before its
commit is unreachable on every server sharing the cache. A missing token
(never made, evicted, expired) is created as a new random value, so it never
matches a document stored under an older one.

Writers call ``catalog_changed()`` or ``books_changed(book_ids)``; several
calls inside one transaction (and one savepoint) are merged into one cache
write after the commit. ``post_save`` of the catalog models and changes of a
book's genres call them too (``catalog.apps``), so a save that bypasses the
services cannot leave a stale document either. If the cache cannot be reached
when a write commits, this process reads nothing from the cache until it has
delivered that invalidation, and every other document expires after
``CATALOG_CACHE_SECONDS`` at most.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from bookstore.cache import RedisScript, default_redis

logger = logging.getLogger(__name__)

_ALL = "catalog:v:all"
_SHARED = "catalog:v:shared"
_BOOK = "catalog:v:book:"
_DOC = "catalog:doc:"
_VALUE = "catalog:value:"
#: How long a per-book token is kept; a lost one only costs a miss (documents live CATALOG_CACHE_SECONDS).
_BOOK_TOKEN_SECONDS = 24 * 3600


class Document(NamedTuple):
    """A stored rendering: the tokens it was read under, its ETag and its JSON body."""

    tokens: tuple[str, ...]
    etag: str
    body: bytes


@dataclass
class Lookup:
    """What a read found: the document (or None) and the tokens a fill must store with it."""

    key: str
    token_keys: tuple[str, ...]
    tokens: tuple[str, ...]
    document: Document | None = None


def enabled() -> bool:
    return int(getattr(settings, "CATALOG_CACHE_SECONDS", 0)) > 0


def _new_token() -> str:
    return secrets.token_hex(8)


def etag_of(body: bytes) -> str:
    """A strong ETag for ``body``: the same bytes give the same tag on every server."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


# --- reading ------------------------------------------------------------------------------------


def _variant(request: Any) -> str:
    # Absolute URLs (cover thumbnails, next/previous pages) carry the scheme and host of the request.
    return f"{request.scheme}://{request.get_host()}"


def detail_key(request: Any, book_id: int) -> str:
    digest = hashlib.blake2b(_variant(request).encode(), digest_size=8).hexdigest()
    return f"{_DOC}book:{book_id}:{digest}"


def list_key(request: Any) -> str:
    raw = f"{_variant(request)}{request.path}?{request.META.get('QUERY_STRING', '')}"
    digest = hashlib.blake2b(raw.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
    return f"{_DOC}list:{digest}"


def _detail_entry(request: Any, book_id: int) -> tuple[str, tuple[str, ...]]:
    return detail_key(request, book_id), (_SHARED, f"{_BOOK}{book_id}")


def _read(entries: Sequence[tuple[str, tuple[str, ...]]]) -> list[Lookup] | None:
    """Each (document key, its token keys) found or missed, in one cache round trip; None: read nothing now."""
    if not enabled() or not _deliver_owed():
        return None
    token_names = dict.fromkeys(name for _key, names in entries for name in names)
    try:
        found = cache.get_many([*token_names, *(key for key, _names in entries)])
        tokens = {name: found.get(name) or _token_create(name) for name in token_names}
    except Exception:  # the cache is down: serve from the database
        logger.debug("catalog cache unavailable", exc_info=True)
        return None
    result = []
    for key, names in entries:
        lookup = Lookup(key=key, token_keys=names, tokens=tuple(tokens[name] for name in names))
        document = found.get(key)
        if isinstance(document, Document) and document.tokens == lookup.tokens:
            lookup.document = document
        result.append(lookup)
    return result


def lookup(request: Any, book_id: int | None) -> Lookup | None:
    """The stored document for this request (a detail when ``book_id``, else a list page), or a miss.

    None when nothing may be read from the cache now (disabled, unreachable,
    or an invalidation of this process not yet delivered): serve uncached.
    One cache round trip on a hit.
    """
    entry = (list_key(request), (_ALL,)) if book_id is None else _detail_entry(request, book_id)
    found = _read([entry])
    return None if found is None else found[0]


def lookup_details(request: Any, book_ids: Sequence[int]) -> dict[int, Lookup] | None:
    """The stored details of ``book_ids`` (the books of a search's page), each found or a miss, as ``lookup``."""
    found = _read([_detail_entry(request, book_id) for book_id in book_ids])
    return None if found is None else dict(zip(book_ids, found, strict=True))


T = TypeVar("T")


def shared_value(name: str, load: Callable[[], T]) -> T:
    """``load()``, kept in the cache while no catalog write (other than stock or covers) has committed since.

    For small values every request needs and staff rarely change (search synonyms): one cache round trip
    instead of a query. Stored under the ``shared`` token read *before* ``load`` runs, like a document, so
    a write committing meanwhile makes the stored value unreachable. ``load`` must read the primary
    database. Without the cache (disabled, unreachable, an invalidation still owed): ``load()`` each time.
    """
    if not enabled() or not _deliver_owed():
        return load()
    key = f"{_VALUE}{name}"
    try:
        found = cache.get_many([_SHARED, key])
        token = found.get(_SHARED) or _token_create(_SHARED)
    except Exception:
        logger.debug("catalog cache unavailable", exc_info=True)
        return load()
    stored = found.get(key)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == token:
        return stored[1]
    value = load()
    try:
        cache.set(key, (token, value), timeout=int(settings.CATALOG_CACHE_SECONDS))
    except Exception:
        logger.debug("catalog cache unavailable; value not stored", exc_info=True)
    return value


def _token_create(name: str) -> str:
    """Make a missing token; if another process made it first, theirs."""
    token = _new_token()
    timeout = _BOOK_TOKEN_SECONDS if name.startswith(_BOOK) else None
    if cache.add(name, token, timeout=timeout):
        return token
    return str(cache.get(name) or token)


def store(found: Lookup, body: bytes) -> Document:
    """Keep ``body`` as the document ``found`` missed, under the tokens read before the database was."""
    document = Document(tokens=found.tokens, etag=etag_of(body), body=body)
    try:
        cache.set(found.key, document, timeout=int(settings.CATALOG_CACHE_SECONDS))
    except Exception:
        logger.debug("catalog cache unavailable; document not stored", exc_info=True)
    return document


def store_many(misses: Sequence[tuple[Lookup, bytes]]) -> list[Document]:
    """``store`` for several misses (of ``lookup_details``) and their bodies, in one cache round trip."""
    documents = [Document(tokens=found.tokens, etag=etag_of(body), body=body) for found, body in misses]
    try:
        stored = {found.key: document for (found, _body), document in zip(misses, documents, strict=True)}
        cache.set_many(stored, timeout=int(settings.CATALOG_CACHE_SECONDS))
    except Exception:
        logger.debug("catalog cache unavailable; documents not stored", exc_info=True)
    return documents


# --- invalidation -------------------------------------------------------------------------------


@dataclass
class _Pending:
    """The invalidation one transaction (one savepoint of it) owes after its commit."""

    everything: bool = False
    book_ids: set[int] = field(default_factory=set)

    def __call__(self) -> None:
        _invalidate(everything=self.everything, book_ids=self.book_ids)


_owed: _Pending | None = None


def catalog_changed() -> None:
    """A write that may change any catalog document (a book's fields, credits, genres, series, editions...)."""
    _schedule(everything=True, book_ids=())


def books_changed(*, book_ids: Iterable[int]) -> None:
    """A write confined to these books' own documents (stock, preorder allowance, cover): and so to every list."""
    _schedule(everything=False, book_ids=book_ids)


def _schedule(*, everything: bool, book_ids: Iterable[int]) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _invalidate(everything=everything, book_ids=set(book_ids))
        return
    # One pending invalidation per transaction. A callback is dropped when a savepoint open at its registration
    # rolls back; every savepoint open now is one of those of an earlier entry or was opened after it, so
    # whatever drops that entry also rolls back this write. Merging can only invalidate more, never less.
    pending = next((func for _sids, func, _robust in connection.run_on_commit if isinstance(func, _Pending)), None)
    if pending is None:
        pending = _Pending()
        connection.on_commit(pending, robust=True)
    pending.everything = pending.everything or everything
    if not pending.everything:
        pending.book_ids.update(book_ids)
    if connection.atomic_blocks and connection.atomic_blocks[0]._from_testcase:
        # A test case's transaction never commits, and its own reads must see its writes.
        _invalidate(everything=everything, book_ids=set(book_ids))


def _invalidate(*, everything: bool, book_ids: set[int]) -> None:
    """Replace the tokens; on failure, owe it (this process reads no document until it is delivered)."""
    global _owed
    if not everything and not book_ids:
        return
    try:
        _tokens_replace(everything=everything, book_ids=book_ids)
    except Exception:
        logger.warning("catalog cache unreachable: cached catalog documents could not be invalidated", exc_info=True)
        owed = _owed or _Pending()
        owed.everything = owed.everything or everything
        owed.book_ids.update(book_ids)
        _owed = owed


# Sets every key to ARGV[1], with ARGV[2] seconds to live unless it is empty: one command.
_REPLACE_SCRIPT = RedisScript(
    """
for _, key in ipairs(KEYS) do
  if ARGV[2] == '' then
    redis.call('SET', key, ARGV[1])
  else
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
  end
end
return #KEYS
"""
)


def _tokens_replace(*, everything: bool, book_ids: set[int]) -> None:
    """One new token for the names a write outdates, in one round trip.

    With Redis as the cache, one script call writes the values ``cache.set_many`` would (the same keys and
    serialized values) without its transaction of one ``EXPIRE`` per key; other caches get ``set_many``.
    """
    token = _new_token()
    if everything:
        # Every document depends on ``all`` or ``shared``; per-book tokens can stay.
        names, timeout = [_ALL, _SHARED], None
    else:
        # ``all`` expiring with the book tokens only costs one miss of each list.
        names, timeout = [_ALL, *(f"{_BOOK}{book_id}" for book_id in book_ids)], _BOOK_TOKEN_SECONDS
    target = default_redis()
    if target is None:
        cache.set_many(dict.fromkeys(names, token), timeout=timeout)
        return
    client, backend = target
    serializer = backend._cache._serializer  # type: ignore[attr-defined]
    keys = [backend.make_key(name) for name in names]
    _REPLACE_SCRIPT(client, keys, [serializer.dumps(token), "" if timeout is None else timeout])


def _deliver_owed() -> bool:
    """Deliver an invalidation that failed earlier; False while it still cannot be."""
    global _owed
    owed = _owed
    if owed is None:
        return True
    try:
        _tokens_replace(everything=owed.everything, book_ids=owed.book_ids)
    except Exception:
        return False
    _owed = None
    return True


def receiver(sender: Any, **kwargs: Any) -> None:
    """``post_save`` / ``m2m_changed`` of a catalog model: whatever wrote it, documents may have changed."""
    if kwargs.get("action", "post_").startswith("post_"):
        catalog_changed()
