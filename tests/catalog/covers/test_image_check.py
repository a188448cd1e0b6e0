"""What ``catalog.covers.image_check`` accepts, refuses, and what it keeps of an accepted upload."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from catalog.covers import MAX_BYTES, image_check
from catalog.exceptions import CoverInvalid
from tests.catalog.covers import images


def check(data: bytes):
    return image_check(io.BytesIO(data), size=len(data))


@pytest.mark.parametrize(
    ("data", "extension", "image_format"),
    [(images.png, "png", "PNG"), (images.jpeg, "jpg", "JPEG"), (images.webp, "webp", "WEBP")],
    ids=["png", "jpeg", "webp"],
)
def test_jpeg_png_and_webp_are_accepted_and_re_encoded_in_their_format(data, extension, image_format):
    checked = check(data())
    assert (checked.extension, checked.width, checked.height) == (extension, 300, 450)
    with Image.open(io.BytesIO(checked.content)) as image:
        assert image.format == image_format
        assert image.size == (300, 450)


def test_progressive_jpeg_and_png_with_transparency_are_accepted():
    assert check(images.jpeg(progressive=True)).width == 300
    checked = check(images.png(alpha=True, color=(0, 0, 0, 0)))
    with Image.open(io.BytesIO(checked.content)) as image:
        assert image.mode == "RGBA"


@pytest.mark.parametrize(
    "data",
    [
        lambda: b"",
        lambda: b"Just some text, not an image at all.",
        lambda: b"<html><script>alert(1)</script></html>",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        lambda: images.zip_archive(),
        lambda: images.gif(),
        lambda: images.bmp(),
        lambda: images.png()[:200],  # truncated: the header promises pixels that never come
        lambda: images.jpeg()[:-200],
    ],
    ids=["empty", "text", "html", "svg", "pdf", "zip", "gif", "bmp", "truncated-png", "truncated-jpeg"],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused(data):
    with pytest.raises(CoverInvalid) as refused:
        check(data())
    assert refused.value.details == {"image": [refused.value.details["image"][0]]}


@pytest.mark.parametrize(
    "data",
    [
        lambda: images.png() + images.zip_archive(),  # a PNG that is also a JAR (GIFAR-style)
        lambda: images.jpeg() + images.zip_archive(),
        lambda: images.webp() + b"<script>alert(document.cookie)</script>",
        lambda: images.png() + b"<html><body onload=alert(1)>",
        lambda: images.jpeg() + b"\xff\xd9",  # a second end marker: still bytes after the image's end
        lambda: images.gif() + images.zip_archive(),  # a true GIFAR
    ],
    ids=["png+jar", "jpeg+zip", "webp+script", "png+html", "jpeg+eoi", "gifar"],
)
def test_polyglots_with_data_after_the_image_are_refused(data):
    with pytest.raises(CoverInvalid):
        check(data())


def test_payloads_inside_the_image_do_not_survive_the_re_encoding():
    script = "<script>alert(document.cookie)</script>"
    png = images.png_with_text_chunk(script)
    jpeg = images.jpeg_with_comment(script.encode())
    assert script.encode() in png
    assert script.encode() in jpeg
    for data in (png, jpeg):
        checked = check(data)
        assert script.encode() not in checked.content
        assert b"script" not in checked.content


def test_exif_is_stripped_and_its_orientation_applied():
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    data = images.jpeg_with_exif(orientation=6)
    assert b"SpyCam 3000" in data

    checked = check(data)

    assert b"SpyCam" not in checked.content
    assert b"Exif" not in checked.content
    assert (checked.width, checked.height) == (450, 300)
    with Image.open(io.BytesIO(checked.content)) as image:
        assert not image.getexif()
        assert "icc_profile" not in image.info
        # The yellow marker of the top-left corner is now in the top-right corner.
        red, green, blue = image.convert("RGB").getpixel((image.width - 10, 10))
        assert red > 200
        assert green > 200
        assert blue < 80


def test_a_file_over_10_mb_is_refused_before_it_is_read():
    data = images.noise_png(2200, 1700)  # a genuine PNG of random pixels, about 11 MB
    assert len(data) > MAX_BYTES
    with pytest.raises(CoverInvalid, match="larger than 10 MB"):
        check(data)
    # Also when the caller does not know the size in advance.
    with pytest.raises(CoverInvalid, match="larger than 10 MB"):
        image_check(io.BytesIO(data))


def test_an_image_over_40_megapixels_is_refused_from_its_header():
    data = images.png((7000, 6000))  # 42 megapixels of one colour: a small file
    assert len(data) < 1_000_000
    with pytest.raises(CoverInvalid, match="40 megapixels"):
        check(data)


@pytest.mark.parametrize("side", [9_000, 100_000])
def test_decompression_bombs_are_refused_without_decoding(side):
    data = images.png_header_only(side, side)
    assert len(data) < 1_000_000
    with pytest.raises(CoverInvalid, match="40 megapixels"):
        check(data)


def test_an_extreme_aspect_ratio_is_refused():
    with pytest.raises(CoverInvalid, match="4 times"):
        check(images.png((100, 5000)))


def test_a_multi_picture_jpeg_from_a_camera_keeps_only_its_first_picture():
    data = images.mpo()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "MPO"
    checked = check(data)
    assert checked.extension == "jpg"
    with Image.open(io.BytesIO(checked.content)) as image:
        assert image.format == "JPEG"
        assert getattr(image, "n_frames", 1) == 1
        red, _, blue = image.getpixel((10, 10))
        assert red > 180
        assert blue < 60


@pytest.mark.parametrize(
    "tail", [lambda: images.zip_archive(), lambda: b"<script>alert(1)</script>", lambda: b"\xff\xd8\xff junk"]
)
def test_a_multi_picture_jpeg_with_anything_else_appended_is_refused(tail):
    with pytest.raises(CoverInvalid):
        check(images.mpo() + tail())


def test_two_plain_jpegs_back_to_back_are_refused():
    with pytest.raises(CoverInvalid, match="after the end"):
        check(images.jpeg() + images.jpeg())
