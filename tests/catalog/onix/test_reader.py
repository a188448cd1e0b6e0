"""catalog.importing.onix: reading ONIX 3.0 messages (reference and short tags), without a database."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from catalog.importing import ImportFormatError, RowError, RowNotice, read_books, read_onix
from catalog.importing.onix import SHORT_TAGS, OnixProduct
from catalog.languages import LANGUAGE_BY_ISO_639_2, Language
from tests.catalog.onix.feeds import PRODUCTS, SHORT, FeedProduct, feed, feed_path

FLAVOURS = ("reference", "short")


def products_of(data: bytes | str, chunk: int = 0) -> list[OnixProduct]:
    raw = data.encode() if isinstance(data, str) else data
    chunks = [raw[i : i + chunk] for i in range(0, len(raw), chunk)] if chunk else [raw]
    return list(read_onix(chunks, currency="EUR"))


def message(products: str, *, flavour: str = "reference", prolog: str = "") -> str:
    namespace = f"http://ns.editeur.org/onix/3.0/{flavour}"
    root = "ONIXMessage" if flavour == "reference" else "ONIXmessage"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<{root} release="3.0" xmlns="{namespace}">\n'
        f"<Header><Sender><SenderName>Test</SenderName></Sender><SentDateTime>20261130</SentDateTime></Header>\n"
        f"{products}</{root}>\n"
    )


def product(record: str = "r1", isbn: str = "9780441013593", *, descriptive: str = "", publishing: str = "",
            supply: str = "", notification: str = "03", extra: str = "") -> str:  # fmt: skip
    descriptive = descriptive or (
        "<ProductComposition>00</ProductComposition><ProductForm>BC</ProductForm>"
        "<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        "<TitleText>Dune</TitleText></TitleElement></TitleDetail>"
        "<Contributor><ContributorRole>A01</ContributorRole><PersonName>Frank Herbert</PersonName></Contributor>"
    )
    publishing = publishing or "<PublishingStatus>04</PublishingStatus>"
    supply = supply or (
        "<Price><PriceType>02</PriceType><PriceAmount>9.99</PriceAmount><CurrencyCode>EUR</CurrencyCode></Price>"
    )
    return (
        f"<Product>\n<RecordReference>{record}</RecordReference><NotificationType>{notification}</NotificationType>"
        f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>"
        f"<DescriptiveDetail>{descriptive}</DescriptiveDetail>{extra}"
        f"<PublishingDetail>{publishing}</PublishingDetail>"
        f"<ProductSupply><SupplyDetail><ProductAvailability>21</ProductAvailability>{supply}</SupplyDetail>"
        "</ProductSupply>\n</Product>\n"
    )


def expected_values(item: FeedProduct) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": item.title,
        "format": item.format,
        "language": item.language,
        "page_count": str(item.page_count),
        "description": item.description,
        "publisher": item.publisher,
        "publication_status": item.publication_status,
        "published_date": item.published_date,
        "price": item.price,
        "stock": str(item.stock),
    }
    if item.subtitle:
        values["subtitle"] = item.subtitle
    if item.series:
        values["series"] = item.series
        values["series_number"] = item.series_number
    if item.publication_status == "forthcoming":
        values["release_date"] = item.published_date
    return values


# --- the 60-product feed -------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_checked_in_feed_is_the_builders_output(flavour: str) -> None:
    assert feed_path(flavour).read_text(encoding="utf-8") == feed(flavour)


def test_feed_covers_every_listed_element_in_both_tag_sets() -> None:
    reference, short = feed_path("reference").read_text(), feed_path("short").read_text()
    listed = [
        "ProductIdentifier", "ProductIDType", "IDValue", "TitleDetail", "TitleElement", "TitleText", "Subtitle",
        "TitlePrefix", "TitleWithoutPrefix", "Contributor", "ContributorRole", "PersonName", "PersonNameInverted",
        "NamesBeforeKey", "KeyNames", "SequenceNumber", "Collection", "CollectionType", "PartNumber", "ProductForm",
        "ProductFormDetail", "PublishingStatus", "PublishingDate", "PublishingDateRole", "Date", "Language",
        "LanguageRole", "LanguageCode", "Extent", "ExtentType", "ExtentValue", "ExtentUnit", "Price", "PriceType",
        "PriceAmount", "CurrencyCode", "SupplyDetail", "Stock", "OnHand", "Publisher", "PublisherName",
        "TextContent", "TextType", "Text", "Header", "DefaultCurrencyCode",
    ]  # fmt: skip
    for name in listed:
        assert f"<{name}>" in reference or f"<{name} " in reference, name
        assert f"<{SHORT[name]}>" in short or f"<{SHORT[name]} " in short, name
        assert SHORT_TAGS[name] == SHORT[name], name
    for code in ("A01", "B01", "B06", "A12", "E07", "A23"):
        assert f"<ContributorRole>{code}</ContributorRole>" in reference
    for code in ("BB", "BC", "BH", "AC"):
        assert f"<ProductForm>{code}</ProductForm>" in reference
    for code in ("02", "04", "07"):
        assert f"<PublishingStatus>{code}</PublishingStatus>" in reference
    assert len(PRODUCTS) >= 50


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_product_of_the_feed_is_read_with_every_field(flavour: str) -> None:
    products = products_of(feed_path(flavour).read_bytes())

    assert [product.record_reference for product in products] == [item.record for item in PRODUCTS]
    for product, item in zip(products, PRODUCTS, strict=True):
        assert product.errors == []
        assert product.isbn == item.isbn
        assert product.values == expected_values(item), item.record
        assert product.credits == [(credit.name, credit.role) for credit in item.credits], item.record
        assert product.notices == ([f"Price {item.gbp_price} GBP of PriceType 02 not used"] if item.gbp_price else [])


def test_both_tag_sets_read_alike_whatever_the_chunk_size() -> None:
    reference = products_of(feed_path("reference").read_bytes())
    assert products_of(feed_path("short").read_bytes(), chunk=7) == [
        OnixProduct(**{**vars_of(product), "line": product.line}) for product in reference
    ]


def vars_of(product: OnixProduct) -> dict[str, Any]:
    return {name: getattr(product, name) for name in OnixProduct.__slots__}  # type: ignore[attr-defined]


def test_product_line_is_where_its_element_starts() -> None:
    text = feed_path("short").read_text()
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip() == "<product>"]
    assert [product.line for product in products_of(text)] == lines


# --- what the store leaves out, what it rejects --------------------------------------------


def test_values_outside_the_store_are_reported_not_guessed() -> None:
    descriptive = (
        "<ProductForm>EA</ProductForm>"
        "<Collection><CollectionType>20</CollectionType><TitleDetail><TitleType>01</TitleType><TitleElement>"
        "<TitleElementLevel>02</TitleElementLevel><TitleText>Ascribed</TitleText></TitleElement></TitleDetail>"
        "</Collection>"
        "<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        "<TitleText>Dune</TitleText></TitleElement></TitleDetail>"
        "<Contributor><ContributorRole>A01</ContributorRole><PersonName>Frank Herbert</PersonName></Contributor>"
        "<Contributor><ContributorRole>A36</ContributorRole><PersonName>Cover Designer</PersonName></Contributor>"
        "<Language><LanguageRole>01</LanguageRole><LanguageCode>tlh</LanguageCode></Language>"
        "<Extent><ExtentType>09</ExtentType><ExtentValue>600</ExtentValue><ExtentUnit>05</ExtentUnit></Extent>"
    )
    publishing = (
        "<PublishingStatus>06</PublishingStatus>"
        '<PublishingDate><PublishingDateRole>01</PublishingDateRole><Date dateformat="01">196508</Date>'
        "</PublishingDate>"
    )
    supply = (
        "<Price><PriceType>01</PriceType><PriceAmount>7.00</PriceAmount><CurrencyCode>EUR</CurrencyCode></Price>"
        "<Price><PriceType>02</PriceType><PriceAmount>11.00</PriceAmount><CurrencyCode>USD</CurrencyCode></Price>"
        "<Price><PriceType>02</PriceType><PriceAmount>9.99</PriceAmount><CurrencyCode>EUR</CurrencyCode></Price>"
    )
    (item,) = products_of(message(product(descriptive=descriptive, publishing=publishing, supply=supply)))
    assert item.errors == []
    assert item.values == {"title": "Dune", "price": "9.99"}
    assert item.credits == [("Frank Herbert", "author")]
    assert item.notices == [
        "Collection of CollectionType 20 is not a publisher series; left out",
        "ContributorRole A36 of 'Cover Designer' is not a store role; credit left out",
        "LanguageCode 'tlh' has no ISO 639-1 code in the store; language left out",
        "Extent of ExtentType 09 in ExtentUnit 05 is not a page count; left out",
        "ProductForm EA is not one of the store's formats; format left out",
        "PublishingStatus 06 is not a store publication status; left out",
        "Date '196508' (dateformat 01) is not a full date; left out",
        "Price 7.00 EUR of PriceType 01 not used",
        "Price 11.00 USD of PriceType 02 not used",
    ]


def test_products_the_store_cannot_sell_are_rejected_naming_record_and_isbn() -> None:
    no_isbn = product("no-isbn").replace("<ProductIDType>15</ProductIDType>", "<ProductIDType>03</ProductIDType>")
    usd_only = product(
        "usd", "9780306406157",
        supply="<Price><PriceType>02</PriceType><PriceAmount>5</PriceAmount><CurrencyCode>USD</CurrencyCode></Price>",
    )  # fmt: skip
    forthcoming_undated = product("undated", "9780141439518", publishing="<PublishingStatus>02</PublishingStatus>")
    bad_isbn = product("bad", "9780441013594")
    text = message(product("good") + no_isbn + usd_only + forthcoming_undated + bad_isbn + product("twice"))
    notices: list[RowNotice] = []
    rows = list(read_books([text.encode()], fmt="onix", on_notice=notices.append))

    errors = [str(row) for row in rows if isinstance(row, RowError)]
    assert errors == [
        "line 7 (record no-isbn): isbn: no ProductIdentifier of ProductIDType 15 (ISBN-13)",
        "line 10 (record usd, ISBN 9780306406157): price: required",
        "line 13 (record undated, ISBN 9780141439518): release_date: a forthcoming product (PublishingStatus 02) "
        "needs its PublishingDate of role 01",
        "line 16 (record bad, ISBN 9780441013594): isbn: The ISBN-13 check digit is wrong (9780441013594)",
        "line 19 (record twice, ISBN 9780441013593): isbn: 9780441013593 appears in an earlier product of this file",
    ]
    assert [row.isbn for row in rows if not isinstance(row, RowError)] == ["9780441013593"]
    assert "line 10 (record usd, ISBN 9780306406157): note: Price 5 USD of PriceType 02 not used" in map(str, notices)


def test_a_delete_notification_is_reported_and_skipped() -> None:
    notices: list[RowNotice] = []
    rows = list(read_books([message(product(notification="05")).encode()], fmt="onix", on_notice=notices.append))
    assert rows == []
    assert [str(notice) for notice in notices] == [
        "line 4 (record r1, ISBN 9780441013593): note: NotificationType 05 (delete) is not applied: the store "
        "keeps the book (deactivate it in the admin)"
    ]


def test_header_default_currency_prices_a_product_without_currency_code() -> None:
    supply = "<Price><PriceType>02</PriceType><PriceAmount>12.50</PriceAmount></Price>"
    text = message(product(supply=supply)).replace(
        "</Header>", "<DefaultCurrencyCode>EUR</DefaultCurrencyCode></Header>"
    )
    (item,) = products_of(text)
    assert item.values["price"] == "12.50"
    (item,) = products_of(text.replace(">EUR<", ">GBP<"))
    assert "price" not in item.values


def test_header_default_price_type_applies_to_a_price_without_one() -> None:
    supply = "<Price><PriceAmount>12.50</PriceAmount><CurrencyCode>EUR</CurrencyCode></Price>"
    text = message(product(supply=supply))
    (item,) = products_of(text.replace("</Header>", "<DefaultPriceType>02</DefaultPriceType></Header>"))
    assert item.values["price"] == "12.50"
    (item,) = products_of(text.replace("</Header>", "<DefaultPriceType>01</DefaultPriceType></Header>"))
    assert "price" not in item.values
    assert item.notices == ["Price 12.50 EUR of PriceType 01 not used"]


def test_names_in_every_spelling_and_sequence_order() -> None:
    descriptive = (
        "<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        "<TitlePrefix>The</TitlePrefix><TitleWithoutPrefix>Hobbit</TitleWithoutPrefix><Subtitle>There and back"
        "</Subtitle></TitleElement></TitleDetail>"
        "<Contributor><SequenceNumber>3</SequenceNumber><ContributorRole>A23</ContributorRole>"
        "<NamesBeforeKey>Christopher</NamesBeforeKey><KeyNames>Tolkien</KeyNames></Contributor>"
        "<Contributor><SequenceNumber>1</SequenceNumber><ContributorRole>A01</ContributorRole>"
        "<ContributorRole>A12</ContributorRole><PersonNameInverted>Tolkien, J. R. R.</PersonNameInverted></Contributor>"
        "<Contributor><SequenceNumber>2</SequenceNumber><ContributorRole>E07</ContributorRole>"
        "<PersonName>Andy  Serkis</PersonName></Contributor>"
    )
    (item,) = products_of(message(product(descriptive=descriptive)))
    assert item.values["title"] == "The Hobbit"
    assert item.values["subtitle"] == "There and back"
    assert item.credits == [
        ("J. R. R. Tolkien", "author"),
        ("J. R. R. Tolkien", "illustrator"),
        ("Andy Serkis", "narrator"),
        ("Christopher Tolkien", "foreword"),
    ]


def test_series_from_a_collection_level_title_element_and_a_roman_part_number() -> None:
    descriptive = (
        "<TitleDetail><TitleType>01</TitleType>"
        "<TitleElement><TitleElementLevel>02</TitleElementLevel><PartNumber>3</PartNumber>"
        "<TitleText>Dune Chronicles</TitleText></TitleElement>"
        "<TitleElement><TitleElementLevel>01</TitleElementLevel><TitleText>Children of Dune</TitleText>"
        "</TitleElement></TitleDetail>"
        "<Contributor><ContributorRole>A01</ContributorRole><PersonName>Frank Herbert</PersonName></Contributor>"
    )
    (item,) = products_of(message(product(descriptive=descriptive)))
    assert (item.values["series"], item.values["series_number"]) == ("Dune Chronicles", 3)
    (item,) = products_of(message(product(descriptive=descriptive.replace(">3<", ">III<"))))
    assert item.values["series"] == "Dune Chronicles"
    assert "series_number" not in item.values
    assert "PartNumber 'III' is not a whole number; series number left out" in item.notices


def test_iso_639_2_codes_of_every_store_language() -> None:
    assert set(LANGUAGE_BY_ISO_639_2.values()) == set(Language.values)
    assert (LANGUAGE_BY_ISO_639_2["ger"], LANGUAGE_BY_ISO_639_2["deu"]) == ("de", "de")
    assert (LANGUAGE_BY_ISO_639_2["chi"], LANGUAGE_BY_ISO_639_2["zho"]) == ("zh", "zh")
    assert (LANGUAGE_BY_ISO_639_2["eng"], LANGUAGE_BY_ISO_639_2["fre"], LANGUAGE_BY_ISO_639_2["wel"]) == (
        "en",
        "fr",
        "cy",
    )


# --- files that are not read at all --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("<ONIXMessage release='3.0'><Product>", "not well-formed XML"),
        ("<rss version='2.0'/>", "not an ONIX for Books message"),
        ("<ONIXMessage><Header/></ONIXMessage>", "ONIX release (missing)"),
        ('<ONIXMessage release="2.1"/>', "ONIX release 2.1"),
    ],
)
def test_unreadable_files(text: str, reason: str) -> None:
    with pytest.raises(ImportFormatError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        products_of(text)


def test_malformed_xml_after_good_products_names_the_line() -> None:
    text = message(product("a") + "<Product><RecordReference>b</Record></Product>")
    with pytest.raises(ImportFormatError, match=r"^line 7: not well-formed XML: Opening and ending tag mismatch"):
        products_of(text)


BILLION_LAUGHS = (
    '<!DOCTYPE ONIXMessage [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n' for n in range(1, 10))
    + "]>\n"
)


def test_entity_expansion_bomb_is_refused_without_expanding() -> None:
    text = message(product().replace("Dune", "&lol9;"), prolog=BILLION_LAUGHS)
    with pytest.raises(ImportFormatError, match="entit") as excinfo:
        products_of(text)
    assert "lollol" not in str(excinfo.value)


def test_external_entity_is_refused_and_never_read(tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    prolog = f'<!DOCTYPE ONIXMessage [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>\n'
    text = message(product().replace("Dune", "&xxe;"), prolog=prolog)
    with pytest.raises(ImportFormatError, match="declares XML entities") as excinfo:
        products_of(text)
    assert "TOP-SECRET" not in str(excinfo.value)


@pytest.fixture
def http_server() -> Iterator[list[str]]:
    """A server on this project's loopback port that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY remote "FETCHED">')

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 8161), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_dtd_and_entities_are_never_fetched(http_server: list[str]) -> None:
    external_dtd = '<!DOCTYPE ONIXMessage SYSTEM "http://127.0.0.1:8161/onix.dtd">\n'
    (item,) = products_of(message(product(), prolog=external_dtd))
    assert item.values["title"] == "Dune"

    parameter_entity = '<!DOCTYPE ONIXMessage [ <!ENTITY % remote SYSTEM "http://127.0.0.1:8161/p.dtd"> %remote; ]>\n'
    with pytest.raises(ImportFormatError):
        products_of(message(product(), prolog=parameter_entity))
    assert http_server == []


MEMORY_PROBE = """
import resource, sys
from catalog.importing import read_onix
from tests.catalog.onix.feeds import PRODUCTS, feed
data = feed("short", PRODUCTS * int(sys.argv[1])).encode()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count = sum(1 for _ in read_onix((data[i : i + 65536] for i in range(0, len(data), 65536)), currency="EUR"))
print(count, len(data), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_large_feed_is_read_in_constant_memory() -> None:
    """100 copies of the feed (6,000 products, 13 MB): reading adds a few MB, not a tree of the whole file."""
    import subprocess
    import sys

    from django.conf import settings

    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, "100"], cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    count, size, growth_mb = map(int, probe.stdout.split())
    assert count == 100 * len(PRODUCTS)
    assert size > 12_000_000
    assert growth_mb < 20, f"reading {size} bytes raised peak memory by {growth_mb} MB"
