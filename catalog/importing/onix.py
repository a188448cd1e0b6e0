"""ONIX for Books 3.0: a streaming reader of product records, in reference or short tags.

Pure module (no models). ``read_onix`` turns the bytes of an ONIX message into
one ``OnixProduct`` per ``<Product>`` (``<product>`` in short tags), in file
order, holding the book fields the product carries in the store's terms. The
message is parsed incrementally and each product is dropped once read, so a
feed of any size is read in constant memory.

Feeds come from outside, so the parser is locked down: entities are never
expanded (no entity-expansion bombs), no DTD or external entity is loaded
(no XXE, no network), libxml2's size limits stay on (``huge_tree`` off), and a
message that declares entities is refused outright.

Only the composites listed in ``docs/commands.md`` are read. A value the store
has no place for (an ebook's ProductForm, a price in another currency, a
publishing status the store does not know) is reported as a notice on the
product and left out, never guessed; a product that lacks what every book
needs (ISBN-13, title, a price in the store currency) is rejected.

lxml (about 4 MiB per process) is imported by the functions that parse, not
with the module, so a web worker that never imports a feed does not carry it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any

from catalog.importing.records import ImportFormatError
from catalog.languages import LANGUAGE_BY_ISO_639_2

REFERENCE_NAMESPACE = "http://ns.editeur.org/onix/3.0/reference"
SHORT_NAMESPACE = "http://ns.editeur.org/onix/3.0/short"
_NAMESPACES = (
    REFERENCE_NAMESPACE,
    SHORT_NAMESPACE,
    "http://ns.editeur.org/onix/3.1/reference",
    "http://ns.editeur.org/onix/3.1/short",
)

#: Every element the reader looks at: reference name → short tag (ONIX 3.0 specification).
SHORT_TAGS: dict[str, str] = {
    "ONIXMessage": "ONIXmessage",
    "Header": "header",
    "Sender": "sender",
    "SenderName": "x298",
    "SentDateTime": "x307",
    "DefaultLanguageOfText": "m184",
    "DefaultPriceType": "x310",
    "DefaultCurrencyCode": "m186",
    "Product": "product",
    "RecordReference": "a001",
    "NotificationType": "a002",
    "DeletionText": "a199",
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
    "CorporateName": "b047",
    "NoContributor": "n339",
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
    "ProductAvailability": "j396",
    "Stock": "stock",
    "OnHand": "j350",
    "Price": "price",
    "PriceType": "x462",
    "PriceAmount": "j151",
    "CurrencyCode": "j152",
}


def _clark_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for reference, short in SHORT_TAGS.items():
        for local in (reference, short):
            names[local] = reference
            for namespace in _NAMESPACES:
                names[f"{{{namespace}}}{local}"] = reference
    return names


#: Tag as lxml reports it (``{namespace}local`` or ``local``) → reference name.
_NAMES = _clark_names()

# --- code lists (ONIX for Books code lists, issue 70 and later) ---------------------------------

#: List 5: product identifier type 15 is ISBN-13.
ISBN13_TYPE = "15"
#: List 17: contributor role → the store's role.
CONTRIBUTOR_ROLES: dict[str, str] = {
    "A01": "author",
    "B01": "editor",
    "B06": "translator",
    "A12": "illustrator",
    "E07": "narrator",
    "A23": "foreword",
}
#: List 150: product form → the store's format (list 175 detail B104: mass-market paperback).
PRODUCT_FORMS: dict[str, str] = {
    "BB": "hardcover",
    "BC": "paperback",
    "BH": "board_book",
    "AC": "audio_cd",
}
MASS_MARKET_DETAIL = "B104"
#: List 64: publishing status → the store's publication status.
PUBLISHING_STATUSES: dict[str, str] = {"02": "forthcoming", "04": "active", "07": "out_of_print"}
#: List 1: notification types the store applies (01 early, 02 advance, 03 confirmed, 04 block update).
APPLIED_NOTIFICATIONS = frozenset({"01", "02", "03", "04"})
DELETE_NOTIFICATION = "05"
#: List 58: price type 02 is the recommended retail price including tax, what the store charges.
STORE_PRICE_TYPE = "02"
#: List 23 extent types read as the page count (00 main content, 11 content), list 24 unit 03 pages.
PAGE_EXTENT_TYPES = ("00", "11")
PAGES_UNIT = "03"
#: List 153: text type 03 is the description.
DESCRIPTION_TEXT_TYPE = "03"
#: List 148: collection type 10 is a publisher collection (a series).
SERIES_COLLECTION_TYPE = "10"
#: List 149: title element levels 01 (the product) and 02 (its collection).
PRODUCT_LEVEL, COLLECTION_LEVEL = "01", "02"
#: List 163: publishing date role 01 is the publication date.
PUBLICATION_DATE_ROLE = "01"
#: List 22: language role 01 is the language of the text.
TEXT_LANGUAGE_ROLE = "01"
#: List 45: publishing role 01 is the publisher.
PUBLISHER_ROLE = "01"


@dataclass(slots=True)
class OnixHeader:
    """What the message header says about every product: defaults for prices, and who sent it."""

    sender: str = ""
    sent: str = ""
    default_currency: str = ""
    default_price_type: str = ""


@dataclass(slots=True)
class OnixProduct:
    """One ``<Product>``: the book fields it carries, and what was left out (``notices``) or is wrong (``errors``).

    ``values`` uses the store's field names and vocabulary (``format``:
    ``paperback``; ``language``: ``fr``); ``credits`` lists ``(name, role)``
    in cover order. ``applied`` is false for a notification the store does not
    apply (a deletion): such a product is reported and skipped.
    """

    line: int
    record_reference: str = ""
    notification_type: str = ""
    isbn: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    credits: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    applied: bool = True


# --- element helpers ----------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


class _Tags:
    """The tags of one message's flavour (reference or short names, its namespace), by reference name.

    A message uses one flavour throughout, so each lookup is a single C-level
    ``find`` / ``iterchildren`` on the exact tag.
    """

    def __init__(self, root_tag: str) -> None:
        namespace, _, local = root_tag.rpartition("}")
        prefix = namespace + "}" if namespace else ""
        short = local == SHORT_TAGS["ONIXMessage"]
        self.tag = {name: prefix + (short_tag if short else name) for name, short_tag in SHORT_TAGS.items()}


class _HtmlText(HTMLParser):
    """The text of an HTML fragment, a blank line between paragraphs."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _paragraphs(text: str) -> str:
    return "\n\n".join(filter(None, (_clean(part) for part in text.split("\n"))))


