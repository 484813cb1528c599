"""The default answer term for complaints and feedback: 10 working days.

[M] unverified: the figure is the common practice for answering feedback on
administrative procedures, not a checked legal number. It is data: an administrator
adds a ComplaintTerm row with its own date when the law says otherwise.
"""

import datetime as dt

from django.db import migrations


def forwards(apps, schema_editor):
    ComplaintTerm = apps.get_model("portal", "ComplaintTerm")
    ComplaintTerm.objects.get_or_create(
        valid_from=dt.date(2018, 6, 21),
        defaults={
            "working_days": 10,
            "source": "[M] practice under Decree 61/2018/NĐ-CP; verify against the current decree",
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("portal", "ComplaintTerm").objects.filter(valid_from=dt.date(2018, 6, 21)).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
