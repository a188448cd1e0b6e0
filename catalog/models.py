"""Catalog tables: authors, genres, series, works, books, contributor credits and back-in-stock subscriptions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from catalog.choices import BookFormat, ContributorRole, PublicationStatus
from catalog.languages import Language


class Author(models.Model):
    """A person credited on books."""

    name = models.CharField(max_length=255, db_index=True)
    bio = models.TextField(blank=True)
    recent_sales = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Copies of their books sold in the last 90 days, refreshed by a daily job: orders suggestions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "authors"
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="authors_name_not_blank")]

    def __str__(self) -> str:
        return self.name


class Genre(models.Model):
    """A shelf of the store, addressed by its slug."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "genres"
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="genres_name_not_blank"),
            models.CheckConstraint(condition=~Q(slug=""), name="genres_slug_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class Series(models.Model):
    """A series of books (``Dune Chronicles``); each book gives its number in it."""

    name = models.CharField(max_length=255, unique=True)
    recent_sales = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Copies of its books sold in the last 90 days, refreshed by a daily job: orders suggestions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "series"
        verbose_name_plural = "series"
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="series_name_not_blank")]

    def __str__(self) -> str:
        return self.name


class Work(models.Model):
    """The work behind one or more editions: the hardcover and the paperback of a title share their Work."""

    title = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "works"
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class Book(models.Model):
    """One sellable edition with one ISBN (``isbn`` is always the 13-digit form).

    Editions of the same work (hardcover, paperback, audio) share ``work``.
    ``publication_status``: a ``forthcoming`` book has a ``release_date`` and is
    sold as preorders out of ``preorder_allowance``; an ``out_of_print`` one
    cannot be ordered.
    """

    isbn = models.CharField("ISBN-13", max_length=13, unique=True)
    title = models.CharField(max_length=500)
    subtitle = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    # Every contributor, whatever the role (``BookAuthor.role``); ``author_links`` in position order.
    authors: models.ManyToManyField[Author, BookAuthor] = models.ManyToManyField(
        Author, through="BookAuthor", related_name="books"
    )
    genres = models.ManyToManyField(Genre, related_name="books", db_table="book_genres", blank=True)
    publisher = models.CharField(max_length=255, blank=True)
    published_date = models.DateField(null=True, blank=True)
    language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.EN, help_text="ISO 639-1 code."
    )
    page_count = models.PositiveIntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    format = models.CharField(max_length=12, choices=BookFormat.choices, default=BookFormat.OTHER)
    # PROTECT: a work is deleted only once it has no editions (a book's own work is deleted with it by the service).
    work = models.ForeignKey(Work, on_delete=models.PROTECT, related_name="books")
    # No index of its own: books_series_number_idx (series, series_number) leads with it.
    series = models.ForeignKey(
        Series, on_delete=models.PROTECT, null=True, blank=True, related_name="books", db_index=False
    )
    series_number = models.PositiveIntegerField(null=True, blank=True, help_text="The book's number in its series.")
    publication_status = models.CharField(
        max_length=12, choices=PublicationStatus.choices, default=PublicationStatus.ACTIVE
    )
    release_date = models.DateField(
        null=True, blank=True, help_text="A forthcoming book's release date; it becomes active on that day."
    )
    preorder_allowance = models.PositiveIntegerField(
        default=0, help_text="How many copies of a forthcoming book may still be preordered."
    )
    recent_sales = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Copies sold in the last 90 days, refreshed by a daily job: breaks search ties, orders suggestions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "books"
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="books_price_non_negative"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="books_stock_non_negative"),
            models.CheckConstraint(condition=Exact(Length("isbn"), 13), name="books_isbn_13_digits"),
            models.CheckConstraint(condition=Q(language__in=Language.values), name="books_language_iso_639_1"),
            models.CheckConstraint(condition=~Q(title=""), name="books_title_not_blank"),
            models.CheckConstraint(condition=Q(format__in=BookFormat.values), name="books_format_valid"),
            models.CheckConstraint(
                condition=Q(publication_status__in=PublicationStatus.values), name="books_publication_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(publication_status=PublicationStatus.FORTHCOMING) | Q(release_date__isnull=False),
                name="books_forthcoming_has_release_date",
            ),
            models.CheckConstraint(
                condition=Q(preorder_allowance__gte=0), name="books_preorder_allowance_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(series__isnull=False) | Q(series_number__isnull=True), name="books_series_number_in_series"
            ),
        ]
        # No index covers ``stock`` or ``preorder_allowance``: every sale, cancellation and goods-in changes
        # them, and PostgreSQL can then update the row in place (a HOT update) instead of adding an entry to
        # each of the table's indexes (migration 0013).
        indexes = [
            models.Index(fields=["title", "id"], name="books_title_idx"),
            models.Index(fields=["price"], name="books_price_idx"),
            models.Index(fields=["published_date"], name="books_published_date_idx"),
            models.Index(fields=["created_at"], name="books_created_at_idx"),
            models.Index(fields=["language"], name="books_language_idx"),
            models.Index(fields=["is_active"], name="books_is_active_idx"),
            models.Index(fields=["format"], name="books_format_idx"),
            models.Index(fields=["publication_status", "release_date"], name="books_publication_status_idx"),
            models.Index(fields=["series", "series_number"], name="books_series_number_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class BookAuthor(models.Model):
    """A contributor's credit on a book: a person (``author``) in a ``role``, in the order the cover lists them.

    ``position`` orders every credit of the book, whatever the role; the API's
    ``authors`` are the credits with role ``author`` in that order.
    """

    # Neither key has an index of its own: book_authors_unique_role (book, author, role) leads with the book,
    # book_authors_author_role_idx (author, role) with the author, and every lookup by either uses those.
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="author_links", db_index=False)
    # PROTECT: an author with books cannot be deleted (API answers 409).
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="book_links", db_index=False)
    role = models.CharField(max_length=12, choices=ContributorRole.choices, default=ContributorRole.AUTHOR)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "book_authors"
        verbose_name = "contributor"
        ordering = ["book", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "author", "role"], name="book_authors_unique_role"),
            models.CheckConstraint(condition=Q(role__in=ContributorRole.values), name="book_authors_role_valid"),
        ]
        indexes = [models.Index(fields=["author", "role"], name="book_authors_author_role_idx")]

    def __str__(self) -> str:
        if self.role == ContributorRole.AUTHOR:
            return f"{self.author} on {self.book}"
        return f"{self.author} ({self.get_role_display().lower()}) on {self.book}"


