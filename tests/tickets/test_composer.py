"""The composer in a real browser: refusals that keep the typed text, and a voice note to the phone."""

import pytest
from playwright.sync_api import expect

from tests.browser import drop_file, sign_in
from tests.factories import QueueFactory, TicketFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def open_ticket(page, web: str, ticket: Ticket, agent) -> None:
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    expect(page.locator("#composer-body")).to_be_visible()


def test_refused_files_say_why_and_keep_the_typed_text(web, page):
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue)
    open_ticket(page, web, ticket, agent)
    page.locator("#composer-body").fill("Segue o arquivo")

    drop_file(page, ".ticket-body", "huge.pdf", "application/pdf", size=17 * 2**20)  # over the 16 MB default
    expect(page.locator("#composer-error")).to_contain_text("larger than 16 MB")

    # A page whose own check is bypassed (or out of date): the server stops reading at the limit.
    page.evaluate("document.getElementById('composer').dataset.maxBytes = String(64 * 2 ** 20)")
    drop_file(page, ".ticket-body", "huge.pdf", "application/pdf", size=17 * 2**20)
    expect(page.locator("#composer-error")).to_have_text("")
    page.locator("#composer").get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_have_text(
        "The file is larger than 16 MB, the most WhatsApp takes: nothing was sent.", timeout=20_000
    )
    expect(page.locator("#messages .msg")).to_have_count(0)

    drop_file(
        page, ".ticket-body", "photo.jpg", "image/jpeg", b"this is no picture"
    )  # only the server can tell
    page.locator("#composer").get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("photo.jpg is not a real image file")

    expect(page.locator("#composer-body")).to_have_value("Segue o arquivo")
    assert not Message.objects.exists()


def test_a_voice_note_recorded_in_the_page_reaches_the_phone_as_a_voice_message(engine, simulator, web, page):
    engine.start_worker()
    agent = UserFactory()
    engine.connected("5531999990031", "Voice")
    simulator.post(
        "/_sim/messages", {"account": "5531999990031", "from": "5511988880031", "body": "Pode mandar áudio?"}
    )
    ticket = wait_until(lambda: Ticket.objects.first(), message="the customer's ticket")
    open_ticket(page, web, ticket, agent)

    page.locator("#composer-record").click()
    page.wait_for_timeout(1000)  # a second of the fake microphone's tone
    page.locator("#composer-record").click()

    sent = wait_until(
        lambda: simulator.get("/_sim/outbox?account=5531999990031")["messages"],
        message="the voice note on the phone",
    )
    assert sent[0]["media"]["ptt"] is True
    assert sent[0]["media"]["mimetype"] in ("audio/webm", "audio/ogg")
    note = wait_until(
        lambda: Message.objects.filter(kind=Message.Kind.AUDIO, status=Message.Status.SENT).first(),
        message="the voice note marked sent",
    )
    assert note.voice is True
    expect(page.locator("#messages audio.media")).to_be_visible()


def test_a_sent_message_whose_live_event_beats_the_answer_is_never_shown_twice(web, page):
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue, assignee=agent, status=Ticket.Status.OPEN)
    open_ticket(page, web, ticket, agent)
    page.evaluate(
        """() => {
          window.mostCopies = 0;
          new MutationObserver(() => {
            const ids = [...document.querySelectorAll('#messages .msg[id]')].map((m) => m.id);
            window.mostCopies = Math.max(window.mostCopies, ids.length - new Set(ids).size + 1);
          }).observe(document.getElementById('messages'), { childList: true, subtree: true });
        }"""
    )
    held = []

    def hold_the_answer(route):
        held.append((route, route.fetch()))  # the server has stored the note and sent its event

    page.route(f"**/inbox/{ticket.pk}/reply/", hold_the_answer)
    page.locator("#composer-body").fill("Cliente pediu retorno amanhã")
    page.locator("#composer-internal").check()
    page.locator("#composer-body").press("Enter")

    expect(page.locator("#messages .msg")).to_have_count(1)  # brought by the live event
    for _ in range(100):  # Playwright runs the handler only while it is called
        if held:
            break
        page.wait_for_timeout(50)
    route, answer = held[0]
    route.fulfill(response=answer)
    expect(page.locator("#composer-body")).to_have_value("")  # the answer arrived and was taken in

    expect(page.locator("#messages .msg")).to_have_count(1)
    assert page.evaluate("window.mostCopies") == 1
