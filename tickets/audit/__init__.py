"""The audit (issue 10): is WhatsApp really connected, and are only the new conversations open?

Each section module checks one part of the system and returns a ``Section``
(``checks.py``); ``service.py`` runs them, saves the report and tells the
webhooks; ``stale.py`` is the closing policy; ``report.py`` renders.
"""
