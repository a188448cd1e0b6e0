"""The default bulk discount tiers: 5-9 books 5 %, 10 or more books 10 % (API.md, "Pricing")."""

from decimal import Decimal

from django.db import migrations

DEFAULT_TIERS = [(5, Decimal("5.00")), (10, Decimal("10.00"))]


def create_default_tiers(apps, schema_editor):
    tier_model = apps.get_model("orders", "BulkDiscountTier")
    for min_quantity, percent in DEFAULT_TIERS:
        tier_model.objects.get_or_create(min_quantity=min_quantity, defaults={"percent": percent})


def remove_default_tiers(apps, schema_editor):
    tier_model = apps.get_model("orders", "BulkDiscountTier")
    for min_quantity, percent in DEFAULT_TIERS:
        tier_model.objects.filter(min_quantity=min_quantity, percent=percent).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(create_default_tiers, remove_default_tiers)]