class StockSubscription(models.Model):
    """A customer waiting for an out-of-stock book: one email when it is back, then ``notified_at`` is set.

    A subscription is notified once; subscribing again after that makes a new one.
    """

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="stock_subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stock_subscriptions")
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "stock_subscriptions"
        ordering = ["book", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "user"],
                condition=Q(notified_at__isnull=True),
                name="stock_subscriptions_one_waiting_per_user",
            )
        ]
        indexes = [models.Index(fields=["book"], condition=Q(notified_at__isnull=True), name="stock_subs_waiting_idx")]

    def __str__(self) -> str:
        return f"{self.user} waiting for {self.book}"


class BookSearchEntry(models.Model):
    """A book's entry in the full-text index, the handle ``catalog.search`` joins books to.

    The ``book_search`` table differs per database and is created by migration
    (PostgreSQL: a weighted ``tsvector`` with a GIN index; SQLite: an FTS5
    table). Only ``catalog.search`` writes it, with set-based SQL; this model
    exists so that searches are ordinary joins in the ORM.
    """

    book = models.OneToOneField(
        Book, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="search_entry"
    )
    # PostgreSQL only: title+subtitle (A), author names (B), description+publisher (C).
    document = SearchVectorField()
    # SQLite only: FTS5's hidden column named after its table, the operand of MATCH and bm25().
    fts = models.TextField(db_column="book_search")

    class Meta:
        managed = False
        db_table = "book_search"
        ordering = ["book_id"]

    def __str__(self) -> str:
        return f"Search entry of book {self.pk}"


