"""Throttling by locked counter rows instead of a log of attempts.

The log was read, then written, without a lock, so parallel guesses all passed the
check. Counters are taken with SELECT ... FOR UPDATE (portal.throttle).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_complaint_term_default'),
    ]

    operations = [
        migrations.CreateModel(
            name='ThrottleCounter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=120, unique=True)),
                ('hits', models.PositiveIntegerField(default=0)),
                ('expires_at', models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.DeleteModel(
            name='LookupAttempt',
        ),
    ]
