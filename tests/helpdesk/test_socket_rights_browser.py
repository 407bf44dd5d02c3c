"""Open pages follow their user's rights, in Chromium: signed out in another tab, the inbox goes to
the sign-in page; an admin demoted meanwhile, the connection page reloads to its refusal
(helpdesk/consumers.py closes the socket with 4401 or 4403, static/js/live.js reloads)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import ConnectionFactory, StaffFactory, UserFactory
from tests.helpdesk.test_socket_rights import demote
from tests.whatsapp.test_connection_log_time import SOCKETS_OPEN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick_rechecks(engine):
    """The web server checks its sockets' rights every 0.2 s instead of 5 (asked before ``web``)."""
    engine.env["SOCKET_RECHECK_SECONDS"] = "0.2"


def test_a_signed_out_inbox_goes_to_sign_in_and_a_demoted_admins_page_to_its_refusal(
    quick_rechecks, web, browser
):
    """One test for both (a web server costs ~12 s to start): an agent's two tabs, an admin's page."""
    agents_tabs = browser.new_context()
    inbox, other_tab = agents_tabs.new_page(), agents_tabs.new_page()
    inbox.add_init_script(SOCKETS_OPEN)
    sign_in(inbox, web, UserFactory())
    inbox.goto(f"{web}/inbox/")
    admin, connection = StaffFactory(), ConnectionFactory()
    admins_page = browser.new_context().new_page()
    admins_page.add_init_script(SOCKETS_OPEN)
    sign_in(admins_page, web, admin)
    admins_page.goto(f"{web}/connections/{connection.pk}/")
    for page in (inbox, admins_page):
        page.wait_for_function("window.socketsOpen >= 1")

    other_tab.goto(f"{web}/")
    other_tab.locator(".profile-menu summary").click()
    other_tab.get_by_role("button", name="Log out").click()
    with admins_page.expect_response(f"{web}/connections/{connection.pk}/", timeout=10_000) as reloaded:
        demote(admin)

    expect(inbox).to_have_url(re.compile(r"/login/\?next=/inbox/"), timeout=10_000)
    assert reloaded.value.status == 403
