"""factory-boy factories for every model; tests build their data with these."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from catalog.isbn import isbn13_check_digit
from catalog.models import Author, Book, BookAuthor, Genre, Series, StockMovement, Work
from catalog.search import search_index_update

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AuthorFactory(DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Faker("name")
    bio = factory.Faker("sentence")


class GenreFactory(DjangoModelFactory):
    class Meta:
        model = Genre
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.Sequence(lambda n: f"genre-{n}")


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    return body + isbn13_check_digit(body)


class WorkFactory(DjangoModelFactory):
    class Meta:
        model = Work

    title = factory.Sequence(lambda n: f"Work number {n}")


class SeriesFactory(DjangoModelFactory):
    class Meta:
        model = Series

    name = factory.Sequence(lambda n: f"Series number {n}")


class BookFactory(DjangoModelFactory):
    """A book with one author and a work of its own.

    ``authors=[...]`` or ``contributors=[(author, role), ...]`` set the credits, ``work=`` shares a work.
    """

    class Meta:
        model = Book
        skip_postgeneration_save = True

    isbn = factory.Sequence(lambda n: _isbn13(100000 + n))
    title = factory.Sequence(lambda n: f"Book number {n}")
    # Fixed, not random text: a random paragraph could hold a word a search test looks for (Faker's words
    # include "church", "book", "night"), and the test would then fail now and then.
    description = ""
    publisher = "Test Press"
    language = "en"
    price = Decimal("10.00")
    stock = 10
    is_active = True
    work = factory.SubFactory(WorkFactory, title=factory.SelfAttribute("..title"))

    @factory.post_generation
    def contributors(obj, create, extracted, **kwargs):
        """``contributors=[(author, role), ...]`` replaces the default author with these credits, in order."""
        if not create or extracted is None:
            return
        obj._credited = True  # the authors hook (next) adds no default author
        BookAuthor.objects.bulk_create(
            [BookAuthor(book=obj, author=author, role=role, position=i) for i, (author, role) in enumerate(extracted)]
        )

    @factory.post_generation
    def authors(obj, create, extracted, **kwargs):
        if not create or getattr(obj, "_credited", False):
            return
        authors = extracted if extracted is not None else [AuthorFactory()]
        BookAuthor.objects.bulk_create(
            [BookAuthor(book=obj, author=author, position=i) for i, author in enumerate(authors)]
        )

    @factory.post_generation
    def genres(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.genres.set(extracted)

    @factory.post_generation
    def opening_stock(obj, create, extracted, **kwargs):
        """The book's stock as its ledger's opening movement, as ``book_create`` records it."""
        if create and obj.stock:
            StockMovement.objects.create(book=obj, kind="opening", delta=obj.stock, stock_after=obj.stock)

    @factory.post_generation
    def search_index(obj, create, extracted, **kwargs):
        """Index the book, as catalog.services do (``search_index=False`` skips it)."""
        if create and extracted is not False:
            search_index_update(book_ids=[obj.pk])


# --- Orders -------------------------------------------------------------------
# Models by label, so this section needs no imports of its own. Orders built
# here skip the placement rules (no stock taken); tests of those rules go
# through orders.services or the API.


class CouponFactory(DjangoModelFactory):
    class Meta:
        model = "orders.Coupon"

    code = factory.Sequence(lambda n: f"COUPON{n}")
    kind = "percent"
    value = Decimal("10.00")
    is_active = True


class BulkDiscountTierFactory(DjangoModelFactory):
    class Meta:
        model = "orders.BulkDiscountTier"
        django_get_or_create = ("min_quantity",)

    min_quantity = factory.Sequence(lambda n: 100 + n)
    percent = Decimal("15.00")


class ShippingMethodFactory(DjangoModelFactory):
    class Meta:
        model = "orders.ShippingMethod"

    name = factory.Sequence(lambda n: f"Courier {n}")
    countries = ["DE"]
    price = Decimal("4.95")
    free_over = None
    estimated_days = 2
    is_active = True


class OrderFactory(DjangoModelFactory):
    """A pending order with no lines; add lines with OrderItemFactory(order=...)."""

    class Meta:
        model = "orders.Order"

    number = factory.Sequence(lambda n: f"BK-TEST-{n:06d}")
    user = factory.SubFactory(UserFactory)
    status = "pending"
    subtotal = Decimal("0.00")
    discount_total = Decimal("0.00")
    total = Decimal("0.00")
    discounts = factory.LazyFunction(list)


class OrderItemFactory(DjangoModelFactory):
    class Meta:
        model = "orders.OrderItem"

    order = factory.SubFactory(OrderFactory)
    book = factory.SubFactory(BookFactory)
    isbn = factory.SelfAttribute("book.isbn")
    title = factory.SelfAttribute("book.title")
    unit_price = factory.SelfAttribute("book.price")
    quantity = 1
    line_total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


class StatusChangeFactory(DjangoModelFactory):
    class Meta:
        model = "orders.StatusChange"

    order = factory.SubFactory(OrderFactory)
    from_status = ""
    to_status = "pending"
    by = factory.SelfAttribute("order.user")