class StockMovement(models.Model):
    """One change of a book's stock: what moved it, by how much, who, when, why.

    The ledger of ``Book.stock``: every path that changes stock writes its
    movements in the same transaction (``catalog.ledger``), so a book's stock
    always equals the sum of its movements' ``delta``. Rows are never changed.
    """

    class Kind(models.TextChoices):
        OPENING = "opening", "Opening balance"
        SALE = "sale", "Sale"
        CANCELLATION = "cancellation", "Order cancelled"
        EXPIRY = "expiry", "Unpaid order expired"
        GOODS_IN = "goods_in", "Goods in"
        STOCKTAKE = "stocktake", "Stock-take correction"
        IMPORT = "import", "Import"
        PREORDER_RELEASE = "preorder_release", "Preorder release"
        ADJUSTMENT = "adjustment", "Edited by staff"

    # No index of its own: stock_movements_book_at_idx (book, -at, -id) leads with it.
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="stock_movements", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delta = models.IntegerField(help_text="Copies added (positive) or taken (negative).")
    stock_after = models.IntegerField(help_text="The book's stock right after this movement.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="stock_movements"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="An order number, import or batch.")

    class Meta:
        db_table = "stock_movements"
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stock_movements_delta_not_zero"),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "opening",
                        "sale",
                        "cancellation",
                        "expiry",
                        "goods_in",
                        "stocktake",
                        "import",
                        "preorder_release",
                        "adjustment",
                    ]
                ),
                name="stock_movements_kind_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["book", "-at", "-id"], name="stock_movements_book_at_idx"),
            models.Index(fields=["-at", "-id"], name="stock_movements_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d} → {self.stock_after}"


class BookCover(models.Model):
    """A book's cover: the stored original and its WebP thumbnails, by storage name.

    All names of one upload share a random folder (``covers/<token>/``); the
    thumbnail names stay empty until the background task has made them. One
    row per book, joined into book reads (``select_related("cover")``), so
    covers cost no extra query on a list page.
    """

    book = models.OneToOneField(Book, primary_key=True, on_delete=models.CASCADE, related_name="cover")
    original = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    small = models.CharField(max_length=255, blank=True, help_text="160 px wide WebP; empty while pending.")
    medium = models.CharField(max_length=255, blank=True, help_text="320 px wide WebP; empty while pending.")
    large = models.CharField(max_length=255, blank=True, help_text="640 px wide WebP; empty while pending.")
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "book_covers"
        ordering = ["book_id"]
        constraints = [models.CheckConstraint(condition=~Q(original=""), name="book_covers_original_not_blank")]

    def __str__(self) -> str:
        return f"Cover of book {self.pk}"

    @property
    def is_ready(self) -> bool:
        return bool(self.small and self.medium and self.large)

    def names(self) -> list[str]:
        """Every stored file of this cover."""
        return [name for name in (self.original, self.small, self.medium, self.large) if name]


class ImportJob(models.Model):
    """A book file uploaded in the admin: its dry run (``plan``), then its import in the background, and the report.

    The file is kept in the ``imports`` storage under a random name (``file``);
    it is only ever read as data. ``status`` moves ``checking`` → ``planned``
    (the dry run is done: ``plan`` says what would change) → ``queued`` →
    ``running`` → ``done``, or to ``failed`` from any of them. While a worker
    checks or imports the file it refreshes ``heartbeat_at``; a job whose
    worker stopped (killed, machine lost) shows as failed once the heartbeat
    is ``catalog.imports.STALE_AFTER`` old, never as running forever.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", "Dry run"
        PLANNED = "planned", "Checked, waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        ONIX = "onix", "ONIX 3.0"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="import_jobs"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who confirmed the import; the books are written in their name.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    file = models.CharField(max_length=255, help_text="Name in the imports storage.")
    original_name = models.CharField("file name", max_length=255)
    format = models.CharField(max_length=5, choices=Format.choices)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING)
    message = models.TextField(blank=True, help_text="Why the job failed, if it did.")
    can_retry = models.BooleanField(default=False, help_text="A failed job that may run again (its worker stopped).")
    # Progress of the current phase (the dry run, then the import): bytes of the file read so far.
    progress_bytes = models.PositiveBigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    plan = models.JSONField(default=dict, blank=True, help_text="The dry run: what the import would change.")
    report = models.JSONField(default=dict, blank=True, help_text="What the import did.")

    class Meta:
        db_table = "import_jobs"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="import_jobs_status_heartbeat")]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.original_name})"

    @property
    def percent(self) -> int:
        """Progress of the current phase, 0-100; a finished phase is 100."""
        if self.status in (self.Status.PLANNED, self.Status.DONE):
            return 100
        if self.status == self.Status.QUEUED or not self.size:
            return 0
        return min(100, self.progress_bytes * 100 // self.size)


class SearchSynonym(models.Model):
    """Staff's search synonym: a query holding ``term`` also finds ``synonym`` (and the reverse when ``both_ways``).

    ``sci-fi`` ⇄ ``science fiction`` is one row with ``both_ways``; ``hp`` →
    ``harry potter`` is one without. Both sides are matched by their words
    (case, accents and punctuation aside), never as query syntax.
    """

    term = models.CharField(max_length=200, help_text="Words a query may hold, such as `hp` or `sci-fi`.")
    synonym = models.CharField(max_length=200, help_text="What the term also finds, such as `harry potter`.")
    both_ways = models.BooleanField(
        default=True, help_text="Also the other way round: a query holding the synonym also finds the term."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "search_synonyms"
        ordering = ["term", "synonym", "id"]
        constraints = [
            models.UniqueConstraint(fields=["term", "synonym"], name="search_synonyms_unique_pair"),
            models.CheckConstraint(condition=~Q(term=""), name="search_synonyms_term_not_blank"),
            models.CheckConstraint(condition=~Q(synonym=""), name="search_synonyms_synonym_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.term} {'⇄' if self.both_ways else '→'} {self.synonym}"


class SearchMiss(models.Model):
    """A search (normalised) that found no book, and how often customers ran it: what the store lacks."""

    query = models.CharField(max_length=200, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "search_misses"
        verbose_name = "search without results"
        verbose_name_plural = "searches without results"
        ordering = ["-count", "query"]
        indexes = [models.Index(fields=["-count", "query"], name="search_misses_count_idx")]

    def __str__(self) -> str:
        return f"{self.query} ({self.count})"


class SearchWord(models.Model):
    """A word of the catalog's titles, names, series, genres and publishers: what a typo is corrected to.

    Filled by ``catalog.search`` with the index. PostgreSQL finds near words
    with a pg_trgm index on ``word`` (migration 0009); SQLite with
    ``SearchWordTrigram``. Words of books since changed stay: a correction is
    only offered when it finds books.
    """

    word = models.CharField(max_length=100, primary_key=True)

    class Meta:
        db_table = "search_words"
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class SearchWordTrigram(models.Model):
    """SQLite only: the trigrams of each ``SearchWord`` (padded as pg_trgm pads them), to find near words."""

    trigram = models.CharField(max_length=12)
    word = models.CharField(max_length=100)
    length = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "search_word_trigrams"
        ordering = ["trigram", "word"]
        constraints = [models.UniqueConstraint(fields=["trigram", "word"], name="search_word_trigrams_unique")]
        indexes = [models.Index(fields=["trigram", "length"], name="search_word_trigrams_idx")]

    def __str__(self) -> str:
        return f"{self.trigram} in {self.word}"
