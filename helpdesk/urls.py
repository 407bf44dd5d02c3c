from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contacts.views import contact_list
from helpdesk.api import api_docs, api_urlpatterns
from helpdesk.views import home
from whatsapp import views as whatsapp_views

urlpatterns = [
    path("", home, name="home"),
    path("inbox/", include("tickets.urls")),
    path("contacts/", contact_list, name="contact-list"),
    path("connections/", whatsapp_views.connection_list, name="connection-list"),
    path("connections/new/", whatsapp_views.connection_new, name="connection-new"),
    path("connections/<int:pk>/", whatsapp_views.connection_detail, name="connection-detail"),
    path("connections/<int:pk>/snapshot.png", whatsapp_views.connection_snapshot, name="connection-snapshot"),
    path("connections/<int:pk>/settings/", whatsapp_views.connection_edit, name="connection-edit"),
    path("connections/<int:pk>/pairing-code/", whatsapp_views.connection_pairing_code, name="connection-pairing-code"),
    path("connections/<int:pk>/<slug:action>/", whatsapp_views.connection_action, name="connection-action"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/docs/", api_docs, name="api-docs"),
    path("metrics", whatsapp_views.metrics, name="metrics"),
    path("api/", include((api_urlpatterns(), "api"), namespace="api")),
]
