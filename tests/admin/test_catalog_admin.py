"""Books, authors and genres in the admin: bounded queries, editable list, actions through the catalog services."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext

from catalog import selectors, services
from catalog.admin import forms as admin_forms
from catalog.exceptions import PriceChangeInvalid
from catalog.importing import COLUMNS, BookRow, read_books
from catalog.models import Book
from catalog.search import book_search
from orders.services import OrderLine, order_place
from tests.factories import AuthorFactory, BookFactory, GenreFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/book/"
ADD = "/admin/catalog/book/add/"


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _books(n: int, **kwargs: Any) -> list[Book]:
    genres = [GenreFactory(), GenreFactory()]
    return [BookFactory(authors=[AuthorFactory(), AuthorFactory()], genres=genres, **kwargs) for _ in range(n)]


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the list ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?q=number", "?stock_level=low", "?is_active__exact=1&o=4", "?language=en"])
def test_book_changelist_runs_the_same_queries_for_5_and_50_books(admin_client: Client, query: str) -> None:
    _books(5, stock=2)
    admin_client.get(CHANGELIST)  # warm the content-type cache
    with_5 = _queries(admin_client, CHANGELIST + query)
    _books(45, stock=2)

    assert _queries(admin_client, CHANGELIST + query) == with_5


def test_book_changelist_lists_authors_in_cover_order_and_never_renders_a_select_of_authors(
    admin_client: Client,
) -> None:
    BookFactory(title="Good Omens", authors=[AuthorFactory(name="Terry Pratchett"), AuthorFactory(name="Neil Gaiman")])

    page = admin_client.get(CHANGELIST).content.decode()

    assert "Terry Pratchett, Neil Gaiman" in page
    assert "<select" not in page.split('id="result_list"', 1)[1].split("</table>", 1)[0]


def test_admin_search_uses_the_catalog_search(admin_client: Client) -> None:
    ranked = BookFactory(title="Running with scissors")
    BookFactory(title="Unrelated", description="Nothing about running here")
    isbn_hit = BookFactory(isbn="9780441013593", title="Dune")

    page = admin_client.get(CHANGELIST, {"q": "run"}).content.decode()
    by_isbn = admin_client.get(CHANGELIST, {"q": "0-441-01359-7"}).content.decode()

    assert page.index("Running with scissors") < page.index("Unrelated")
    assert f"/admin/catalog/book/{ranked.pk}/change/" in page
    assert f"/admin/catalog/book/{isbn_hit.pk}/change/" in by_isbn


def test_stock_filter_matches_the_dashboard_threshold(admin_client: Client, settings: Any) -> None:
    settings.LOW_STOCK_THRESHOLD = 2
    low, _plenty, out = BookFactory(stock=2), BookFactory(stock=3), BookFactory(stock=0)

    page = admin_client.get(CHANGELIST, {"stock_level": "low"}).content.decode()
    sold_out = admin_client.get(CHANGELIST, {"stock_level": "out"}).content.decode()

    assert f"/{low.pk}/change/" in page
    assert f"/{out.pk}/change/" in page
    assert page.count('class="action-select"') == 2
    assert sold_out.count('class="action-select"') == 1


def test_language_filter_offers_only_languages_the_catalog_has(admin_client: Client) -> None:
    BookFactory(language="fr")
    BookFactory(language="en")
    BookFactory(language="fr", is_active=False)

    page = admin_client.get(CHANGELIST).content.decode()
    french = admin_client.get(CHANGELIST, {"language": "fr"}).content.decode()

    assert selectors.book_languages_in_use() == ["en", "fr"]
    assert 'href="?language=fr"' in page
    assert "French" in page
    assert "Afar" not in page
    assert french.count('class="action-select"') == 2


# --- editing price and stock in the list ------------------------------------------------


def _list_post(client: Client, rows: list[dict[str, Any]], **query: str) -> Any:
    data: dict[str, Any] = {
        "form-TOTAL_FORMS": len(rows),
        "form-INITIAL_FORMS": len(rows),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for i, row in enumerate(rows):
        data[f"form-{i}-id"] = row["book"].pk
        for name in ("price", "stock"):
            data[f"form-{i}-{name}"] = row.get(name, row["shown"][name])
            data[f"initial-form-{i}-{name}"] = row["shown"][name]
    return client.post(CHANGELIST + "?" + "&".join(f"{k}={v}" for k, v in query.items()), data)


def _shown(book: Book) -> dict[str, Any]:
    return {"price": str(book.price), "stock": book.stock}


@pytest.mark.parametrize(
    ("fast", "standard"),
    [(admin_forms._NumberInput, forms.NumberInput), (admin_forms._HiddenInput, forms.HiddenInput)],
)
@pytest.mark.parametrize("value", [Decimal("12.50"), None, '"><script>'])
def test_list_inputs_render_the_same_html_as_django_widgets(fast: Any, standard: Any, value: Any) -> None:
    attrs = {"id": "id_form-0-price", "min": "0", "step": "0.01", "class": "vIntegerField"}

    assert parse_html(fast().render("form-0-price", value, attrs)) == parse_html(
        standard().render("form-0-price", value, attrs)
    )


def test_list_edits_price_and_stock_through_book_update(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real = services.book_update

    def spy(**kwargs: Any) -> Book:
        calls.append({k: v for k, v in kwargs.items() if k not in ("book", "by")})
        return real(**kwargs)

    monkeypatch.setattr(services, "book_update", spy)
    a, b = BookFactory(price=Decimal("10.00"), stock=5), BookFactory(price=Decimal("7.00"), stock=1)

    response = _list_post(
        admin_client,
        [{"book": a, "shown": _shown(a), "price": "12.50"}, {"book": b, "shown": _shown(b), "stock": "9"}],
    )

    assert response.status_code == 302
    assert calls == [{"price": Decimal("12.50")}, {"stock": 9}]
    assert Book.objects.values_list("price", "stock").get(pk=a.pk) == (Decimal("12.50"), 5)
    assert Book.objects.values_list("price", "stock").get(pk=b.pk) == (Decimal("7.00"), 9)


@pytest.mark.parametrize(("field", "value"), [("stock", "-1"), ("price", "-0.01"), ("stock", "many")])
def test_list_refuses_bad_values_as_form_errors(admin_client: Client, field: str, value: str) -> None:
    book = BookFactory(price=Decimal("10.00"), stock=5)

    response = _list_post(admin_client, [{"book": book, "shown": _shown(book), field: value}])

    assert response.status_code == 200
    assert "Please correct the error below." in response.content.decode()
    assert Book.objects.values_list("price", "stock").get(pk=book.pk) == (Decimal("10.00"), 5)


def test_list_does_not_overwrite_stock_an_order_took_meanwhile(admin_client: Client) -> None:
    book = BookFactory(price=Decimal("10.00"), stock=5)
    shown = _shown(book)
    order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=2)])

    # The row still shows stock 5; only the price was edited: the stock is left as the order made it.
    _list_post(admin_client, [{"book": book, "shown": shown, "price": "11.00"}])

    assert Book.objects.values_list("price", "stock").get(pk=book.pk) == (Decimal("11.00"), 3)


def test_list_refuses_a_stock_edit_made_on_a_stale_value(admin_client: Client) -> None:
    book = BookFactory(stock=5)
    shown = _shown(book)
    order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=2)])

    response = _list_post(admin_client, [{"book": book, "shown": shown, "stock": "8"}])

    assert response.status_code == 200
    assert "Changed to 3 since this page was loaded" in response.content.decode()
    assert Book.objects.get(pk=book.pk).stock == 3


# --- the book form ------------------------------------------------------------------------


def _book_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "isbn": "978-0-441-01359-3",
        "title": "Dune",
        "subtitle": "",
        "description": "",
        "publisher": "Ace",
        "published_date": "",
        "language": "en",
        "page_count": "",
        "price": "9.99",
        "stock": "3",
        "is_active": "on",
        "format": "paperback",
        "publication_status": "active",
        "preorder_allowance": "0",
        "author_links-TOTAL_FORMS": "0",
        "author_links-INITIAL_FORMS": "0",
        "author_links-MIN_NUM_FORMS": "1",
        "author_links-MAX_NUM_FORMS": "1000",
    }
    authors = overrides.pop("authors", [])
    for i, author in enumerate(authors):
        data[f"author_links-{i}-author"] = author.pk
        data[f"author_links-{i}-position"] = i
        data[f"author_links-{i}-role"] = "author"
    data["author_links-TOTAL_FORMS"] = str(len(authors))
    data.update(overrides)
    return data


def test_adding_a_book_with_two_authors_goes_through_book_create_and_is_searchable(admin_client: Client) -> None:
    herbert, anderson = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Kevin J. Anderson")
    genre = GenreFactory(name="Science fiction", slug="science-fiction")

    response = admin_client.post(ADD, _book_form(authors=[herbert, anderson], genres=[genre.pk]))

    assert response.status_code == 302, list(response.context["errors"]) if response.context else ""
    book = Book.objects.get(isbn="9780441013593")
    assert [link.author.name for link in book.author_links.order_by("position")] == [
        "Frank Herbert",
        "Kevin J. Anderson",
    ]
    assert list(book.genres.all()) == [genre]
    assert list(book_search(Book.objects.all(), "anderson")) == [book]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"isbn": "978-0-441-01359-4"}, "check digit"),
        ({"stock": "-2"}, "Ensure this value is greater than or equal to 0."),
        ({"price": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"title": ""}, "This field is required."),
    ],
)
def test_bad_book_values_are_form_errors_not_server_errors(
    admin_client: Client, overrides: dict[str, str], message: str
) -> None:
    response = admin_client.post(ADD, _book_form(authors=[AuthorFactory()], **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Book.objects.exists()


def test_a_duplicate_isbn_in_another_spelling_is_a_form_error(admin_client: Client) -> None:
    BookFactory(isbn="9780441013593")

    response = admin_client.post(ADD, _book_form(isbn="0441013597", authors=[AuthorFactory()]))

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Book.objects.count() == 1


def test_a_book_needs_an_author(admin_client: Client) -> None:
    response = admin_client.post(ADD, _book_form(authors=[]))

    assert response.status_code == 200
    assert not Book.objects.exists()


def test_book_form_offers_autocomplete_for_genres_and_authors_not_big_selects(admin_client: Client) -> None:
    GenreFactory.create_batch(3)
    AuthorFactory.create_batch(3)

    page = admin_client.get(ADD).content.decode()

    assert 'data-ajax--url="/admin/autocomplete/"' in page
    assert 'name="genres"' in page
    assert page.count("admin-autocomplete") >= 2
    assert 'id="id_genres_from"' not in page  # no filter_horizontal list of every genre


@pytest.mark.parametrize(
    ("model_name", "field_name", "make", "term"),
    [
        ("bookauthor", "author", lambda: AuthorFactory(name="Ursula K. Le Guin"), "guin"),
        ("book", "genres", lambda: GenreFactory(name="Science fiction", slug="science-fiction"), "scien"),
    ],
)
def test_autocomplete_finds_authors_and_genres(
    admin_client: Client, model_name: str, field_name: str, make: Callable[[], Any], term: str
) -> None:
    target = make()

    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": model_name, "field_name": field_name, "term": term},
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(target.pk)]


# --- actions ----------------------------------------------------------------------------


def _action(client: Client, action: str, books: list[Book], **extra: Any) -> Any:
    return client.post(CHANGELIST, {"action": action, "_selected_action": [b.pk for b in books], **extra}, follow=True)


def test_deactivate_and_activate_go_through_the_service_and_the_api_follows(
    admin_client: Client, api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []
    real = services.books_set_active

    def spy(**kwargs: Any) -> int:
        calls.append(kwargs["is_active"])
        return real(**kwargs)

    monkeypatch.setattr(services, "books_set_active", spy)
    hidden, shown = BookFactory(), BookFactory()

    response = _action(admin_client, "deactivate", [hidden])
    api_ids = [b["id"] for b in api_client.get("/api/v1/books").json()["results"]]

    assert _messages(response) == ["Deactivated 1 book(s)."]
    assert api_ids == [shown.pk]
    assert api_client.get(f"/api/v1/books/{hidden.pk}").status_code == 404

    response = _action(admin_client, "activate", [hidden, shown])

    assert _messages(response) == ["Activated 1 book(s)."]
    assert calls == [False, True]
    assert Book.objects.filter(is_active=True).count() == 2


def test_change_price_asks_for_confirmation_first(admin_client: Client) -> None:
    book = BookFactory(title="Confirm me", price=Decimal("10.00"))

    response = _action(admin_client, "change_price", [book])

    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirm me" in page
    assert 'id="price-change-count">1<' in page
    assert 'name="percent"' in page
    assert Book.objects.get(pk=book.pk).price == Decimal("10.00")


def test_change_price_applies_the_percentage_rounding_half_up(admin_client: Client) -> None:
    a, b, untouched = BookFactory(price=Decimal("9.99")), BookFactory(price=Decimal("0.05")), BookFactory()

    response = _action(admin_client, "change_price", [a, b], percent="10", apply="1")

    assert _messages(response) == ["Changed the price of 2 book(s) by 10 %."]
    assert Book.objects.get(pk=a.pk).price == Decimal("10.99")  # 10.989
    assert Book.objects.get(pk=b.pk).price == Decimal("0.06")  # 0.055, half-up
    assert Book.objects.get(pk=untouched.pk).price == Decimal("10.00")


def test_change_price_across_every_filtered_book(admin_client: Client) -> None:
    cheap = [BookFactory(price=Decimal("10.00"), stock=0) for _ in range(3)]
    stocked = BookFactory(price=Decimal("10.00"), stock=5)

    admin_client.post(
        CHANGELIST + "?stock_level=out",
        {
            "action": "change_price",
            "_selected_action": [cheap[0].pk],
            "select_across": "1",
            "percent": "-25",
            "apply": "1",
        },
    )

    assert {Book.objects.get(pk=b.pk).price for b in cheap} == {Decimal("7.50")}
    assert Book.objects.get(pk=stocked.pk).price == Decimal("10.00")


@pytest.mark.parametrize("percent", ["0", "-100", "1000.01", "ten"])
def test_change_price_refuses_bad_percentages_on_the_confirmation_page(admin_client: Client, percent: str) -> None:
    book = BookFactory(price=Decimal("10.00"))

    response = _action(admin_client, "change_price", [book], percent=percent, apply="1")

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert Book.objects.get(pk=book.pk).price == Decimal("10.00")


def test_export_csv_is_the_export_books_format_and_reimports(admin_client: Client) -> None:
    genre = GenreFactory(slug="science-fiction")
    dune = BookFactory(
        isbn="9780441013593",
        title="Dune",
        price=Decimal("9.99"),
        stock=4,
        authors=[AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Brian Herbert")],
        genres=[genre],
    )
    other, _not_selected = BookFactory(), BookFactory()

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [other.pk, dune.pk]})
    body = b"".join(response.streaming_content)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="books-')
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == [dune.isbn, other.isbn]
    parsed = list(read_books(body.splitlines(keepends=True), fmt="csv"))
    assert all(isinstance(row, BookRow) for row in parsed)
    first = parsed[0]
    assert isinstance(first, BookRow)
    assert (first.isbn, first.title, first.authors, first.genres, first.price, first.stock) == (
        "9780441013593",
        "Dune",
        ("Frank Herbert", "Brian Herbert"),
        ("science-fiction",),
        Decimal("9.99"),
        4,
    )


def test_catalog_managers_edit_and_run_actions_order_managers_cannot(staff_client_for: Callable[..., Client]) -> None:
    book = BookFactory(price=Decimal("10.00"))
    catalog_manager, order_manager = staff_client_for("Catalog managers"), staff_client_for("Order managers")

    refused = order_manager.post(
        CHANGELIST, {"action": "change_price", "_selected_action": [book.pk], "percent": "50", "apply": "1"}
    )
    catalog_manager.post(
        CHANGELIST, {"action": "change_price", "_selected_action": [book.pk], "percent": "50", "apply": "1"}
    )

    assert refused.status_code == 403
    assert Book.objects.get(pk=book.pk).price == Decimal("15.00")


# --- the bulk services -----------------------------------------------------------------


@pytest.mark.parametrize("percent", ["0", "-100", "-150", "1000.01"])
def test_books_price_change_refuses_percentages_out_of_range(percent: str) -> None:
    BookFactory()

    with pytest.raises(PriceChangeInvalid):
        services.books_price_change(books=Book.objects.all(), percent=Decimal(percent))


def test_books_price_change_refuses_prices_beyond_the_column_and_changes_nothing() -> None:
    small, huge = BookFactory(price=Decimal("1.00")), BookFactory(price=Decimal("99999999.00"))

    with pytest.raises(PriceChangeInvalid):
        services.books_price_change(books=Book.objects.all(), percent=Decimal("50"))

    assert Book.objects.get(pk=small.pk).price == Decimal("1.00")
    assert Book.objects.get(pk=huge.pk).price == Decimal("99999999.00")


def test_books_set_active_counts_only_books_that_changed() -> None:
    BookFactory(is_active=False)
    BookFactory.create_batch(2)

    assert services.books_set_active(books=Book.objects.all(), is_active=True) == 1
    assert services.books_set_active(books=Book.objects.all(), is_active=True) == 0


def test_books_set_active_and_price_change_work_on_search_results() -> None:
    hit, miss = BookFactory(title="Silent river", price=Decimal("10.00")), BookFactory(title="Loud sea")

    services.books_set_active(books=book_search(Book.objects.all(), "river"), is_active=False)
    services.books_price_change(books=book_search(Book.objects.all(), "river"), percent=Decimal("10"))

    assert Book.objects.values_list("is_active", "price").get(pk=hit.pk) == (False, Decimal("11.00"))
    assert Book.objects.get(pk=miss.pk).is_active


# --- authors and genres ------------------------------------------------------------------


def test_author_changelist_runs_the_same_queries_for_5_and_50_authors(admin_client: Client) -> None:
    for _ in range(5):
        BookFactory(authors=[AuthorFactory()])
    admin_client.get("/admin/catalog/author/")
    with_5 = _queries(admin_client, "/admin/catalog/author/")
    for _ in range(45):
        BookFactory(authors=[AuthorFactory()])

    assert _queries(admin_client, "/admin/catalog/author/") == with_5
