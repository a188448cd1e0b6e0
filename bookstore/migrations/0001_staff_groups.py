"""Staff groups: "Catalog managers" run the catalog, "Order managers" run orders, coupons and discount tiers.

Permissions are normally created after ``migrate`` finishes (post_migrate), so
they are created here first for the apps the groups need.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

ALL = ("view", "add", "change", "delete")

STAFF_GROUPS = {
    "Catalog managers": {
        ("catalog", "book"): ALL,
        ("catalog", "author"): ALL,
        ("catalog", "genre"): ALL,
        ("catalog", "bookauthor"): ALL,
    },
    "Order managers": {
        # Orders are placed by customers and never deleted; staff move them through fulfilment.
        ("orders", "order"): ("view", "change"),
        ("orders", "orderitem"): ("view",),
        ("orders", "statuschange"): ("view",),
        ("orders", "coupon"): ALL,
        ("orders", "bulkdiscounttier"): ALL,
    },
}


def create_staff_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_label in sorted({app_label for grants in STAFF_GROUPS.values() for app_label, _ in grants}):
        create_permissions(global_apps.get_app_config(app_label), apps=apps, verbosity=0, using=using)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, grants in STAFF_GROUPS.items():
        wanted = {
            (app_label, f"{action}_{model}") for (app_label, model), actions in grants.items() for action in actions
        }
        permissions = [
            permission
            for permission in permission_model.objects.using(using)
            .filter(
                content_type__app_label__in={app_label for app_label, _ in wanted},
                codename__in={codename for _, codename in wanted},
            )
            .select_related("content_type")
            if (permission.content_type.app_label, permission.codename) in wanted
        ]
        missing = wanted - {(p.content_type.app_label, p.codename) for p in permissions}
        if missing:
            raise RuntimeError(f"Permissions missing for group {name!r}: {sorted(missing)}")
        group, _ = group_model.objects.using(using).get_or_create(name=name)
        group.permissions.set(permissions)


def remove_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name__in=list(STAFF_GROUPS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("orders", "0002_default_discount_tiers"),
    ]

    operations = [migrations.RunPython(create_staff_groups, remove_staff_groups)]
