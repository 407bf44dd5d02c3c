"""Factories for the domain models: tests build only what they assert on."""

from functools import cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from contacts.models import Contact
from tickets.models import Message, Queue, Ticket
from whatsapp.models import Connection, ConnectionEvent

PASSWORD = "agent-password"  # every factory user's


@cache
def password_hash() -> str:
    """PASSWORD hashed once a run, for every user: the hasher's work (PBKDF2, on purpose slow) was a
    good part of many tests' setup. A real hash, so the daphne of the browser tests checks it too."""
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"agent{n}")
    password = factory.LazyFunction(password_hash)


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    phone = factory.Sequence(lambda n: f"55119{n:08d}")
    wa_id = factory.LazyAttribute(lambda contact: f"{contact.phone}@c.us")
    push_name = factory.Faker("name")


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"Number {n}")


class ConnectionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectionEvent

    connection = factory.SubFactory(ConnectionFactory)
    message = factory.Faker("sentence")


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue

    name = factory.Sequence(lambda n: f"Queue {n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    contact = factory.SubFactory(ContactFactory)
    connection = factory.SubFactory(ConnectionFactory)
    last_message_preview = factory.Faker("sentence")
    last_message_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    connection = factory.SelfAttribute("ticket.connection")
    body = factory.Faker("sentence")
    status = Message.Status.RECEIVED
