import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from cancuoc.core.audit import audit_record
from cancuoc.core.models import AuditEntry, Event

pytestmark = pytest.mark.django_db


def test_an_audit_entry_records_actor_object_unit_and_client_address(world, alice):
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.force_login(alice)
    client.post(
        "/accounts/users/",
        {
            "username": "new.clerk",
            "password": "a-long-pass-phrase-77",
            "role": "one_stop_clerk",
            "unit": world.commune_a.pk,
        },
    )
    entry = AuditEntry.objects.get(action="user.create")
    assert (entry.actor, entry.actor_label, entry.unit, entry.unit_path, entry.client_address) == (
        alice,
        "alice",
        world.commune_a,
        world.commune_a.path,
        "10.1.2.3",
    )
    assert entry.object_type == "accounts.user"
    assert entry.object_repr.startswith("new.clerk")


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(world, alice, settings):
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert AuditEntry.objects.get(action="login.failure").client_address == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert AuditEntry.objects.filter(action="login.failure").first().client_address == "1.2.3.4"


def test_the_audit_page_filters_by_action_within_scope(world, hana, alice, bob):
    audit_record(actor=alice, action="demo.a", obj=world.commune_a)
    audit_record(actor=bob, action="demo.b", obj=world.commune_b)
    audit_record(actor=None, action="demo.national")
    client = Client()
    client.force_login(hana)
    body = client.get("/audit/", {"action": "demo.a"}).content.decode()
    assert "Xã Thạch Hà" in body and "Xã Cẩm Xuyên" not in body
    body = client.get("/audit/").content.decode()
    assert "demo.b" in body and "demo.national" not in body


def _install_append_only_triggers(settings):
    """Run the migration's own forwards step, as `migrate` does in production."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("cancuoc.core.migrations.0002_append_only")
    settings.APPEND_ONLY_TRIGGERS = True
    if connection.vendor == "postgresql":
        with connection.schema_editor(atomic=False) as editor:
            migration.forwards(apps, editor)
        return

    # SQLite refuses a schema editor inside the test's transaction; this stand-in
    # executes exactly as BaseDatabaseSchemaEditor.execute does.
    class Editor:
        def __init__(self):
            self.connection = connection

        def execute(self, sql, params=()):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    migration.forwards(apps, Editor())


@pytest.mark.parametrize("model", [AuditEntry, Event])
def test_the_database_refuses_to_rewrite_history(world, alice, model, settings):
    from django.utils import timezone

    # Test settings leave the triggers out (teardown empties tables); install them here.
    # The test transaction rolls the DDL back afterwards on both databases.
    _install_append_only_triggers(settings)
    if model is AuditEntry:
        row = audit_record(actor=alice, action="kept", obj=world.commune_a)
    else:
        from cancuoc.core.events import event_append

        row = event_append(
            kind="k", unit=world.commune_a, day=timezone.localdate(), subject="s", measures={"m": 1}
        )
    for attempt in (
        lambda: (
            model.objects.filter(pk=row.pk).update(kind="x")
            if model is Event
            else model.objects.filter(pk=row.pk).update(action="forged")
        ),
        lambda: model.objects.filter(pk=row.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert model.objects.filter(pk=row.pk).count() == 1
