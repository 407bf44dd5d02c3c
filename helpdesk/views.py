from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from helpdesk.forms import PreferencesForm
from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.languages import language_for, remember_language
from helpdesk.permissions import has_permission
from helpdesk.presence import away_of, presence_of
from helpdesk.selectors import dashboard_figures, preferences_of
from helpdesk.services import preferences_update
from tickets.assignment import agent_away_set
from tickets.audit.selectors import audit_latest


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = dashboard_figures(user=request.user)
    if has_permission(request.user, "tickets.view_auditreport"):
        context["audits"] = {"latest": audit_latest()}
    return render(request, "home.html", context)


def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The home page's live part alone: what the page reads again (htmx) when its socket says the
    figures changed. Read with the reader's own rights, so the socket's event carries nothing."""
    return render(request, "helpdesk/_overview.html", dashboard_figures(user=request.user))


def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own settings (the profile menu's "Preferences"); a new language applies at once."""
    form = PreferencesForm(request.POST or None, instance=preferences_of(user=request.user))
    if request.method == "POST" and form.is_valid():
        preferences_update(user=request.user, **form.cleaned_data)
        remember_language(session=request.session, language=form.cleaned_data["language"])
        translation.activate(language_for(session=request.session, request=request))
        messages.success(request, _("Your preferences are saved."))
        return redirect("preferences")
    return render(request, "preferences.html", {"form": form})


@require_http_methods(["GET", "POST"])
def presence(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The header's presence and away switch. Each page loads it after itself (so no page pays its
    queries) and again when the inbox's socket says the presence changed; POST sets or clears away."""
    if request.method == "POST":
        now = agent_away_set(user=request.user, away=request.POST.get("away") == "1")
    else:
        now = presence_of(user_ids=[request.user.pk])[request.user.pk]
    return render(request, "_presence.html", {"presence": now, "away": away_of(user=request.user)})
