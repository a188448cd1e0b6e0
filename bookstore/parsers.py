"""Request parsers of the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.core.exceptions import SuspiciousOperation
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a 400 instead of a 500 for absurdly deep nesting.

    Python's decoder is recursive: ``[[[[...]]]]`` a few thousand levels deep,
    well under the body size limit, raises ``RecursionError``, which is not a
    ``ValueError`` and so escapes DRF's own handling.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, with a 400 instead of a 500 for a body over Django's part limits.

    Django refuses more than ``DATA_UPLOAD_MAX_NUMBER_FILES`` files or
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields with a ``SuspiciousOperation``,
    which DRF does not turn into a parse error.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except SuspiciousOperation as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
