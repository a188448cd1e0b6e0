"""Book covers: checking an upload, storing it, making its WebP thumbnails, drawing demo covers.

An upload is accepted only when Pillow, reading the bytes (never the file
name or the declared content type), finds a JPEG, PNG or WebP image of at
most ``MAX_BYTES`` and ``MAX_PIXELS`` that decodes completely and has no
bytes after the image's own end (a polyglot: a ZIP, JAR, script or HTML page
appended to a valid image). The pixel count is checked from the header,
before any pixel is decoded, so a decompression bomb never reaches memory.

What is stored is never the upload itself: the pixels are re-encoded (EXIF
orientation applied, then every metadata chunk, comment and profile left
behind) under a random name, ``covers/<token>/original.<ext>``. The
thumbnails (``small``/``medium``/``large``: 160, 320 and 640 px wide WebP)
are made after the commit by the ``catalog.cover_thumbnails`` task and land
beside it. Files are written and deleted through Django's storage API
(``STORAGES["default"]``: the filesystem under ``MEDIA_ROOT`` or S3), and
deleted only once the transaction that dropped them has committed.

Pillow (about 5 MiB per process) is imported by the functions that read or
draw images, not with this module: a web worker serving the catalog only
builds cover URLs here.
"""

from __future__ import annotations

import functools
import io
import logging
import secrets
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

from celery import current_app
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from catalog import readcache
from catalog.exceptions import CoverInvalid
from catalog.models import Book, BookCover

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
#: The longer side may be at most this many times the shorter one (a 160 px wide thumbnail stays bounded).
MAX_ASPECT = 4
#: Thumbnail size names and their widths in pixels.
WIDTHS: dict[str, int] = {"small": 160, "medium": 320, "large": 640}
THUMBNAIL_QUALITY = 80
THUMBNAIL_TASK = "catalog.cover_thumbnails"
#: How long a new cover may wait for its thumbnails before the sweep queues the task again.
SWEEP_GRACE = timedelta(minutes=2)

#: Pillow format name → the stored original's extension.
FORMATS: dict[str, str] = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pillow_limited() -> None:
    """Pillow refuses (DecompressionBombError) anything over twice ``MAX_PIXELS`` and warns over it;
    ``image_check`` turns the warning into a refusal too. Called before an image is opened."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def storage() -> Any:
    """The storage covers live in (looked up on each use, so a settings change in tests takes effect)."""
    return storages["default"]


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An accepted upload, re-encoded: ``content`` holds no byte of metadata from the upload."""

    content: bytes
    extension: str
    width: int
    height: int


def _image_end(data: bytes, image_format: str) -> int:
    """Where the image's own bytes end, by its container's structure (for the trailing-data check)."""
    if image_format == "PNG":
        offset = len(_PNG_SIGNATURE)
        while offset + 12 <= len(data):
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            chunk_type = data[offset + 4 : offset + 8]
            offset += 12 + length
            if chunk_type == b"IEND":
                return offset
        raise CoverInvalid("The PNG image has no end (IEND chunk).")
    if image_format == "WEBP":
        # RIFF header: "RIFF", the size of what follows, "WEBP"; chunks are padded to even sizes.
        (size,) = struct.unpack("<I", data[4:8])
        return 8 + size + (size & 1)
    # JPEG: where its End Of Image marker is; a multi-picture JPEG's further pictures
    # follow back to back, each a whole JPEG of its own, and nothing else may.
    end = _jpeg_end(data)
    while image_format == "MPO" and end < len(data) and data[end : end + 3] == b"\xff\xd8\xff":
        end = _jpeg_end(data, end)
    return end