def _html_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return _paragraphs(html.unescape("".join(parser.parts)))


def _text_content(element: Any) -> str:
    """A ``<Text>``: plain text, XHTML children (textformat 05) or escaped HTML (02), as plain paragraphs."""
    if len(element):
        from lxml import etree

        markup = etree.tostring(element, encoding="unicode", with_tail=False)
        return _html_text(re.sub(r"<(/?)[^>\s:]+:", r"<\1", markup))
    text = element.text or ""
    if element.get("textformat") in ("02", "03", "05") or "<" in text:
        return _html_text(text)
    return _paragraphs(text)


# --- one product -------------------------------------------------------------------------------


def _onix_date(element: Any) -> date | None:
    """A ``<Date>`` in ONIX's default format YYYYMMDD (or YYYY-MM-DD); ``None`` for a partial or other date."""
    value = _clean(element.text)
    fmt = element.get("dateformat", "00")
    match = _DATE_RE.fullmatch(value)
    if fmt != "00" or not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_DATE_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


class _Reader:
    """Reads one product's composites into an ``OnixProduct``."""

    def __init__(self, product: OnixProduct, header: OnixHeader, currency: str, tags: _Tags) -> None:
        self.product = product
        self.header = header
        self.currency = currency
        self.tag = tags.tag
        self.series_from_title: tuple[str, str] | None = None
        # Each composite's children grouped by tag, built in one pass the first time it is looked at:
        # lxml makes a Python object per child visited, so every child is visited once per product.
        self._children: dict[Any, dict[str, list[Any]]] = {}

    def note(self, text: str) -> None:
        self.product.notices.append(text)

    def error(self, text: str) -> None:
        self.product.errors.append(text)

    def children(self, element: Any) -> dict[str, list[Any]]:
        groups = self._children.get(element)
        if groups is None:
            groups = {}
            for child in element:
                found = groups.get(child.tag)
                if found is None:
                    groups[child.tag] = [child]
                else:
                    found.append(child)
            self._children[element] = groups
        return groups

    def text(self, element: Any, name: str) -> str:
        """The text of ``element``'s first ``name`` child, whitespace normalised ("" when absent)."""
        found = self.children(element).get(self.tag[name])
        return _clean(found[0].text) if found else ""

    def has(self, element: Any, name: str) -> bool:
        return self.tag[name] in self.children(element)

    def each(self, element: Any, name: str) -> list[Any]:
        return self.children(element).get(self.tag[name], [])

    def read(self, element: Any) -> None:
        product = self.product
        product.record_reference = self.text(element, "RecordReference")
        product.notification_type = self.text(element, "NotificationType")
        for identifier in self.each(element, "ProductIdentifier"):
            if self.text(identifier, "ProductIDType") == ISBN13_TYPE:
                product.isbn = self.text(identifier, "IDValue")
                break
        for name, read in (
            ("DescriptiveDetail", self.descriptive_detail),
            ("CollateralDetail", self.collateral_detail),
            ("PublishingDetail", self.publishing_detail),
            ("ProductSupply", self.product_supply),
        ):
            for block in self.each(element, name)[:1]:
                read(block)
        if not product.isbn:
            self.error("isbn: no ProductIdentifier of ProductIDType 15 (ISBN-13)")
        notification = product.notification_type
        if notification == DELETE_NOTIFICATION:
            product.applied = False
            self.note(
                "NotificationType 05 (delete) is not applied: the store keeps the book (deactivate it in the admin)"
            )
        elif notification not in APPLIED_NOTIFICATIONS:
            product.applied = False
            self.note(f"NotificationType {notification or '(missing)'} is not a product record the store applies")
        if "series" not in product.values and self.series_from_title:
            self.series(*self.series_from_title)
        if product.values.get("publication_status") != "forthcoming":
            product.values.pop("release_date", None)
        elif "release_date" not in product.values:
            self.error("release_date: a forthcoming product (PublishingStatus 02) needs its PublishingDate of role 01")

    # DescriptiveDetail ---------------------------------------------------------------------------

    def descriptive_detail(self, element: Any) -> None:
        for collection in self.each(element, "Collection"):
            self.collection(collection)
        for title_detail in self.each(element, "TitleDetail"):
            self.title_detail(title_detail)
        credits: list[tuple[int, int, str, str]] = []
        for index, contributor in enumerate(self.each(element, "Contributor")):
            credits += self.contributor(contributor, index)
        for language in self.each(element, "Language"):
            self.language(language)
        for extent in self.each(element, "Extent"):
            self.extent(extent)
        form = self.text(element, "ProductForm")
        if form:
            store_format = PRODUCT_FORMS.get(form)
            details = [_clean(detail.text) for detail in self.each(element, "ProductFormDetail")]
            if store_format == "paperback" and MASS_MARKET_DETAIL in details:
                store_format = "mass_market"
            if store_format is None:
                self.note(f"ProductForm {form} is not one of the store's formats; format left out")
            else:
                self.product.values["format"] = store_format
        credits.sort()
        seen: set[tuple[str, str]] = set()
        for _, _, person, role in credits:
            if (person, role) not in seen:
                seen.add((person, role))
                self.product.credits.append((person, role))

    def title_text(self, title_element: Any) -> str:
        return self.text(title_element, "TitleText") or " ".join(
            filter(None, (self.text(title_element, "TitlePrefix"), self.text(title_element, "TitleWithoutPrefix")))
        )

    def title_detail(self, element: Any) -> None:
        if (self.text(element, "TitleType") or "01") != "01":
            return  # other title types (abbreviated, original-language titles) do not name the edition
        for title_element in self.each(element, "TitleElement"):
            level = self.text(title_element, "TitleElementLevel") or PRODUCT_LEVEL
            text = self.title_text(title_element)
            if level == PRODUCT_LEVEL:
                if text:
                    self.product.values["title"] = text
                if self.has(title_element, "Subtitle"):
                    self.product.values["subtitle"] = self.text(title_element, "Subtitle")
            elif level == COLLECTION_LEVEL and text:
                self.series_from_title = (text, self.text(title_element, "PartNumber"))

    def collection(self, element: Any) -> None:
        kind = self.text(element, "CollectionType")
        if kind != SERIES_COLLECTION_TYPE:
            self.note(f"Collection of CollectionType {kind or '(missing)'} is not a publisher series; left out")
            return
        if "series" in self.product.values:
            self.note("a second Collection of CollectionType 10; only the first is the book's series")
            return
        name, number = "", ""
        for title_detail in self.each(element, "TitleDetail"):
            for title_element in self.each(title_detail, "TitleElement"):
                name = name or self.title_text(title_element)
                number = number or self.text(title_element, "PartNumber")
        if not name:
            self.note("Collection of CollectionType 10 without a TitleText; series left out")
            return
        self.series(name, number)

    def series(self, name: str, number: str) -> None:
        self.product.values["series"] = name
        if not number:
            return
        if number.isdigit():
            self.product.values["series_number"] = int(number)
        else:
            self.note(f"PartNumber {number!r} is not a whole number; series number left out")

    def person(self, element: Any) -> str:
        name = self.text(element, "PersonName")
        if name:
            return name
        key = self.text(element, "KeyNames")
        if key:
            return " ".join(filter(None, (self.text(element, "NamesBeforeKey"), key)))
        inverted = self.text(element, "PersonNameInverted")
        if inverted:
            key, _, before = inverted.partition(",")
            return _clean(f"{before} {key}")
        return self.text(element, "CorporateName")

    def contributor(self, element: Any, index: int) -> list[tuple[int, int, str, str]]:
        person = self.person(element)
        sequence = self.text(element, "SequenceNumber")
        order = int(sequence) if sequence.isdigit() else 1_000_000 + index
        if not person:
            self.note("a Contributor without PersonName, KeyNames, PersonNameInverted or CorporateName; left out")
            return []
        credits = []
        for role_element in self.each(element, "ContributorRole"):
            code = _clean(role_element.text)
            role = CONTRIBUTOR_ROLES.get(code)
            if role is None:
                self.note(f"ContributorRole {code or '(missing)'} of {person!r} is not a store role; credit left out")
            else:
                credits.append((order, index, person, role))
        return credits

    def language(self, element: Any) -> None:
        role, code = self.text(element, "LanguageRole"), self.text(element, "LanguageCode").lower()
        if role != TEXT_LANGUAGE_ROLE:
            self.note(f"Language of LanguageRole {role or '(missing)'} ({code}) is not the language of the text")
            return
        if "language" in self.product.values:
            return
        store_code = LANGUAGE_BY_ISO_639_2.get(code)
        if store_code is None:
            self.note(f"LanguageCode {code!r} has no ISO 639-1 code in the store; language left out")
        else:
            self.product.values["language"] = store_code

    def extent(self, element: Any) -> None:
        kind, unit = self.text(element, "ExtentType"), self.text(element, "ExtentUnit")
        if kind not in PAGE_EXTENT_TYPES or unit != PAGES_UNIT:
            self.note(f"Extent of ExtentType {kind} in ExtentUnit {unit} is not a page count; left out")
            return
        # Type 00 (main content) wins over 11 (content page count) whichever comes first.
        if kind == "00" or "page_count" not in self.product.values:
            self.product.values["page_count"] = self.text(element, "ExtentValue")

    # CollateralDetail, PublishingDetail, ProductSupply ------------------------------------------

    def collateral_detail(self, element: Any) -> None:
        for content in self.each(element, "TextContent"):
            kind = self.text(content, "TextType")
            if kind != DESCRIPTION_TEXT_TYPE:
                self.note(f"TextContent of TextType {kind or '(missing)'} is not the description; left out")
                continue
            for text in self.each(content, "Text")[:1]:
                if "description" not in self.product.values:
                    self.product.values["description"] = _text_content(text)

    def publishing_detail(self, element: Any) -> None:
        values = self.product.values
        for publisher in self.each(element, "Publisher"):
            role = self.text(publisher, "PublishingRole") or PUBLISHER_ROLE
            if role == PUBLISHER_ROLE and "publisher" not in values:
                values["publisher"] = self.text(publisher, "PublisherName")
        if self.has(element, "PublishingStatus"):
            code = self.text(element, "PublishingStatus")
            status = PUBLISHING_STATUSES.get(code)
            if status is None:
                self.note(f"PublishingStatus {code} is not a store publication status; left out")
            else:
                values["publication_status"] = status
        for publishing_date in self.each(element, "PublishingDate"):
            self.publishing_date(publishing_date)

    def publishing_date(self, element: Any) -> None:
        role = self.text(element, "PublishingDateRole")
        if role != PUBLICATION_DATE_ROLE:
            self.note(f"PublishingDate of role {role or '(missing)'} is not the publication date; left out")
            return
        dates = self.each(element, "Date")
        if not dates:
            return
        date_element = dates[0]
        when = _onix_date(date_element)
        if when is None:
            raw = _clean(date_element.text)
            self.note(f"Date {raw!r} (dateformat {date_element.get('dateformat', '00')}) is not a full date; left out")
            return
        self.product.values["published_date"] = when.isoformat()
        self.product.values["release_date"] = when.isoformat()

    def product_supply(self, element: Any) -> None:
        for supply_detail in self.each(element, "SupplyDetail"):
            self.supply_detail(supply_detail)

    def supply_detail(self, element: Any) -> None:
        values = self.product.values
        chosen = False
        for price in self.each(element, "Price"):
            kind = self.text(price, "PriceType") or self.header.default_price_type
            currency = self.text(price, "CurrencyCode") or self.header.default_currency
            amount = self.text(price, "PriceAmount")
            if kind == STORE_PRICE_TYPE and currency == self.currency and "price" not in values:
                values["price"] = amount
                chosen = True
            else:
                self.note(f"Price {amount} {currency or '(no currency)'} of PriceType {kind or '(missing)'} not used")
        on_hand = [_clean(count.text) for stock in self.each(element, "Stock") for count in self.each(stock, "OnHand")]
        if chosen and on_hand:
            if all(count.lstrip("-").isdigit() for count in on_hand):
                values["stock"] = str(sum(int(count) for count in on_hand))
            else:
                values["stock"] = on_hand[0]  # the validator names what is wrong with it
        elif on_hand and not chosen:
            self.note("Stock of a SupplyDetail without the store's price not used")


