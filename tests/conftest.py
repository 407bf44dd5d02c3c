import json
import shutil
import tempfile
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from helpdesk.embedded_redis import embedded_redis_start
from helpdesk.models import ApiToken
from tests.factories import StaffFactory, UserFactory

pytest_plugins = ["tests.engine", "tests.browser"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests render templates without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def agent(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def api(client, staff):
    """Call the JSON API as a staff token holder: api("POST", "connections", {...})."""
    _token, key = ApiToken.issue(user=staff)

    def call(method: str, path: str, body=None, *, multipart: bool = False):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        if multipart:
            return getattr(client, method.lower())(f"/api/{path}", data=body, **auth)
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
        return getattr(client, method.lower())(
            f"/api/{path}", data=data, content_type="application/json", **auth
        )

    return call


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL when given (CI's Redis), or a private embedded Redis for this test run."""
    if not django_settings.EMBEDDED_REDIS:
        yield django_settings.REDIS_URL
        return
    # A short path: a unix socket path must fit in 107 characters.
    socket_dir = Path(tempfile.mkdtemp(prefix="hd-redis-"))
    process = embedded_redis_start(socket_path=socket_dir / "redis.sock")
    yield f"unix://{socket_dir / 'redis.sock'}"
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture
def channel_layer(settings, redis_url):
    """The real Redis channel layer, the one worker processes started by tests use too."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                **django_settings.CHANNEL_LAYERS["default"]["CONFIG"],
                "hosts": [{"address": redis_url, "socket_timeout": None}],
            },
        }
    }
    return get_channel_layer()