def _jpeg_end(data: bytes, start: int = 0) -> int:
    """The offset just past a JPEG's End Of Image marker, walking its segments and scans.

    Segments carry their length (an EXIF thumbnail's own end marker inside one
    is skipped with it); a scan's entropy-coded data runs to the next marker
    that is not a stuffed byte or a restart marker.
    """
    size = len(data)
    offset = start + 2  # past Start Of Image
    while offset < size:
        if data[offset] != 0xFF:
            raise CoverInvalid("The JPEG image is malformed.")
        while offset < size and data[offset] == 0xFF:  # fill bytes before a marker
            offset += 1
        if offset >= size:
            break
        marker = data[offset]
        offset += 1
        if marker == 0xD9:
            return offset
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        if offset + 2 > size:
            break
        offset += int.from_bytes(data[offset : offset + 2], "big")
        if marker != 0xDA:
            continue
        while True:  # entropy-coded data of a scan
            found = data.find(b"\xff", offset)
            if found < 0 or found + 1 >= size:
                raise CoverInvalid("The JPEG image has no end marker.")
            following = data[found + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                offset = found + 2
            elif following == 0xFF:
                offset = found + 1
            else:
                offset = found
                break
    raise CoverInvalid("The JPEG image has no end marker.")


def image_check(upload: IO[bytes], *, size: int | None = None) -> CheckedImage:
    """Check an uploaded file and return it re-encoded without metadata; ``CoverInvalid`` otherwise."""
    from PIL import Image, ImageOps

    _pillow_limited()
    if size is not None and size > MAX_BYTES:
        raise CoverInvalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CoverInvalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if not data:
        raise CoverInvalid("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            container, width, height = _header(data)
            image_format = "JPEG" if container == "MPO" else container  # MPO: its first picture is kept
            if width * height > MAX_PIXELS:
                raise CoverInvalid(f"The image has more than {MAX_PIXELS // 1_000_000} megapixels.")
            if max(width, height) > MAX_ASPECT * min(width, height):
                raise CoverInvalid(f"One side of the image is more than {MAX_ASPECT} times the other.")
            if _image_end(data, container) != len(data):
                raise CoverInvalid("The file carries data after the end of the image.")
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                image.verify()  # structure and checksums, without decoding
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                image.load()  # every pixel decodes
                upright = ImageOps.exif_transpose(image)
                content = _reencode(upright, image_format)
    except CoverInvalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CoverInvalid(f"The image has more than {MAX_PIXELS // 1_000_000} megapixels.") from exc
    except Exception as exc:  # any decoder failure (truncated, corrupt, unsupported) is a bad upload
        logger.info("cover refused: %s", exc.__class__.__name__)
        raise CoverInvalid("The file is not a valid JPEG, PNG or WebP image.") from exc
    return CheckedImage(content=content, extension=FORMATS[image_format], width=upright.width, height=upright.height)


def _header(data: bytes) -> tuple[str, int, int]:
    """Format and size from the header alone (no pixel decoded); only JPEG, PNG and WebP are tried.

    A camera's multi-picture JPEG (MPO: the photo, then e.g. a depth map) is a
    JPEG; its first picture is the one kept.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            if image.format not in (*FORMATS, "MPO"):
                raise CoverInvalid()
            return str(image.format), image.width, image.height
    except Image.UnidentifiedImageError as exc:
        raise CoverInvalid("The file is not a JPEG, PNG or WebP image.") from exc


def _reencode(image: Image.Image, image_format: str) -> bytes:
    """The pixels alone in ``image_format``: no EXIF, ICC profile, comments or text chunks are written."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image_format == "JPEG":
        pixels = image.convert("L" if image.mode in ("1", "L") else "RGB")
    elif image.mode in ("RGB", "RGBA", "L") and "transparency" not in image.info:
        pixels = image.copy()
    else:
        pixels = image.convert("RGBA" if has_alpha else "RGB")
    pixels.info = {}  # nothing read from the upload is written back
    out = io.BytesIO()
    if image_format == "JPEG":
        pixels.save(out, "JPEG", quality=90)
    elif image_format == "PNG":
        pixels.save(out, "PNG")
    else:
        pixels.save(out, "WEBP", quality=90)
    return out.getvalue()


def thumbnail(image: Image.Image, width: int) -> bytes:
    """``image`` scaled to ``width`` pixels wide (height in proportion), as WebP."""
    from PIL import Image

    height = max(1, round(image.height * width / image.width))
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    scaled = image.convert(mode).resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    scaled.save(out, "WEBP", quality=THUMBNAIL_QUALITY, method=4)
    return out.getvalue()


# --- writes -------------------------------------------------------------------------------


def _delete_files_on_commit(names: Iterable[str]) -> None:
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: files_delete(names), robust=True)


def files_delete(names: Iterable[str]) -> None:
    """Delete stored files; a failure is logged, never raised (an orphaned file is harmless)."""
    store = storage()
    for name in names:
        try:
            store.delete(name)
        except Exception:
            logger.warning("cover file %s could not be deleted", name, exc_info=True)


def thumbnails_dispatch(*, book_id: int, original: str) -> bool:
    """Send the thumbnail task to the broker; False (logged) if it cannot be reached. Never raises."""
    try:
        current_app.send_task(THUMBNAIL_TASK, kwargs={"book_id": book_id, "original": original})
    except Exception:
        logger.warning("cover of book %s: broker unavailable, thumbnails not queued", book_id, exc_info=True)
        return False
    return True


def cover_set(*, book: Book, upload: IO[bytes], size: int | None = None) -> BookCover:
    """Check ``upload`` and make it ``book``'s cover, replacing any other; thumbnails follow after the commit.

    ``CoverInvalid`` (nothing stored) when the upload is not an acceptable image.
    """
    return cover_store(book=book, checked=image_check(upload, size=size))


def cover_store(*, book: Book, checked: CheckedImage) -> BookCover:
    """Store an image ``image_check`` accepted as ``book``'s cover, replacing any other.

    The old cover's files are deleted once the change has committed; the new
    original is deleted again if this transaction fails. The thumbnail task is
    sent after the commit.
    """
    name = storage().save(f"covers/{secrets.token_hex(16)}/original.{checked.extension}", ContentFile(checked.content))
    try:
        with transaction.atomic():
            # The book's row is the lock: two uploads for one book take turns, so neither leaves files behind.
            list(Book.objects.select_for_update().filter(pk=book.pk).values_list("pk", flat=True))
            previous = BookCover.objects.filter(book=book).first()
            old_names = previous.names() if previous else []
            cover, _ = BookCover.objects.update_or_create(
                book=book,
                defaults={
                    "original": name,
                    "width": checked.width,
                    "height": checked.height,
                    "small": "",
                    "medium": "",
                    "large": "",
                },
            )
            _delete_files_on_commit(old_names)
            readcache.books_changed(book_ids=[book.pk])
            transaction.on_commit(lambda: thumbnails_dispatch(book_id=book.pk, original=name), robust=True)
    except BaseException:
        files_delete([name])
        raise
    return cover


def cover_delete(*, book: Book) -> bool:
    """Remove ``book``'s cover (files deleted after the commit); False when it had none."""
    with transaction.atomic():
        cover = BookCover.objects.select_for_update().filter(book=book).first()
        if cover is None:
            return False
        cover.delete()  # the post_delete receiver deletes the files after the commit
        readcache.books_changed(book_ids=[book.pk])
    return True


def cover_deleted(cover: BookCover) -> None:
    """A cover row went away with its book (``post_delete``): its files follow after the commit."""
    _delete_files_on_commit(cover.names())


def thumbnails_make(*, book_id: int, original: str) -> str:
    """Make the three WebP thumbnails of ``original`` and record them; safe to run twice.

    Does nothing when the cover was replaced or removed since (its original is
    no longer ``original``), and deletes what it made if that happens while it
    works. Returns what happened: ``made``, ``done`` or ``stale``.
    """
    cover = BookCover.objects.filter(book_id=book_id, original=original).first()
    if cover is None:
        return "stale"
    if cover.is_ready:
        return "done"
    from PIL import Image

    _pillow_limited()
    store = storage()
    folder = original.rsplit("/", 1)[0]
    made: dict[str, str] = {}
    try:
        with store.open(original, "rb") as handle, Image.open(handle) as image:
            image.load()
            for size, width in WIDTHS.items():
                made[size] = store.save(f"{folder}/{width}.webp", ContentFile(thumbnail(image, width)))
        updated = BookCover.objects.filter(book_id=book_id, original=original, small="").update(**made)
    except BaseException:
        files_delete(made.values())
        raise
    if not updated:
        files_delete(made.values())
        return "stale"
    readcache.books_changed(book_ids=[book_id])
    return "made"


def thumbnails_pending(*, older_than: timedelta = SWEEP_GRACE, limit: int = 100) -> list[tuple[int, str]]:
    """(book id, original) of covers uploaded over ``older_than`` ago and still without thumbnails, oldest first."""
    cutoff = timezone.now() - older_than
    pending = BookCover.objects.filter(small="", uploaded_at__lt=cutoff).order_by("uploaded_at")
    return list(pending.values_list("book_id", "original")[:limit])


# --- reads --------------------------------------------------------------------------------


def cover_urls(book: Book, request: Any = None) -> dict[str, str] | None:
    """``{small, medium, large}`` absolute URLs of the book's thumbnails; None without a cover or while pending.

    Expects ``book.cover`` joined (``select_related("cover")``); a storage
    that answers relative URLs (the filesystem: ``MEDIA_URL``) is made
    absolute with the request's host.
    """
    try:
        cover = book.cover
    except BookCover.DoesNotExist:
        return None
    if cover is None or not cover.is_ready:
        return None
    store = storage()
    urls = {size: store.url(getattr(cover, size)) for size in WIDTHS}
    if request is not None:
        urls = {size: request.build_absolute_uri(url) for size, url in urls.items()}
    return urls


# --- demo covers ----------------------------------------------------------------------------

_PALETTE = (
    ((24, 54, 92), (242, 201, 76)),
    ((122, 30, 44), (250, 236, 210)),
    ((20, 83, 69), (233, 245, 219)),
    ((60, 40, 110), (255, 214, 165)),
    ((200, 90, 40), (255, 250, 240)),
    ((30, 30, 30), (230, 57, 70)),
    ((235, 222, 200), (50, 50, 70)),
    ((70, 130, 180), (255, 255, 255)),
)


def _wrapped(text: str, font: Any, draw: ImageDraw.ImageDraw, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines[:6]


def demo_cover_png(*, title: str, author: str, seed: int) -> bytes:
    """A 400 x 600 PNG cover with the title and author drawn on a colour chosen by ``seed``."""
    from PIL import Image, ImageDraw

    background, ink = _PALETTE[seed % len(_PALETTE)]
    image = Image.new("RGB", (400, 600), background)
    draw = ImageDraw.Draw(image)
    band = tuple(min(255, channel + 40) for channel in background)
    draw.rectangle((0, 380 + (seed % 5) * 20, 400, 440 + (seed % 5) * 20), fill=band)
    draw.rectangle((16, 16, 384, 584), outline=ink, width=3)
    title_font, author_font = _demo_fonts()
    y = 70
    for line in _wrapped(title, title_font, draw, 340):
        draw.text((200, y), line, font=title_font, fill=ink, anchor="ma")
        y += 50
    draw.text((200, 520), author[:40], font=author_font, fill=ink, anchor="ma")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


@functools.cache
def _demo_fonts() -> tuple[Any, Any]:
    """Pillow's built-in scalable font (no system font needed), at the title and author sizes."""
    from PIL import ImageFont

    return ImageFont.load_default(size=40), ImageFont.load_default(size=24)


def demo_covers_write(*, limit: int, seed: int = 0) -> int:
    """Give the first ``limit`` books (in list order) without a cover a drawn one; returns how many.

    Only the originals are drawn here (a few milliseconds each); the thumbnail
    tasks are sent after the commit, so a worker makes them in the background.
    """
    books = list(
        Book.objects.filter(is_active=True, cover__isnull=True)
        .order_by("title", "id")
        .prefetch_related("author_links__author")[:limit]
    )
    for book in books:
        names = [link.author.name for link in book.author_links.all()]
        png = demo_cover_png(title=book.title, author=", ".join(names[:2]), seed=seed + book.pk)
        cover_store(book=book, checked=CheckedImage(content=png, extension="png", width=400, height=600))
    return len(books)
