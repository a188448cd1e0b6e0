from django.apps import AppConfig
from django.db.models.signals import post_delete


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog.models import BookCover

        # However a cover row goes (its own DELETE, or a cascade from its book), its files follow after the commit.
        post_delete.connect(_cover_deleted, sender=BookCover, dispatch_uid="catalog.cover_files")


def _cover_deleted(sender: object, instance: object, **kwargs: object) -> None:
    from catalog.covers import cover_deleted

    cover_deleted(instance)  # type: ignore[arg-type]
