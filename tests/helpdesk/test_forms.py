"""The pages' forms look like the inbox's: a label above its field, a checkbox inside its label, help
under the field (templates/forms/stacked.html); an add-connection form without queues says how to
make one."""

import re

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory, ContactFactory, QueueFactory

pytestmark = pytest.mark.django_db


def _forms_of(page: str) -> str:
    return "".join(re.findall(r'<form[^>]*class="stacked"[^>]*>.*?</form>', page, re.S))


@pytest.mark.parametrize(
    "name", ["preferences", "connection-new", "conversation-new", "contact", "connection-detail"]
)
def test_every_field_sits_with_its_label(staff_client, name):
    QueueFactory(name="Vendas")
    args = {"contact": [ContactFactory().pk], "connection-detail": [ConnectionFactory().pk]}.get(name, [])
    forms = _forms_of(staff_client.get(reverse(name, args=args)).content.decode())

    fields = re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="(id_[^"]+)"', forms)
    checkboxes = re.findall(r'<input type="checkbox"[^>]*\bid="(id_[^"]+)"', forms)
    assert fields
    for checkbox in checkboxes:  # beside its text, inside one label: a click on the words ticks it
        assert re.search(
            rf'<label( for="{checkbox}")?>\s*<input type="checkbox"[^>]*id="{checkbox}"[^>]*>\s*\w', forms
        )
    for field in set(fields) - set(checkboxes):
        assert re.search(rf'<label for="{field}">[^<:]+</label>', forms), field  # above it, no colon
    assert forms.count('<div class="field ') >= len({re.sub(r"_\d+$", "", f) for f in fields})


def test_adding_a_connection_without_queues_says_how_to_make_one(staff_client):
    page = staff_client.get(reverse("connection-new")).content.decode()

    assert "There is no queue yet" in page
    assert f'<a href="{reverse("admin:tickets_queue_add")}">add one in the admin</a>' in page


def test_with_queues_each_is_a_box_to_tick(staff_client):
    QueueFactory(name="Vendas")

    page = staff_client.get(reverse("connection-new")).content.decode()

    assert "There is no queue yet" not in page
    assert re.search(
        r'<label for="id_queues_0"><input type="checkbox" name="queues"[^>]*>\s*Vendas</label>', page
    )
