"""Each request runs with room on CPython 3.11's frame stack (helpdesk/stack.py)."""

import resource

import pytest

from tests.factories import QueueFactory, TicketFactory
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rendering_as_in_production")]


def deeper(levels: int, call):
    return call() if levels == 0 else deeper(levels - 1, call)


def page_faults_per_request(client, path: str, *, depth: int, requests: int = 5) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(requests):
        assert deeper(depth, lambda: client.get(path)).status_code == 200
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / requests


def test_a_full_inbox_page_maps_no_stack_chunk_per_row_from_any_depth(agent_client, agent):
    """Without the room, rendering the 50 rows from some depths maps and unmaps a stack chunk on
    each call: 400 to 3,000 page faults a request here (35 with it), and twice the CPU."""
    queue = QueueFactory()
    queue.members.add(agent)
    TicketFactory.create_batch(60, queue=queue, status=Ticket.Status.PENDING)
    path = "/inbox/?tab=waiting"
    page_faults_per_request(agent_client, path, depth=0)  # warm: templates, caches

    faults = {depth: page_faults_per_request(agent_client, path, depth=depth) for depth in range(0, 16, 2)}

    assert max(faults.values()) < 200, faults
