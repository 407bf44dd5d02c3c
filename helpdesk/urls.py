from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contacts import views as contact_views
from helpdesk.api import api_docs, api_urlpatterns
from helpdesk.views import home, overview, preferences, presence
from reports import api as reports_api
from reports import views as reports_views
from tickets import api as tickets_api
from tickets import queues_api
from tickets.audit.views import audit_detail, audit_list
from whatsapp import api as whatsapp_api
from whatsapp import views as whatsapp_views

urlpatterns = [
    path("", home, name="home"),
    path("overview/", overview, name="overview"),
    path("preferences/", preferences, name="preferences"),
    path("presence/", presence, name="presence"),
    path("inbox/", include("tickets.urls")),
    path("contacts/", contact_views.contact_list, name="contact-list"),
    path("contacts/new/", contact_views.conversation_new, name="conversation-new"),
    path("contacts/<int:pk>/", contact_views.contact_detail, name="contact"),
    path("contacts/<int:pk>/edit/", contact_views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/block/", contact_views.contact_block_view, name="contact-block"),
    path("contacts/<int:pk>/merge/", contact_views.contact_merge_view, name="contact-merge"),
    path("reports/", reports_views.reports_page, name="reports"),
    path("reports/export.csv", reports_views.reports_export, name="reports-export"),
    path("audits/", audit_list, name="audit-list"),
    path("audits/<int:pk>/", audit_detail, name="audit-detail"),
    path("connections/", whatsapp_views.connection_list, name="connection-list"),
    path("connections/new/", whatsapp_views.connection_new, name="connection-new"),
    path("connections/<int:pk>/", whatsapp_views.connection_detail, name="connection-detail"),
    path("connections/<int:pk>/snapshot.png", whatsapp_views.connection_snapshot, name="connection-snapshot"),
    path("connections/<int:pk>/settings/", whatsapp_views.connection_edit, name="connection-edit"),
    path(
        "connections/<int:pk>/pairing-code/",
        whatsapp_views.connection_pairing_code,
        name="connection-pairing-code",
    ),
    path("connections/<int:pk>/<slug:action>/", whatsapp_views.connection_action, name="connection-action"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/docs/", api_docs, name="api-docs"),
    path("metrics", whatsapp_views.metrics, name="metrics"),
    path(
        "api/",
        include(
            (
                api_urlpatterns(
                    whatsapp_api.router, tickets_api.router, queues_api.router, reports_api.router
                ),
                "api",
            ),
            namespace="api",
        ),
    ),
]
