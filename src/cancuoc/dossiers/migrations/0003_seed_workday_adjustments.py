"""Copy the shipped official swaps (core/data/workday_adjustments.tsv) into the database.

From here on administrators keep the rows up to date (the calendar page, which calls
``dossiers.calendar.workday_adjustment_set``). Rows that already exist are left as they
are, so re-running after an administrator's edit never undoes it.
"""

from django.db import migrations

SOURCE = "core/data/workday_adjustments.tsv"


def seed(apps, schema_editor):
    from cancuoc.core.workdays import WORKING_DAY, load_adjustments

    adjustment = apps.get_model("dossiers", "WorkdayAdjustment")
    existing = set(adjustment.objects.values_list("day", flat=True))
    adjustment.objects.bulk_create(
        adjustment(
            day=row.date,
            is_working_day=row.kind == WORKING_DAY,
            note=row.note[:255],
            source=SOURCE,
        )
        for row in load_adjustments()
        if row.date not in existing
    )


def unseed(apps, schema_editor):
    from cancuoc.core.workdays import load_adjustments

    adjustment = apps.get_model("dossiers", "WorkdayAdjustment")
    days = [row.date for row in load_adjustments()]
    adjustment.objects.filter(day__in=days, source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0002_initial")]

    operations = [migrations.RunPython(seed, unseed)]
