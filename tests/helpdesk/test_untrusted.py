"""Text no store keeps (a NUL, a lone surrogate) is refused where it enters, naming the field: never a 500.

The API's cases are in tests/tickets/test_api_inputs.py and tests/whatsapp/test_api_inputs.py;
here the pages' query strings and forms, and the JSON depth measure. Run on PostgreSQL too
(DATABASE_URL): it is there that a NUL in a query failed.
"""

import json

import pytest
from django.urls import reverse

from helpdesk.api_common import ApiError
from helpdesk.untrusted import MAX_JSON_DEPTH, json_body
from tests.api_inputs import NUL
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/contacts/?q=a%00", "q"),
        ("/inbox/?q=%00", "q"),
        ("/admin/contacts/contact/?q=a%00", "q"),
        ("/contacts/?%00=1", "\0"),
    ],
)
def test_a_page_asked_with_a_nul_in_its_query_is_400_naming_the_parameter(admin_client, url, field):
    ContactFactory(name="Maria")

    response = admin_client.get(url)

    assert response.status_code == 400
    assert response.context["fields"] == {field: [NUL]}
    assert NUL in response.content.decode()


def test_a_page_form_shows_the_nul_as_a_form_error(admin_client):
    contact = ContactFactory(name="Maria")

    response = admin_client.post(reverse("contact-edit", args=[contact.pk]), {"name": "Ma\0ria", "email": ""})

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [NUL]
    contact.refresh_from_db()
    assert contact.name == "Maria"


def test_json_as_deep_as_the_limit_is_read_and_one_level_more_is_refused():
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    assert json_body(deep.encode()) == json.loads(deep)
    with pytest.raises(ApiError) as refused:
        json_body(("[" + deep + "]").encode())
    assert refused.value.status == 400


def test_brackets_inside_strings_are_text_not_nesting():
    text = '[{"\\"' * 1000

    assert json_body(json.dumps({"body": text}).encode()) == {"body": text}
