"""The ONIX 3.0 test feed: 60 products written from the ONIX for Books 3.0 specification, and what they hold.

``PRODUCTS`` lists each product's data in the store's terms (what the import
must produce); ``feed(flavour)`` writes them as an ONIX 3.0 message in
reference tags (``<ProductIdentifier>``) or short tags (``<productidentifier>``),
with the code lists of the specification (ProductForm ``BB``, ContributorRole
``A01``, PublishingStatus ``04``, ...). The checked-in files
``feed-reference.xml`` and ``feed-short.xml`` are this module's output
(``python -m tests.catalog.onix.feeds`` rewrites them; a test checks they match).

Every element the importer reads appears in both files: ProductIdentifier
(types 15, 03 and 02), TitleDetail/TitleElement (TitleText, TitlePrefix +
TitleWithoutPrefix, Subtitle), Contributor in the six roles (PersonName,
PersonNameInverted, NamesBeforeKey + KeyNames, SequenceNumber out of document
order, two roles on one person), Collection (type 10, TitleText, PartNumber),
ProductForm (BB, BC, BC + ProductFormDetail B104, BH, AC), PublishingStatus
(02, 04, 07), PublishingDate (role 01), Language (role 01, ISO 639-2/B and /T
codes), Extent (types 00 and 11, pages), Price (type 02 in EUR, with the
currency from the header's DefaultCurrencyCode on some; GBP prices beside),
SupplyDetail/Stock/OnHand, Publisher/PublisherName, TextContent type 03 (plain
and XHTML), and the Header.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

# Reference name → short tag, from the ONIX for Books 3.0 specification (typed here on its own,
# not imported from the importer, so a wrong tag in either place fails the tests).
SHORT = {
    "ONIXMessage": "ONIXmessage",
    "Header": "header",
    "Sender": "sender",
    "SenderName": "x298",
    "ContactName": "x299",
    "SentDateTime": "x307",
    "DefaultLanguageOfText": "m184",
    "DefaultCurrencyCode": "m186",
    "Product": "product",
    "RecordReference": "a001",
    "NotificationType": "a002",
    "RecordSourceType": "a194",
    "ProductIdentifier": "productidentifier",
    "ProductIDType": "b221",
    "IDValue": "b244",
    "DescriptiveDetail": "descriptivedetail",
    "ProductComposition": "x314",
    "ProductForm": "b012",
    "ProductFormDetail": "b333",
    "Collection": "collection",
    "CollectionType": "x329",
    "TitleDetail": "titledetail",
    "TitleType": "b202",
    "TitleElement": "titleelement",
    "TitleElementLevel": "x409",
    "PartNumber": "x410",
    "TitleText": "b203",
    "TitlePrefix": "b030",
    "TitleWithoutPrefix": "b031",
    "Subtitle": "b029",
    "Contributor": "contributor",
    "SequenceNumber": "b034",
    "ContributorRole": "b035",
    "PersonName": "b036",
    "PersonNameInverted": "b037",
    "NamesBeforeKey": "b039",
    "KeyNames": "b040",
    "Language": "language",
    "LanguageRole": "b253",
    "LanguageCode": "b252",
    "Extent": "extent",
    "ExtentType": "b218",
    "ExtentValue": "b219",
    "ExtentUnit": "b220",
    "CollateralDetail": "collateraldetail",
    "TextContent": "textcontent",
    "TextType": "x426",
    "ContentAudience": "x427",
    "Text": "d104",
    "PublishingDetail": "publishingdetail",
    "Publisher": "publisher",
    "PublishingRole": "b291",
    "PublisherName": "b081",
    "PublishingStatus": "b394",
    "PublishingDate": "publishingdate",
    "PublishingDateRole": "x448",
    "Date": "b306",
    "ProductSupply": "productsupply",
    "SupplyDetail": "supplydetail",
    "Supplier": "supplier",
    "SupplierRole": "j292",
    "SupplierName": "j137",
    "ProductAvailability": "j396",
    "Stock": "stock",
    "OnHand": "j350",
    "Price": "price",
    "PriceType": "x462",
    "PriceAmount": "j151",
    "CurrencyCode": "j152",
}
NAMESPACES = {"reference": "http://ns.editeur.org/onix/3.0/reference", "short": "http://ns.editeur.org/onix/3.0/short"}

ROLE_CODES = {
    "author": "A01",
    "editor": "B01",
    "translator": "B06",
    "illustrator": "A12",
    "narrator": "E07",
    "foreword": "A23",
}
FORM_CODES = {
    "hardcover": ("BB", ""),
    "paperback": ("BC", ""),
    "mass_market": ("BC", "B104"),
    "board_book": ("BH", ""),
    "audio_cd": ("AC", ""),
}
STATUS_CODES = {"forthcoming": "02", "active": "04", "out_of_print": "07"}
# The store's language → the ISO 639-2 code the feed uses (bibliographic, one terminological).
LANGUAGE_CODES = {
    "en": "eng",
    "fr": "fre",
    "de": "ger",
    "es": "spa",
    "it": "ita",
    "nl": "dut",
    "ja": "jpn",
    "zh": "zho",
}


@dataclass(frozen=True)
class Credit:
    name: str
    role: str
    # How the feed spells the name: "person" (PersonName), "inverted" (PersonNameInverted) or "key" (NamesBeforeKey + KeyNames).
    spelling: str = "person"


@dataclass(frozen=True)
class FeedProduct:
    """One product of the feed, as the store must hold it after the import."""

    record: str
    isbn: str
    title: str
    subtitle: str
    credits: tuple[Credit, ...]
    series: str | None
    series_number: int | None
    format: str
    publication_status: str
    published_date: str
    language: str
    page_count: int
    price: str
    stock: int
    publisher: str
    description: str
    title_prefix: str = ""  # written as TitlePrefix + TitleWithoutPrefix
    xhtml: bool = False  # description written as XHTML (textformat 05)
    price_in_header_currency: bool = False  # Price without CurrencyCode: the header's DefaultCurrencyCode applies
    extent_type: str = "00"
    gbp_price: str = ""  # a second price the store does not use (reported)
    reversed_sequence: bool = False  # contributors written in reverse document order, ordered by SequenceNumber


FIRST = ["Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Lucia"]
LAST = ["Moreau", "Okafor", "Silva", "Tanaka", "Novak", "Berg", "Quinn", "Rossi", "Haddad", "Walsh", "Kowal"]
NOUNS = ["River", "Garden", "Lantern", "Harbour", "Orchard", "Mirror", "Bridge", "Compass", "Archive", "Meadow"]
ADJECTIVES = ["Silent", "Northern", "Hidden", "Last", "Golden", "Distant", "Winter", "Painted", "Broken", "Quiet"]
SERIES = ["The Lantern Cycle", "Harbour Mysteries", "Tales of the Orchard", "Northern Skies"]
PUBLISHERS = ["Editions du Port", "Greenleaf Press", "Kestrel Books", "Verlag am Fluss"]


def _isbn(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _products() -> list[FeedProduct]:
    rng = random.Random(14)
    products = []
    formats = list(FORM_CODES)
    languages = list(LANGUAGE_CODES)
    for n in range(60):
        author = _name(rng)
        credits = [Credit(author, "author", ("person", "inverted", "key")[n % 3])]
        if n % 4 == 0:
            credits.append(Credit(_name(rng) + " Jr", "author", "key"))
        # Each of the other roles on a share of the products; all six roles appear many times.
        for offset, role in enumerate(("editor", "translator", "illustrator", "narrator", "foreword")):
            if n % 5 == offset:
                credits.append(Credit(f"{rng.choice(FIRST)} {rng.choice(LAST)}-{role[:3].title()}", role))
        if n % 9 == 0:
            credits.append(Credit(author, "illustrator", credits[0].spelling))  # the author also illustrates
        status = "forthcoming" if n % 10 == 3 else "out_of_print" if n % 10 == 7 else "active"
        year = 2031 if status == "forthcoming" else 1990 + n % 35
        in_series = n % 3 != 1
        adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
        products.append(
            FeedProduct(
                record=f"com.greenleaf.{n:04d}",
                isbn=_isbn(100200 + n),
                title=f"The {adjective} {noun}" if n % 6 == 0 else f"{adjective} {noun} {n}",
                title_prefix="The" if n % 6 == 0 else "",
                subtitle=f"A novel in {n % 7 + 2} parts" if n % 2 == 0 else "",
                credits=tuple(credits),
                series=SERIES[n % len(SERIES)] if in_series else None,
                series_number=(n // 4 + 1) if in_series else None,
                format=formats[n % len(formats)],
                publication_status=status,
                published_date=f"{year}-{n % 12 + 1:02d}-{n % 27 + 1:02d}",
                language=languages[n % len(languages)],
                page_count=96 + n * 7,
                price=f"{8 + n % 30}.{('00', '50', '99')[n % 3]}",
                stock=0 if status == "forthcoming" else (n * 13) % 120,
                publisher=PUBLISHERS[n % len(PUBLISHERS)],
                description=f"Book {n}: by the {noun.lower()}, a story of {adjective.lower()} days & long nights.",
                xhtml=n % 5 == 2,
                price_in_header_currency=n % 8 == 5,
                extent_type="11" if n % 7 == 4 else "00",
                gbp_price=f"{6 + n % 20}.99" if n % 6 == 1 else "",
                reversed_sequence=n % 4 == 0,
            )
        )
    return products


PRODUCTS: list[FeedProduct] = _products()


class _Writer:
    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.lines: list[str] = []
        self.depth = 0

    def tag(self, name: str) -> str:
        return SHORT[name] if self.flavour == "short" else name

    def leaf(self, name: str, value: object, attributes: str = "") -> None:
        tag = self.tag(name)
        self.lines.append(f"{'  ' * self.depth}<{tag}{attributes}>{escape(str(value))}</{tag}>")

    def raw(self, name: str, markup: str, attributes: str = "") -> None:
        tag = self.tag(name)
        self.lines.append(f"{'  ' * self.depth}<{tag}{attributes}>{markup}</{tag}>")

    def open(self, name: str, attributes: str = "") -> None:
        self.lines.append(f"{'  ' * self.depth}<{self.tag(name)}{attributes}>")
        self.depth += 1

    def close(self, name: str) -> None:
        self.depth -= 1
        self.lines.append(f"{'  ' * self.depth}</{self.tag(name)}>")


def _contributor(out: _Writer, credit: Credit, sequence: int) -> None:
    out.open("Contributor")
    out.leaf("SequenceNumber", sequence)
    out.leaf("ContributorRole", ROLE_CODES[credit.role])
    first, _, last = credit.name.partition(" ")
    if credit.spelling == "person":
        out.leaf("PersonName", credit.name)
    elif credit.spelling == "inverted":
        out.leaf("PersonNameInverted", f"{last}, {first}")
    else:
        out.leaf("NamesBeforeKey", first)
        out.leaf("KeyNames", last)
    out.close("Contributor")


def _product(out: _Writer, product: FeedProduct, n: int) -> None:
    out.open("Product")
    out.leaf("RecordReference", product.record)
    out.leaf("NotificationType", "03")
    out.leaf("RecordSourceType", "01")
    out.open("ProductIdentifier")
    out.leaf("ProductIDType", "03")  # GTIN-13: same digits, not what the store reads
    out.leaf("IDValue", product.isbn)
    out.close("ProductIdentifier")
    out.open("ProductIdentifier")
    out.leaf("ProductIDType", "15")
    out.leaf("IDValue", product.isbn)
    out.close("ProductIdentifier")

    out.open("DescriptiveDetail")
    out.leaf("ProductComposition", "00")
    form, detail = FORM_CODES[product.format]
    out.leaf("ProductForm", form)
    if detail:
        out.leaf("ProductFormDetail", detail)
    if product.series:
        out.open("Collection")
        out.leaf("CollectionType", "10")
        out.open("TitleDetail")
        out.leaf("TitleType", "01")
        out.open("TitleElement")
        out.leaf("TitleElementLevel", "02")
        out.leaf("PartNumber", product.series_number)
        out.leaf("TitleText", product.series)
        out.close("TitleElement")
        out.close("TitleDetail")
        out.close("Collection")
    out.open("TitleDetail")
    out.leaf("TitleType", "01")
    out.open("TitleElement")
    out.leaf("TitleElementLevel", "01")
    if product.title_prefix:
        out.leaf("TitlePrefix", product.title_prefix)
        out.leaf("TitleWithoutPrefix", product.title.removeprefix(product.title_prefix + " "))
    else:
        out.leaf("TitleText", product.title)
    if product.subtitle:
        out.leaf("Subtitle", product.subtitle)
    out.close("TitleElement")
    out.close("TitleDetail")
    numbered = list(enumerate(product.credits, start=1))
    for sequence, credit in reversed(numbered) if product.reversed_sequence else numbered:
        _contributor(out, credit, sequence)
    out.open("Language")
    out.leaf("LanguageRole", "01")
    out.leaf("LanguageCode", LANGUAGE_CODES[product.language])
    out.close("Language")
    out.open("Extent")
    out.leaf("ExtentType", product.extent_type)
    out.leaf("ExtentValue", product.page_count)
    out.leaf("ExtentUnit", "03")
    out.close("Extent")
    out.close("DescriptiveDetail")

    out.open("CollateralDetail")
    out.open("TextContent")
    out.leaf("TextType", "03")
    out.leaf("ContentAudience", "00")
    if product.xhtml:
        first, _, rest = product.description.partition(": ")
        markup = f"<p>{escape(first)}: <em>{escape(rest)}</em></p>"
        out.raw("Text", markup, ' textformat="05"')
    else:
        out.leaf("Text", product.description)
    out.close("TextContent")
    out.close("CollateralDetail")

    out.open("PublishingDetail")
    out.open("Publisher")
    out.leaf("PublishingRole", "01")
    out.leaf("PublisherName", product.publisher)
    out.close("Publisher")
    out.leaf("PublishingStatus", STATUS_CODES[product.publication_status])
    out.open("PublishingDate")
    out.leaf("PublishingDateRole", "01")
    out.leaf("Date", product.published_date.replace("-", ""), ' dateformat="00"' if n % 2 else "")
    out.close("PublishingDate")
    out.close("PublishingDetail")

    out.open("ProductSupply")
    out.open("SupplyDetail")
    out.open("Supplier")
    out.leaf("SupplierRole", "01")
    out.leaf("SupplierName", product.publisher)
    out.close("Supplier")
    out.leaf("ProductAvailability", "10" if product.publication_status == "forthcoming" else "21")
    out.open("Stock")
    out.leaf("OnHand", product.stock)
    out.close("Stock")
    out.open("Price")
    out.leaf("PriceType", "02")
    out.leaf("PriceAmount", product.price)
    if not product.price_in_header_currency:
        out.leaf("CurrencyCode", "EUR")
    out.close("Price")
    if product.gbp_price:
        out.open("Price")
        out.leaf("PriceType", "02")
        out.leaf("PriceAmount", product.gbp_price)
        out.leaf("CurrencyCode", "GBP")
        out.close("Price")
    out.close("SupplyDetail")
    out.close("ProductSupply")
    out.close("Product")


def feed(flavour: str, products: list[FeedProduct] = PRODUCTS) -> str:
    """The ONIX 3.0 message of ``products`` in ``reference`` or ``short`` tags."""
    out = _Writer(flavour)
    out.lines.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.open("ONIXMessage", f' release="3.0" xmlns="{NAMESPACES[flavour]}"')
    out.open("Header")
    out.open("Sender")
    out.leaf("SenderName", "Greenleaf Press")
    out.leaf("ContactName", "Metadata desk")
    out.close("Sender")
    out.leaf("SentDateTime", "20261130T0900Z")
    out.leaf("DefaultLanguageOfText", "eng")
    out.leaf("DefaultCurrencyCode", "EUR")
    out.close("Header")
    for n, product in enumerate(products):
        _product(out, product, n)
    out.close("ONIXMessage")
    return "\n".join(out.lines) + "\n"


def feed_path(flavour: str) -> Path:
    return HERE / f"feed-{flavour}.xml"


if __name__ == "__main__":
    for flavour in ("reference", "short"):
        feed_path(flavour).write_text(feed(flavour), encoding="utf-8")
