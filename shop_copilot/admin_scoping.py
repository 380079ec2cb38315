"""Admin access for merchants' own staff: a non-superuser sees and edits only its merchant's rows."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class MerchantScopedAdmin(admin.ModelAdmin):
    """Filters every queryset, choice list and lookup by `merchant_path` for non-superusers."""

    merchant_path = "merchant"

    def user_merchant_id(self, request: HttpRequest) -> int | None:
        return getattr(request.user, "merchant_id", None)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.merchant_path: self.user_merchant_id(request)})

    def get_list_filter(self, request: HttpRequest):
        # A merchant filter would list every merchant's name in the sidebar.
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f != "merchant"]

    def get_list_display(self, request: HttpRequest):
        display = super().get_list_display(request)
        if request.user.is_superuser:
            return display
        return [d for d in display if d != "merchant"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        if not request.user.is_superuser and self.user_merchant_id(request) is None:
            return False
        return super().has_module_permission(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            scoped = scoped_choices(db_field.related_model, self.user_merchant_id(request))
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        if not request.user.is_superuser and self.merchant_path == "merchant":
            obj.merchant_id = self.user_merchant_id(request)
        super().save_model(request, obj, form, change)


class MerchantScopedInline(admin.TabularInline):
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            scoped = scoped_choices(db_field.related_model, getattr(request.user, "merchant_id", None))
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scoped_choices(model: type[Model], merchant_id: int | None) -> QuerySet | None:
    """The rows of `model` a merchant may pick in a foreign-key field, or None if unscoped."""
    from catalog.models import Merchant, Product, User

    if model is Merchant:
        return Merchant.objects.filter(pk=merchant_id)
    if model in (Product, User):
        return model.objects.filter(merchant_id=merchant_id)
    return None
