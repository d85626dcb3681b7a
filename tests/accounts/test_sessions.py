"""Sessions live in the shared cache, so any web instance serves any signed-in user."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.models import Session

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_a_session_is_in_redis_and_serves_a_request_without_the_database_row(actors, client):
    assert client.login(username=actors.customer.email, password=PASSWORD)
    session_key = client.session.session_key

    # Another process (another web instance) sees the session in Redis.
    raw = redis.Redis.from_url(settings.REDIS_URL)
    assert any(session_key in key.decode() for key in raw.scan_iter(match=f"*{session_key}*"))

    # With the database row gone, the cache alone still knows the customer.
    Session.objects.filter(session_key=session_key).delete()
    page = client.get("/orders/")
    assert page.status_code == 200
    assert "My orders" in page.content.decode()
