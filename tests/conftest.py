import asyncio
import contextlib
import json
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.template import Template
from django.test.utils import _TestState

from helpdesk.embedded_redis import embedded_redis_start
from helpdesk.models import ApiToken
from tests.factories import StaffFactory, UserFactory

pytest_plugins = ["tests.engine", "tests.browser", "tests.postgres_cluster"]


@pytest.fixture(scope="session", autouse=True)
def _postgresql_flushed_by_delete():
    """After each test that commits (transaction=True), Django empties every table with one TRUNCATE
    on PostgreSQL: a new file for each table, index and TOAST table, synced to disk (1.3 s a test on
    the busy two-core machine), where DELETE took 0.04 s on the few rows a test writes. SQLite
    already flushes with DELETE. The foreign keys Django makes are deferred to the commit, so the
    order of the tables does not matter; sequences are not reset either way (TransactionTestCase's
    reset_sequences, which needs TRUNCATE ... RESTART IDENTITY, keeps Django's statement)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _fresh_metrics_tally(monkeypatch):
    """/metrics counts the connection log's events from the last one it read (whatsapp/metrics.py):
    each test's database is emptied, so each test counts from nothing again, not on top of the events
    an earlier test's /metrics read."""
    from whatsapp import metrics

    monkeypatch.setattr(metrics, "_tally", metrics._Tally())


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
def supervisor(client):
    """A member of the Supervisors group (made by a migration), signed in on ``client``."""
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Supervisors"))
    client.force_login(user)
    return user


@pytest.fixture
def api(client, staff):
    """Call the JSON API as a staff token holder: api("POST", "connections", {...}), with more
    ``headers`` when given (HTTP_ACCEPT_LANGUAGE=...)."""
    _token, key = ApiToken.issue(user=staff)

    def call(method: str, path: str, body=None, *, multipart: bool = False, **headers):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key}", **headers}
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


@pytest.fixture
def restartable_redis(settings):
    """A Redis of this test's own, which the test may stop and start again; this process's
    channel layer uses it (so do the children the test starts with its ``url``)."""
    from tests.processes import RestartableRedis

    socket_dir = Path(tempfile.mkdtemp(prefix="hd-own-redis-"))
    redis = RestartableRedis(socket_dir / "redis.sock")
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                **django_settings.CHANNEL_LAYERS["default"]["CONFIG"],
                "hosts": [{"address": redis.url, "socket_timeout": None}],
            },
        }
    }
    settings.REALTIME_PUBLISH_TIMEOUT = 1
    yield redis
    redis.stop()
    shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture
def silent_redis():
    """A TCP server that accepts connections and reads forever, never answering."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    async def handle(reader, writer):
        while await reader.read(4096):
            pass

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    yield holder["port"]
    loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
    thread.join(5)


@pytest.fixture
def rendering_as_in_production(monkeypatch):
    """Templates rendered without the test environment's instrumentation.

    Under pytest every template render (each row's include too) sends a signal that the
    test client answers by copying the context: more than half of what the pages measured
    here used to cost was that, not the helpdesk.
    """
    monkeypatch.setattr(Template, "_render", _TestState.saved_data.template_render)
