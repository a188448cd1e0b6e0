from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # schema: the OpenAPI extensions of our authentication classes; signals: keep the shared cache of
        # API keys (accounts.key_cache) true to the database.
        from accounts import schema, signals  # noqa: F401
