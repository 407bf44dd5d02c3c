"""The agents' pages: the inbox (inbox.py), a ticket and its actions (ticket.py), its files (media.py)."""