# --- the message -------------------------------------------------------------------------------


def _check_root(root: Any) -> None:
    name = _NAMES.get(root.tag)
    if name != "ONIXMessage":
        from lxml import etree

        raise ImportFormatError(
            f"line {root.sourceline}: the root element is <{etree.QName(root).localname}>, "
            "not an ONIX for Books message (<ONIXMessage> or <ONIXmessage>)"
        )
    release = root.get("release", "")
    if not release.startswith("3."):
        raise ImportFormatError(f"line {root.sourceline}: ONIX release {release or '(missing)'}; only 3.0 is read")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ImportFormatError("the message declares XML entities (<!ENTITY>); an ONIX feed needs none, refused")


def _header(element: Any, tags: _Tags) -> OnixHeader:
    tag = tags.tag
    header = OnixHeader()
    sender = element.find(tag["Sender"])
    if sender is not None:
        header.sender = _clean(sender.findtext(tag["SenderName"]))
    header.sent = _clean(element.findtext(tag["SentDateTime"]))
    header.default_currency = _clean(element.findtext(tag["DefaultCurrencyCode"]))
    header.default_price_type = _clean(element.findtext(tag["DefaultPriceType"]))
    return header


#: The elements the parser reports: only the message, its header and its products (any flavour).
_EVENT_TAGS = sorted(tag for tag, name in _NAMES.items() if name in ("ONIXMessage", "Header", "Product"))


