"""``{{ contact.phone|phone }}``: a stored number in the international format (contacts/phones.py)."""

from django import template

from contacts.phones import phone_display

register = template.Library()
register.filter("phone", phone_display)
