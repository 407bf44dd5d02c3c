"""A webhook pointing inside (private, loopback, link-local, mapped) is refused when saved."""

import pytest

from tests.factories import ConnectionFactory


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "[::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
    ],
)
def test_an_internal_target_is_refused_when_saved(api, host):
    connection = ConnectionFactory()

    response = api(
        "PUT", f"connections/{connection.pk}/webhook", {"url": f"http://{host}/hook", "secret": "s"}
    )

    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.webhook_url == ""


def test_a_public_target_is_saved(api):
    connection = ConnectionFactory()

    response = api(
        "PUT", f"connections/{connection.pk}/webhook", {"url": "https://93.184.216.34/hook", "secret": "s"}
    )

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.webhook_url == "https://93.184.216.34/hook"


def test_private_targets_are_allowed_for_development(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    connection = ConnectionFactory()

    assert (
        api(
            "PUT", f"connections/{connection.pk}/webhook", {"url": "http://127.0.0.1:9/h", "secret": "s"}
        ).status_code
        == 200
    )
