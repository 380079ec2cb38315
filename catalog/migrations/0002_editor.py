import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def facts_unchanged_since_creation(apps, schema_editor):
    # Existing copy was written after its product was created: none of it turns stale by migrating.
    apps.get_model("catalog", "Product").objects.update(facts_changed_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="facts_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the name, category or attributes last changed: copy written before is stale.",
            ),
        ),
        migrations.RunPython(facts_unchanged_since_creation, migrations.RunPython.noop),
    ]
