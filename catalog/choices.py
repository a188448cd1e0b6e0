"""The catalog's fixed vocabularies: formats, publication statuses, contributor roles.

Pure module (no models), like ``catalog.languages``: the field declaration and
the importer read it without the app registry.
"""

from __future__ import annotations

from django.db import models


class BookFormat(models.TextChoices):
    """The physical (or audio) form of an edition."""

    HARDCOVER = "hardcover", "Hardcover"
    PAPERBACK = "paperback", "Paperback"
    MASS_MARKET = "mass_market", "Mass-market paperback"
    BOARD_BOOK = "board_book", "Board book"
    AUDIO_CD = "audio_cd", "Audio CD"
    OTHER = "other", "Other"


class PublicationStatus(models.TextChoices):
    """Where an edition is in its life: announced, on sale, or no longer published."""

    FORTHCOMING = "forthcoming", "Forthcoming"
    ACTIVE = "active", "Active"
    OUT_OF_PRINT = "out_of_print", "Out of print"


class ContributorRole(models.TextChoices):
    """What a person did on a book."""

    AUTHOR = "author", "Author"
    EDITOR = "editor", "Editor"
    TRANSLATOR = "translator", "Translator"
    ILLUSTRATOR = "illustrator", "Illustrator"
    NARRATOR = "narrator", "Narrator"
    FOREWORD = "foreword", "Foreword"
