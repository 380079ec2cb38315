"""Who may call the API."""

from __future__ import annotations

from rest_framework import permissions


class IsMerchantUser(permissions.BasePermission):
    """Signed in, and a member of a merchant: every API object belongs to one."""

    message = "This account does not belong to a merchant."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "merchant_id", None))
