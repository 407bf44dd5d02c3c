"""In a real browser: a Portuguese Chromium gets the helpdesk in Portuguese; English chosen in the profile sticks."""

import pytest
from playwright.sync_api import expect

from helpdesk.selectors import preferences_of
from tests.factories import ContactFactory, QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_portuguese_browser_reads_portuguese_until_the_user_chooses_english(web, browser):
    agent = UserFactory(first_name="Ana", last_name="Souza")
    queue = QueueFactory()
    queue.members.add(agent)
    TicketFactory(queue=queue, contact=ContactFactory(push_name="Cliente Um"))
    page = browser.new_context(locale="pt-BR").new_page()

    page.goto(f"{web}/login/")
    page.get_by_label("Usuário").fill(agent.username)
    page.get_by_label("Senha").fill("agent-password")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", name="Visão geral")).to_be_visible()
    page.goto(f"{web}/inbox/")
    expect(page.locator('#inbox-tabs [data-tab="waiting"]')).to_contain_text("Aguardando")
    expect(page.get_by_placeholder("Nome, número ou mensagem")).to_be_visible()
    expect(page.locator(".ticket-row")).to_contain_text("Cliente Um")

    page.locator(".profile-menu summary").click()  # the profile menu, under the user's name
    page.get_by_role("link", name="Preferências").click()
    page.get_by_label("Idioma").select_option("en")
    page.get_by_role("button", name="Salvar").click()

    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Preferences")).to_be_visible()
    page.goto(f"{web}/inbox/")
    expect(page.locator('#inbox-tabs [data-tab="waiting"]')).to_contain_text("Waiting")
    page.reload()
    expect(page.locator('#inbox-tabs [data-tab="waiting"]')).to_contain_text("Waiting")
    expect(page.get_by_placeholder("Name, number or message")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert preferences_of(user=agent).language == "en"
