"""The 403, 404 and 500 pages: the helpdesk's look, what happened in the reader's language, the way back."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

PORTUGUESE = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9"}


@pytest.fixture(autouse=True)
def _language_restored():
    """A request in Portuguese leaves Portuguese active in this thread (LocaleMiddleware): not for the next test."""
    with translation.override(translation.get_language()):
        yield


def assert_styled_with_the_way_back(page: str) -> None:
    assert "css/helpdesk.css" in page
    assert f'href="{reverse("inbox")}"' in page
    assert f'href="{reverse("home")}"' in page


@pytest.mark.django_db
def test_a_missing_page_is_the_helpdesks_with_the_way_back(agent_client, agent):
    response = agent_client.get("/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page
    assert_styled_with_the_way_back(page)
    assert agent.username in page  # the top bar of every page, with the user's menu


@pytest.mark.django_db
def test_a_refused_page_says_so_in_portuguese(agent_client):
    response = agent_client.get(reverse("audit-list"), **PORTUGUESE)

    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Acesso não permitido</h1>" in page
    assert "Ir para a caixa de entrada" in page
    assert_styled_with_the_way_back(page)


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Something went wrong"), ("pt-br", "Algo deu errado")]
)
def test_the_server_error_page_renders_without_a_request_context_or_the_database(language, heading):
    """No ``db`` fixture: a query while rendering would fail the test, as the database may be what broke."""
    with translation.override(language):
        response = server_error(RequestFactory().get("/inbox/"))

    page = response.content.decode()
    assert response.status_code == 500
    assert f"<h1>{heading}</h1>" in page
    assert_styled_with_the_way_back(page)
