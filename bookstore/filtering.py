"""django-filter's ``FilterSet``, set up once per class instead of once per request.

django-filter deep-copies every declared filter and builds a new form class
(each filter's form field, its label looked up and translated) for every
request: on a search of the books list, more Python than the search itself
before any query. Here each request gets shallow copies of the filters (their
configuration is never changed per request; a ``method`` filter is rebound
to its copy) and the form class is made once per ``FilterSet`` class. Each
form still deep-copies its fields, as every Django form does, so nothing a
request's form holds is shared with another request's.

Only for filters whose form field does not depend on the request (no
queryset callable of the request, as ``ModelChoiceFilter`` may take).
"""

from __future__ import annotations

import copy
from typing import Any

import django_filters
from django.http import QueryDict
from django_filters.filters import Filter, FilterMethod


def _copy(filter_: Filter, parent: FilterSet, model: Any) -> Filter:
    clone = copy.copy(filter_)
    if isinstance(filter_.filter, FilterMethod):
        clone.filter = FilterMethod(clone)  # the copy's method is looked up on its own parent
    clone.model = model
    clone.parent = parent
    return clone


class FilterSet(django_filters.FilterSet):
    """A ``FilterSet`` whose filters are copied shallowly and whose form class is built once."""

    def __init__(
        self, data: Any = None, queryset: Any = None, *, request: Any = None, prefix: str | None = None
    ) -> None:
        # django_filters.FilterSet.__init__, but for the copy of the filters.
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: _copy(filter_, self, queryset.model) for name, filter_ in self.base_filters.items()}

    def get_form_class(self) -> Any:
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class = form_class
        return form_class
