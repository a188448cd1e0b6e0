"""Admin for search: staff's synonyms, and the searches that found nothing, most frequent first."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from catalog.models import SearchMiss, SearchSynonym
from catalog.search import search_misses_flush
from catalog.search.query import words_of
from catalog.search.synonyms import MAX_SYNONYM_WORDS


class SearchSynonymForm(forms.ModelForm):
    class Meta:
        model = SearchSynonym
        fields = ["term", "synonym", "both_ways"]

    def _words(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        words = words_of(value)
        if not words:
            raise forms.ValidationError("Give at least one word (letters or digits).")
        if len(words) > MAX_SYNONYM_WORDS:
            raise forms.ValidationError(f"At most {MAX_SYNONYM_WORDS} words.")
        return value

    def clean_term(self) -> str:
        return self._words("term")

    def clean_synonym(self) -> str:
        return self._words("synonym")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        term, synonym = cleaned.get("term"), cleaned.get("synonym")
        if term and synonym and words_of(term) == words_of(synonym):
            raise forms.ValidationError("The term and its synonym are the same words.")
        return cleaned


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Synonyms count from the next search on, on every server."""

    form = SearchSynonymForm
    list_display = ["term", "direction", "synonym", "updated_at"]
    search_fields = ["term", "synonym"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="")
    def direction(self, synonym: SearchSynonym) -> str:
        return "⇄" if synonym.both_ways else "→"


@admin.register(SearchMiss)
class SearchMissAdmin(admin.ModelAdmin):
    """What customers searched for and did not find, most frequent first; read-only (delete to start over)."""

    list_display = ["query", "count", "first_seen", "last_seen"]
    search_fields = ["query"]
    ordering = ["-count", "query"]
    readonly_fields = ["query", "count", "first_seen", "last_seen"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        search_misses_flush()  # the counts still waiting in Redis, so staff see every miss up to now
        return super().changelist_view(request, extra_context)
