"""catalog.fields: the one declaration of a book's writable fields agrees with the model."""

from __future__ import annotations

import pytest
from django.db import models

from catalog.fields import BOOK_COLUMN_FIELDS, BOOK_FIELDS, BOOK_FIELDS_BY_NAME, LINK_KINDS, book_values
from catalog.models import Book

#: Book fields nobody writes as a field: the id, the timestamps, the work (editions are grouped by a service) and
#: the recent sales (the daily job of orders computes them).
_NOT_WRITABLE = {"id", "created_at", "updated_at", "work", "recent_sales"}
#: Declared links that are no model field of their own: every credit, through the same table as ``authors``.
_DECLARED_ONLY = {"contributors"}


def _model_fields() -> dict[str, models.Field]:
    return {
        field.name: field
        for field in Book._meta.get_fields()
        if isinstance(field, models.Field) and not field.auto_created and field.name not in _NOT_WRITABLE
    }


def test_every_writable_model_field_is_declared_and_nothing_else():
    assert set(_model_fields()) | _DECLARED_ONLY == {field.name for field in BOOK_FIELDS}


def test_links_are_the_relations():
    links = {name for name, field in _model_fields().items() if field.many_to_many or field.many_to_one}
    assert links | _DECLARED_ONLY == {field.name for field in BOOK_FIELDS if field.kind in LINK_KINDS}
    assert set(BOOK_COLUMN_FIELDS) == set(_model_fields()) - links


def test_declared_limits_and_defaults_match_the_model():
    for name in BOOK_COLUMN_FIELDS:
        model_field = _model_fields()[name]
        declared = BOOK_FIELDS_BY_NAME[name]
        if declared.max_length is not None:
            assert declared.max_length == model_field.max_length, name
        if model_field.has_default():
            assert declared.default == model_field.get_default(), name
        if model_field.null:
            assert declared.default is None, name
            assert not declared.required, name
        if not model_field.has_default() and not model_field.blank:
            assert declared.required, name


def test_book_values_fills_defaults_and_refuses_unknown_or_missing_fields():
    values = book_values(given={"isbn": "9780441013593", "title": "Dune", "price": 1, "authors": ("A",)})
    assert (values["stock"], values["is_active"], values["genres"]) == (0, True, ())
    for given in ({"isbn": "1"}, {"isbn": "1", "title": "T", "price": 1, "authors": ("A",), "colour": "red"}):
        with pytest.raises(TypeError):
            book_values(given=given)
