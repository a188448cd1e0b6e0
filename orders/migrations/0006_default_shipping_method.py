"""A fresh database offers one shipping method, ``Standard``, to the store's own country (API.md, "Checkout")."""

from decimal import Decimal

from django.conf import settings
from django.db import migrations

NAME = "Standard"
DEFAULTS = {"price": Decimal("4.95"), "free_over": Decimal("50.00"), "estimated_days": 3, "is_active": True}


def create_default_method(apps, schema_editor):
    method_model = apps.get_model("orders", "ShippingMethod")
    if not method_model.objects.filter(name=NAME).exists():
        method_model.objects.create(name=NAME, countries=settings.STORE_COUNTRY, **DEFAULTS)


def remove_default_method(apps, schema_editor):
    apps.get_model("orders", "ShippingMethod").objects.filter(name=NAME, orders__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_shipping_and_tax")]

    operations = [migrations.RunPython(create_default_method, remove_default_method)]
