"""WhatsApp's marks: formatted in bubbles (safely: the text is a customer's), gone from previews,
and an agent's signature not repeated under the bubble's header."""

import pytest
from django.urls import reverse

from helpdesk.services import preferences_update
from tests.factories import MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Ticket
from tickets.services import ticket_reply
from tickets.text import text_html, text_plain


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*Bruno:* _oi_ ~não~", "<strong>Bruno:</strong> <em>oi</em> <del>não</del>"),
        ("`code` and ```a *b*\nc```", "<code>code</code> and <code>a *b*<br>c</code>"),
        ("snake_case_name 2*3*4 * not *", "snake_case_name 2*3*4 * not *"),
        ("*_both_*", "<strong><em>both</em></strong>"),
    ],
)
def test_bubbles_show_whatsapp_formatting(text, html):
    assert text_html(text) == html


@pytest.mark.parametrize(
    "hostile",
    [
        "*<script>alert(1)</script>*",
        '_<img src=x onerror="alert(1)">_',
        "```</code><script>x</script>```",
        "`<b>`*`</b>`*",
        "~&lt;b&gt;~ *&amp;* _'\"_",
        "*a<b*c>*",
    ],
)
def test_hostile_text_is_escaped_before_it_is_formatted(hostile):
    html = text_html(hostile)

    tags = {part.split(">")[0] for part in html.split("<")[1:]}
    assert tags <= {"strong", "/strong", "em", "/em", "del", "/del", "code", "/code", "br"}, html
    assert text_plain(html.replace("<br>", "\n")) != hostile or "<" not in hostile  # something was escaped


def test_previews_drop_the_marks():
    assert text_plain("*Bruno:*\n_olá_, seu ~pedido~ `123` saiu") == "Bruno:\nolá, seu pedido 123 saiu"


@pytest.mark.django_db
def test_a_signed_answer_names_the_agent_once_and_the_row_shows_no_marks(client):
    agent = UserFactory(first_name="Bruno", last_name="Reis")
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(
        queue=queue, assignee=agent, status=Ticket.Status.OPEN, last_message_preview="*Pedido* _confirmado_"
    )
    MessageFactory(ticket=ticket, body="*Pedido* _confirmado_")
    preferences_update(user=agent, signature=True)
    answer = ticket_reply(ticket=ticket, by=agent, body="Olá, *tudo* certo", signed=True)
    client.force_login(agent)

    page = client.get(reverse("ticket", args=[ticket.pk]), {"tab": "mine"}).content.decode()

    bubble = page.split(f'id="msg-{answer.pk}"')[1].split('class="meta"')[0]
    assert bubble.count("Bruno Reis") == 1  # the header, not the signature line again
    assert '<p class="text">Olá, <strong>tudo</strong> certo</p>' in bubble
    assert "<strong>Pedido</strong> <em>confirmado</em>" in page
    row = page.split('class="row-preview">')[1].split("</span>")[0]
    assert row.strip() == "Pedido confirmado"
    assert ticket.messages.last().body == "*Bruno Reis:*\nOlá, *tudo* certo"  # what the customer reads
