"""What the hostile-input tests of the JSON API share: ids at the edge of 64 bits, and the shape of a refusal."""

HUGE = "1" + "0" * 21  # beyond 64 bits: no row has it, and the database would overflow on it
MAX_ID = str(2**63 - 1)  # the largest id a row can have: looked up, not refused


def assert_field_refused(response, field: str, reason: str) -> None:
    """A 422 that names the one field refused and why."""
    assert response.status_code == 422
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert response.json()["fields"] == {field: [reason]}


def assert_path_id_refused(response) -> None:
    """An id in the path beyond 64 bits: 422 naming it, never a 500 from the database."""
    assert (response.status_code, list(response.json()["fields"])) == (422, ["id"])


NUL = "Null characters are not allowed."
SURROGATE = "Lone surrogates (\\ud800 to \\udfff) are not allowed."
DEEP = "[" * 50_000 + "]" * 50_000  # json.loads recursed once per bracket: RecursionError, a 500


def assert_too_deep(response) -> None:
    assert (response.status_code, response.json()) == (
        400,
        {
            "error_code": "BAD_REQUEST",
            "message": "The body is not valid JSON: its brackets must close and nest at most 32 levels deep.",
        },
    )
