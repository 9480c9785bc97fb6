from django.urls import path

from wangge.core import auth_views

urlpatterns = [
    path("accounts/totp/", auth_views.totp_verify, name="account-totp-verify"),
    path("accounts/totp/enrol/", auth_views.totp_enrol, name="account-totp-enrol"),
]
