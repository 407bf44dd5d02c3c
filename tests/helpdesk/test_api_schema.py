"""The API's OpenAPI document: well formed, valid, and saying what each call can answer.

The live fuzzing against it is tests/helpdesk/test_api_contract.py.
"""

import json

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def _refusing_duplicates(pairs: list) -> dict:
    keys = [key for key, _value in pairs]
    duplicated = {key for key in keys if keys.count(key) > 1}
    assert not duplicated, f"duplicated keys {duplicated}"
    return dict(pairs)


def test_the_document_has_no_duplicated_key_and_is_valid_openapi(client):
    """Swagger UI refuses a document with a key twice ("Parser error: duplicated mapping key")."""
    document = json.loads(client.get("/api/openapi.json").content, object_pairs_hook=_refusing_duplicates)

    validate(document)


def test_each_call_lists_what_it_can_answer(client, staff):
    """Not every code for every call (the docs page listed the same seven for all of them)."""
    paths = client.get("/api/openapi.json").json()["paths"]

    assert set(paths["/api/connections"]["get"]["responses"]) == {"200", "401", "403"}
    assert set(paths["/api/connections/{id}/snapshot"]["get"]["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "409",
        "422",
        "503",
    }
    assert set(paths["/api/tickets"]["get"]["responses"]) == {"200", "401", "403", "422"}
    client.force_login(staff)
    page = client.get("/api/docs/").content.decode()
    row = page[page.index("<code>GET /api/connections</code>") :].split("</tr>")[0]
    assert ">200<" in row and ">404<" not in row
