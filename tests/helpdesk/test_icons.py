"""Icons are SVG shipped with the helpdesk (lucide-static), never emoji that need an emoji font."""

import re

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import MessageFactory, QueueFactory, TicketFactory
from tickets.models import Message

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u26ff]")  # pictographs, and the symbols drawn as emoji


def test_no_page_or_script_of_ours_draws_an_emoji():
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match}"
        for folder in ("templates", "static")
        for path in (settings.BASE_DIR / folder).rglob("*")
        if path.suffix in {".html", ".js", ".css"}
        for match in EMOJI.findall(path.read_text())
    ]
    assert found == []


@pytest.mark.django_db
def test_a_document_a_place_and_a_queued_answer_show_svg_icons(agent_client, agent):
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue)
    document = MessageFactory(ticket=ticket, kind=Message.Kind.DOCUMENT, filename="nota.pdf", body="")
    document.media.save("nota.pdf", ContentFile(b"%PDF-1.4"))
    MessageFactory(ticket=ticket, kind=Message.Kind.LOCATION, body="Av. Paulista, 1000")
    MessageFactory(ticket=ticket, from_me=True, author=agent, status=Message.Status.QUEUED, body="já vai")

    page = agent_client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    for name in ("file-text", "map-pin", "clock", "paperclip"):
        assert re.search(
            rf'<svg aria-hidden="true" focusable="false" class="icon lucide lucide-{name}"', page
        ), name
