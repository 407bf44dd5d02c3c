from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from contacts.views import contact_list
from helpdesk.views import home
from tickets.views import inbox
from whatsapp.views import connection_list

urlpatterns = [
    path("", home, name="home"),
    path("inbox/", inbox, name="inbox"),
    path("contacts/", contact_list, name="contact-list"),
    path("connections/", connection_list, name="connection-list"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
