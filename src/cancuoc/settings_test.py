"""Fast settings for the test suite: a quick password hasher, no throttling surprises."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECURE_COOKIES", "0")

from cancuoc.settings import *  # noqa: F403
from cancuoc.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
APPEND_ONLY_TRIGGERS = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database lives in memory; WAL does not apply there.
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
    DATABASES["default"]["TEST"] = {"NAME": ""}

# Tests run tasks in the calling thread unless a test asks for the database queue.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="cancuoc-test-media-"))
BIOMETRIC_ROOT = Path(tempfile.mkdtemp(prefix="cancuoc-test-biometrics-"))
BIOMETRIC_KEY = "dGVzdC1iaW9tZXRyaWMta2V5LTMyLWJ5dGVzLWxvbmc="  # 32 bytes, tests only
BIOMETRIC_FSYNC = False
