"""The ticket's admin: the customer's satisfaction rating shown read-only, and the list filtered by it."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_ticket_page_shows_the_rating_its_comment_and_when_read_only(staff_client, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    ticket = TicketFactory(
        status=Ticket.Status.CLOSED,
        csat_rating=4,
        csat_comment="Rápido & educado",
        csat_rated_at=datetime(2026, 12, 4, 13, 5, tzinfo=UTC),
    )

    page = staff_client.get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="pt-br"
    ).content.decode()

    for field, shown in (
        ("csat_rating", "4"),
        ("csat_comment", "Rápido &amp; educado"),
        ("csat_rated_at", "10:05"),
    ):
        row = re.search(
            rf'<div class="form-row field-{field}">.*?<div class="readonly">(.*?)</div>', page, re.S
        )
        assert row and shown in row.group(1), field
    for field in ("csat_rating", "csat_comment", "csat_rated_at"):
        assert f'name="{field}"' not in page  # nothing to type over what the customer said


def test_the_list_shows_and_filters_by_rating(staff_client):
    top, low = (TicketFactory(status=Ticket.Status.CLOSED, csat_rating=rating) for rating in (5, 2))
    silent = TicketFactory(status=Ticket.Status.CLOSED)
    changelist = reverse("admin:tickets_ticket_changelist")

    shown = {
        value: {
            ticket.pk
            for ticket in staff_client.get(changelist, {"csat_rating": value}).context["cl"].result_list
        }
        for value in ("5", "2", "3", "none", "")
    }

    assert shown == {
        "5": {top.pk},
        "2": {low.pk},
        "3": set(),
        "none": {silent.pk},
        "": {top.pk, low.pk, silent.pk},
    }
    page = staff_client.get(changelist).content.decode()
    assert "?csat_rating=none" in page and "Not rated" in page
    assert '<td class="field-csat_rating">5</td>' in page
