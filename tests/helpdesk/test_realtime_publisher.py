"""A session's events, sent by its Publisher: every group gets its events in commit order."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk.realtime import Publisher, publish_on_commit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]
COMMITS = 60  # under a channel's capacity (channels_redis drops what is over it)


def test_a_burst_of_commits_reaches_each_group_in_commit_order():
    """A message's statuses (sent, delivered, read) must not arrive read-then-delivered: the groups
    are sent to side by side, each in the order of the commits."""

    def commits() -> None:  # as the session's database thread commits a burst
        for n in range(COMMITS):
            with transaction.atomic():
                groups = ["publisher.everyone", "publisher.odd"] if n % 2 else ["publisher.everyone"]
                publish_on_commit(groups=groups, event_type="test.event", payload={"n": n})

    async def run() -> tuple[list[int], list[int]]:
        layer = get_channel_layer()
        everyone, odd = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("publisher.everyone", everyone)
        await layer.group_add("publisher.odd", odd)
        publisher = Publisher()
        await sync_to_async(commits)()
        await publisher.close()
        heard_by_everyone = [(await layer.receive(everyone))["n"] for _ in range(COMMITS)]
        heard_by_odd = [(await layer.receive(odd))["n"] for _ in range(COMMITS // 2)]
        return heard_by_everyone, heard_by_odd

    heard_by_everyone, heard_by_odd = async_to_sync(run)()

    assert heard_by_everyone == list(range(COMMITS))
    assert heard_by_odd == list(range(1, COMMITS, 2))
