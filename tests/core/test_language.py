import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_interface_is_vietnamese_whatever_the_browser_asks_until_the_user_switches(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "<h1>Đăng nhập</h1>" in client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "<h1>Log in</h1>" in client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/accounts/login/"})
    assert "<h1>Đăng nhập</h1>" in client.get("/accounts/login/").content.decode()
