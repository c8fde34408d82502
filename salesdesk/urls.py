from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from salesdesk import views
from salesdesk.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=views.SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("salesdesk.core.urls")),
    path("", include("salesdesk.accounts.urls")),
    path("", include("salesdesk.crm.urls")),
    path("", include("salesdesk.pipeline.urls")),
    path("", include("salesdesk.activities.urls")),
    path("", include("salesdesk.goals.urls")),
    path("", include("salesdesk.goals.forecast_urls")),
    path("", include("salesdesk.analytics.urls")),
    path("", include("salesdesk.capture.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

handler404 = "salesdesk.views.not_found"
handler500 = "salesdesk.views.server_error"