def _parser() -> Any:
    from lxml import etree

    return etree.XMLPullParser(
        events=("start", "end"),
        tag=_EVENT_TAGS,
        resolve_entities=False,  # entity references stay references: no expansion bombs, no external files
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,  # keep libxml2's limits on text size and nesting depth
        remove_comments=True,
        remove_pis=True,
    )


def read_onix(chunks: Iterable[bytes], *, currency: str) -> Iterator[OnixProduct]:
    """The products of an ONIX 3.0 message, one at a time, from its bytes in chunks of any size.

    ``currency``: the store's currency; a product's price is its PriceType 02
    (including tax) price in that currency. Raises ``ImportFormatError`` for a
    message that cannot be read (not XML, not ONIX 3.0, declared entities).
    """
    from lxml import etree

    parser = _parser()
    header = OnixHeader()
    root: Any = None
    tags: _Tags | None = None
    seen_text = False

    def unreadable(exc: etree.XMLSyntaxError) -> ImportFormatError:
        if root is None and not seen_text:
            return ImportFormatError("the file is empty: an ONIX message starts with <ONIXMessage>")
        return ImportFormatError(f"line {exc.lineno}: not well-formed XML: {exc.msg}")

    for final, chunk in _with_end(chunks):
        try:
            if chunk:
                seen_text = seen_text or bool(chunk.strip())
                parser.feed(chunk)
            document = parser.close() if final else None
            found = list(parser.read_events())
        except etree.XMLSyntaxError as exc:
            raise unreadable(exc) from exc
        if final and root is None:
            if document is None:
                raise ImportFormatError("the file is empty: an ONIX message starts with <ONIXMessage>")
            _check_root(document)  # not an ONIX message: the parser reported none of its elements
        for event, element in found:
            if root is None:
                root = element
                _check_root(root)
                tags = _Tags(root.tag)
                continue
            if event == "start" or element.getparent() is not root or tags is None:
                continue
            name = _NAMES[element.tag]
            if name == "Header":
                header = _header(element, tags)
            elif name == "Product":
                product = OnixProduct(line=element.sourceline or 0)
                _Reader(product, header, currency, tags).read(element)
                yield product
            # Drop what has been read: the tree never holds more than one product.
            element.clear()
            while element.getprevious() is not None:
                del root[0]


def _with_end(chunks: Iterable[bytes]) -> Iterator[tuple[bool, bytes]]:
    """Each chunk with a flag that is true only after the last, so the parser is closed exactly once."""
    for chunk in chunks:
        yield False, chunk
    yield True, b""
