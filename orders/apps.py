from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # The orders' part of a user's personal data export and erasure.
        from orders import personal_data

        personal_data.register()
        from orders import signals  # noqa: F401  (connects the receivers)
