"""The request the helpdesk's pages receive, as the type checker should see it.

Django types ``request.user`` as "a user or AnonymousUser" and knows nothing of django-htmx's
``request.htmx``. LoginRequiredMiddleware lets only signed-in users reach a page view (the few
``login_not_required`` views keep the plain ``HttpRequest``), and HtmxMiddleware sets ``htmx`` on
every request, so a page view annotates its request with this class (django-htmx's documented way).
"""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
