from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # ``signals`` connects the receivers; ``personal_data`` adds the orders' part of a
        # user's personal data export and erasure.
        from orders import personal_data, signals  # noqa: F401

        personal_data.register()
