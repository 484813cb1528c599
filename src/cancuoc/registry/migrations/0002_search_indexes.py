"""A word index for name search on PostgreSQL.

Search matches the words of the folded name (`search_name`): every typed word must be
a word of the name, the last one possibly unfinished ("nguyen thi h"). A GIN index of
the name's words (`to_tsvector('simple', search_name)`) answers that with one posting
list per word. A pg_trgm trigram index was tried first and measured slower: the
trigrams of common syllables ("  n", " ng", "ngu" in Nguyễn, 40 % of the population)
have posting lists of hundreds of thousands of rows, so any name with a common family
or middle name cost 100–300 ms (docs/benchmarks.md, registry_search).

SQLite has no such index here: a search scans the rows of the user's scope, so this
migration does nothing there. The index is not declared on the model because Django
cannot express an index that exists on one database vendor only; the selector repeats
its expression exactly (registry/selectors.py, `_TSVECTOR`).
"""

from django.db import migrations

INDEX = "citizen_name_words"


def _create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON registry_citizen "
        "USING gin (to_tsvector('simple'::regconfig, (search_name)::text))"
    )


def _drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
