"""Make the audit log and the event stream append-only in the database itself."""

from django.conf import settings
from django.db import migrations

TABLES = ["core_auditentry", "core_event"]

SQLITE = [
    (
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
        f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()};",
    )
    for table in TABLES
    for op in ("UPDATE", "DELETE")
]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION cancuoc_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""
POSTGRES = [(POSTGRES_FUNCTION, "DROP FUNCTION IF EXISTS cancuoc_append_only() CASCADE;")] + [
    (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION cancuoc_append_only();",
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
    )
    for table in TABLES
]


def forwards(apps, schema_editor):
    # The test settings switch this off because test teardown empties every table;
    # tests/core/test_audit.py installs the triggers itself and proves they hold.
    if not getattr(settings, "APPEND_ONLY_TRIGGERS", True):
        return
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for create, _drop in statements:
        # params=None: the SQL holds a literal % (plpgsql's RAISE format), not a placeholder.
        schema_editor.execute(create, params=None)


def backwards(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for _create, drop in reversed(statements):
        schema_editor.execute(drop, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
