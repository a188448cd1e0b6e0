from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import readcache
        from catalog.models import Author, Book, BookAuthor, BookCover, Genre, SearchSynonym, Series, Work

        # However a cover row goes (its own DELETE, or a cascade from its book), its files follow after the commit.
        post_delete.connect(_cover_deleted, sender=BookCover, dispatch_uid="catalog.cover_files")
        # Stored catalog documents follow every save, also one that bypasses the services (catalog.readcache).
        # Deletes go through the services, which invalidate themselves: a post_delete receiver on the link
        # tables would also cost every bulk delete of credits a SELECT of the rows first.
        for model in (Author, Book, BookAuthor, BookCover, Genre, Series, Work):
            post_save.connect(readcache.receiver, sender=model, dispatch_uid=f"catalog.readcache.{model.__name__}")
        m2m_changed.connect(readcache.receiver, sender=Book.genres.through, dispatch_uid="catalog.readcache.genres")
        # Synonyms are kept in the cache under the same tokens (catalog.search.synonyms): saved or deleted, by
        # the admin or any other path, they count from the next search on.
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(readcache.receiver, sender=SearchSynonym, dispatch_uid=f"catalog.readcache.synonym.{name}")


def _cover_deleted(sender: object, instance: object, **kwargs: object) -> None:
    from catalog.covers import cover_deleted

    cover_deleted(instance)  # type: ignore[arg-type]
