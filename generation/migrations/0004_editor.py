from django.db import migrations, models


def edits_by_people(apps, schema_editor):
    # Before kinds existed, a revision with an author was a person's edit.
    apps.get_model("generation", "DraftRevision").objects.filter(author__isnull=False).update(kind="edited")


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0003_training_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="draftrevision",
            name="kind",
            field=models.CharField(
                choices=[
                    ("generated", "Written by the model"),
                    ("alternative", "Another candidate chosen"),
                    ("edited", "Edited"),
                    ("restored", "Restored"),
                ],
                default="generated",
                max_length=16,
            ),
        ),
        migrations.RunPython(edits_by_people, migrations.RunPython.noop),
    ]
