from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# A database outage met in a middleware (a session's user) answers 503 too, not 500.
handler500 = "wangge.core.middleware_dbdown.server_error"

urlpatterns = [
    path("api/v1/", include("wangge.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("wangge.core.auth_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("wangge.web.urls")),
]
