"""API routes of this app; mounted under /api/v1/ by bookstore.api."""

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("users/me/addresses", views.AddressViewSet, basename="address")

urlpatterns: list[URLPattern] = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password-reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/oidc/<str:provider>/start", views.OidcStartView.as_view(), name="auth-oidc-start"),
    path("auth/oidc/<str:provider>/callback", views.OidcCallbackView.as_view(), name="auth-oidc-callback"),
    path("users/me", views.MeView.as_view(), name="user-me"),
    path("users/me/password", views.PasswordChangeView.as_view(), name="user-me-password"),
    path("users/me/export", views.PersonalDataExportView.as_view(), name="user-me-export"),
]
