"""Order managers (the staff group of ``bookstore.0001_staff_groups``) manage shipping methods in the admin."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Order managers"
CODENAMES = [f"{action}_shippingmethod" for action in ("view", "add", "change", "delete")]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("orders"), apps=apps, verbosity=0, using=using)
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is None:  # the group was deleted by the shop; nothing to extend
        return
    permissions = apps.get_model("auth", "Permission").objects.using(using)
    group.permissions.add(*permissions.filter(content_type__app_label="orders", codename__in=CODENAMES))


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        permissions = apps.get_model("auth", "Permission").objects.using(using)
        group.permissions.remove(*permissions.filter(content_type__app_label="orders", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [("orders", "0006_default_shipping_method"), ("bookstore", "0001_staff_groups")]

    operations = [migrations.RunPython(grant, revoke)]
