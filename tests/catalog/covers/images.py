"""Image files for the cover tests, made with Pillow: good ones, hostile ones and not-images."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

from PIL import Image, PngImagePlugin


def encode(
    image_format: str, size: tuple[int, int] = (300, 450), color: object = (200, 40, 60), **options: object
) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if image_format == "PNG" and options.pop("alpha", False) else "RGB"
    Image.new(mode, size, color).save(out, image_format, **options)  # type: ignore[arg-type]
    return out.getvalue()


def png(size: tuple[int, int] = (300, 450), **options: object) -> bytes:
    return encode("PNG", size, **options)


def jpeg(size: tuple[int, int] = (300, 450), **options: object) -> bytes:
    return encode("JPEG", size, **options)


def webp(size: tuple[int, int] = (300, 450), **options: object) -> bytes:
    return encode("WEBP", size, **options)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n")
        archive.writestr("Evil.class", b"\xca\xfe\xba\xbe" + b"\0" * 32)
    return out.getvalue()


def png_with_text_chunk(text: str) -> bytes:
    """A PNG carrying ``text`` in a tEXt chunk (inside the image, before IEND)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    return png(pnginfo=info)


def jpeg_with_exif(orientation: int, maker: str = "SpyCam 3000", size: tuple[int, int] = (300, 450)) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    # A marker in the top-left corner, to see where it ends up once the orientation is applied.
    image.paste((255, 255, 0), (0, 0, 40, 40))
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = maker
    exif[0x8825] = {2: (52.0, 31.0, 12.0)}  # GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    """A JPEG with a COM segment holding ``comment`` right after SOI."""
    data = jpeg()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: it barely compresses, so its size follows its pixel count."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` pixels of one deflate stream of zeros: the classic bomb.

    A few hundred kilobytes that would decode to gigabytes.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    rows = b"".join(compressor.compress(row) for _ in range(min(height, 2000))) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def gif() -> bytes:
    return encode("GIF")


def bmp() -> bytes:
    return encode("BMP")


def mpo() -> bytes:
    """A camera's multi-picture JPEG: the photo (red), then a second picture (blue) right after it."""
    out = io.BytesIO()
    first, second = Image.new("RGB", (300, 450), (220, 20, 20)), Image.new("RGB", (300, 450), (20, 20, 220))
    first.save(out, "MPO", save_all=True, append_images=[second])
    return out.getvalue()
