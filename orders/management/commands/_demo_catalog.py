"""The catalog half of the demo store: authors, genres and books, drawn in memory, then written in bulk."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from faker import Faker

from catalog.bulk import books_upsert_batches
from catalog.fields import BOOK_COLUMN_FIELDS
from catalog.importing import OPTIONAL_COLUMNS, BookRow
from catalog.isbn import isbn13_check_digit
from catalog.models import Author, Genre
from orders.management.commands._demo_titles import TitleMaker, without_countries
from orders.management.commands._demo_vocabulary import ADJECTIVES, GENRES, LANGUAGES, NOUNS, SUBTITLES

BATCH_SIZE = 2000
#: Books are staged and merged set-based (``catalog.bulk``): larger batches cost fewer statements.
BOOK_BATCH_SIZE = 10_000


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def isbn13(body12: str) -> str:
    return body12 + isbn13_check_digit(body12)


@dataclass(slots=True)
class BookSpec:
    isbn: str
    title: str
    subtitle: str
    description: str
    authors: tuple[int, ...]  # indexes into the author list
    genres: tuple[int, ...]
    publisher: str
    published_date: date
    language: str
    page_count: int
    price: Decimal
    stock: int
    is_active: bool


#: The book fields a spec holds as they are written (authors and genres it holds as indexes).
_SPEC_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name in BookSpec.__dataclass_fields__)


class DemoCatalog:
    """Draws the catalog from the store's ``rng`` and ``fake`` (shared, so the draw order is the store's)."""

    def __init__(self, *, rng: random.Random, fake: Faker, books: int, now: datetime) -> None:
        self.rng = rng
        self.fake = fake
        self.n_books = books
        self.now = now

    # --- generation (pure, in memory) ----------------------------------------------------------

    def author_names(self, count: int) -> list[str]:
        firsts = [self.fake.first_name() for _ in range(400)]
        lasts = [self.fake.last_name() for _ in range(600)]
        initials = "ABCDEFGHJKLMNPRSTW"
        names: dict[str, None] = {}
        while len(names) < count:
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            name = f"{first} {last}"
            if name in names:
                name = f"{first} {self.rng.choice(initials)}. {last}"
            names[name] = None
        return list(names)

    def books(self, n_authors: int) -> list[BookSpec]:
        rng, fake = self.rng, self.fake
        # Towns only, and no name that is a country's: titles like "Golden Syrian Arab Republic" read badly.
        places = without_countries(fake.city() for _ in range(150))
        firsts = without_countries(fake.first_name() for _ in range(150))
        titles = TitleMaker(rng, places, firsts)
        descriptions = [fake.paragraph(nb_sentences=5) for _ in range(400)]
        publishers = sorted(
            {f"{fake.last_name()} {rng.choice(('Press', 'Books', 'House', '& Sons'))}" for _ in range(40)}
        )
        bodies = rng.sample(range(10**9), self.n_books)
        oldest = date(1950, 1, 1).toordinal()
        newest = (self.now.date() - timedelta(days=30)).toordinal()
        specs: list[BookSpec] = []
        for index in range(self.n_books):
            # The first pass over the authors gives everyone a book; the rest spread at random.
            first_author = index if index < n_authors else rng.randrange(n_authors)
            extra = rng.choices((0, 1, 2), weights=(85, 12, 3))[0]
            authors = tuple(dict.fromkeys([first_author, *(rng.randrange(n_authors) for _ in range(extra))]))
            genres = tuple(sorted(rng.sample(range(len(GENRES)), rng.choice((1, 1, 2)))))
            subtitle = ""
            if rng.random() < 0.3:
                subtitle = rng.choice(SUBTITLES).format(
                    place=rng.choice(places), adj=rng.choice(ADJECTIVES), noun=rng.choice(NOUNS), n=rng.randint(1, 5)
                )
            price = Decimal(rng.randint(3, 45)) + rng.choice((Decimal("0.99"), Decimal("0.49"), Decimal("0.00")))
            specs.append(
                BookSpec(
                    isbn=isbn13(f"{rng.choice((978, 978, 978, 979))}{bodies[index]:09d}"),
                    title=titles.title(),
                    subtitle=subtitle,
                    description=rng.choice(descriptions),
                    authors=authors,
                    genres=genres,
                    publisher=rng.choice(publishers),
                    published_date=date.fromordinal(rng.randint(oldest, newest)),
                    language=rng.choice(LANGUAGES),
                    page_count=rng.randint(64, 960),
                    price=price,
                    stock=0 if rng.random() < 0.08 else rng.randint(1, 80),
                    is_active=rng.random() > 0.03,
                )
            )
        return specs

    # --- writing -------------------------------------------------------------------------------

    def write_genres(self) -> list[Genre]:
        return Genre.objects.bulk_create([Genre(name=name, slug=slug) for name, slug in GENRES])

    def write_authors(self, names: list[str]) -> list[Author]:
        bios = [self.fake.paragraph(nb_sentences=2) for _ in range(200)]
        authors: list[Author] = []
        for batch in batched(names, BATCH_SIZE):
            authors += Author.objects.bulk_create([Author(name=name, bio=self.rng.choice(bios)) for name in batch])
        return authors

    def write_books(self, books: list[BookSpec], author_names: list[str]) -> list[int]:
        """Books through the import's upsert (links and search index included); their ids in order.

        The rows of the next batch are made, checked and prepared while the database merges the current one.
        """
        slugs = [slug for _, slug in GENRES]

        def batches() -> Iterator[list[BookRow]]:
            for batch in batched(books, BOOK_BATCH_SIZE):
                yield [
                    BookRow(
                        line=0,
                        present=OPTIONAL_COLUMNS,
                        **{name: getattr(spec, name) for name in _SPEC_COLUMNS},
                        authors=tuple(author_names[author] for author in spec.authors),
                        genres=tuple(slugs[genre] for genre in spec.genres),
                    )
                    for spec in batch
                ]

        # Demo data, not a staff action: no admin history.
        return books_upsert_batches(batches=batches(), history=False).book_ids
