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
