"""The hostile-input property (tests/whatsapp/test_hostile_input.py) with many more examples (``make bench``).

``BENCH_HOSTILE_EXAMPLES`` (default 1,000) generated batches of wa-js payloads
through the real ingest; the row reports examples, payloads, what was stored,
what became a dead letter, and the time per payload. The smoke run (tests/benchmarks/conftest.py):
3 examples.
"""

import os
import time

import pytest
from hypothesis import given

from tests.benchmarks.results import report
from tests.tickets.test_inbound_media import media_root  # noqa: F401  (the fixture)
from tests.whatsapp.test_hostile_input import (
    BATCHES,
    a_connection_with_a_menu,
    hostile_batch_ingest,
    hostile_examples,
)
from tickets.models import Message
from whatsapp.models import Connection, DeadLetter

EXAMPLES = int(os.environ.get("BENCH_HOSTILE_EXAMPLES", "1000"))
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]


@pytest.mark.usefixtures("media_root")
def test_hostile_payloads_at_length(settings, scale):
    counts = {"examples": 0, "payloads": 0}

    @hostile_examples(scale.pick(EXAMPLES, smoke=3))
    @given(batch=BATCHES)
    def run(batch):
        connection = Connection.objects.first() or a_connection_with_a_menu()
        counts["examples"] += 1
        counts["payloads"] += len(batch)
        hostile_batch_ingest(
            connection, [payload for payload, _ in batch], [download for _, download in batch]
        )

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    stored = (
        Message.objects.exclude(status=Message.Status.QUEUED).count() - counts["examples"]
    )  # not the ordinary ones
    dead = DeadLetter.objects.count()
    report(
        f"hostile payloads, {engine}: {counts['examples']} examples, {counts['payloads']} payloads",
        f"0 escaped, {stored} stored, {dead} dead letters (no usable chat), {counts['payloads'] - stored - dead} "
        f"ignored (broadcasts, groups, repeated ids); {elapsed:.1f} s, {1000 * elapsed / counts['payloads']:.1f} ms "
        "a payload",
    )
