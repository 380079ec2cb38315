"""What every generation admin shares."""

from __future__ import annotations

from shop_copilot.admin_scoping import MerchantScopedAdmin


class ReadOnlyAdmin(MerchantScopedAdmin):
    """Rows written by services only: admins look, filter and act through actions."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
