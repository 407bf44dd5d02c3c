"""``{{ contact.phone|phone }}``: a stored number in the international format (helpdesk/phones.py)."""

from django import template

from helpdesk.phones import phone_display

register = template.Library()
register.filter("phone", phone_display)
