from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from catalog import services
from catalog.models import ImportJob, Merchant, Product, ProductAttribute, ProductImage, User
from shop_copilot.admin_scoping import MerchantScopedAdmin, MerchantScopedInline


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    merchant_path = "pk"
    list_display = ["name", "slug", "product_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["retrain_copy_models"]

    @admin.display(description=_("products"))
    def product_count(self, merchant: Merchant) -> int:
        return merchant.products.count()

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_retrain_permission(self, request: HttpRequest) -> bool:
        """Retraining queues training runs: it takes the permission to add them."""
        return request.user.has_perm("generation.add_trainingrun")

    @admin.action(description=_("Retrain the copy models of the selected merchants"), permissions=["retrain"])
    def retrain_copy_models(self, request: HttpRequest, queryset: QuerySet[Merchant]) -> None:
        """Queue a run for each merchant and language whose accepted copy changed (gpu queue, one at a
        time); the rest are skipped, with the reason."""
        from generation import training  # the training code is heavy; the admin loads it when asked

        plans = training.retrain_plan(merchants=list(queryset.order_by("slug")))
        queued = 0
        skipped: list[str] = []
        for plan in plans:
            if plan.action != "train":
                skipped.append(f"{plan.owner} {plan.language}: {plan.reason}")
                continue
            try:
                training.retrain_start(language=plan.language, merchant=plan.merchant, method=plan.method)
            except ValidationError as exc:
                skipped.append(f"{plan.owner} {plan.language}: {' '.join(exc.messages)}")
            else:
                queued += 1
        message = ngettext("%(count)d run queued", "%(count)d runs queued", queued) % {"count": queued}
        if skipped:
            message = ngettext(
                "%(queued)s; %(count)d skipped (%(reasons)s).",
                "%(queued)s; %(count)d skipped (%(reasons)s).",
                len(skipped),
            ) % {"queued": message, "count": len(skipped), "reasons": "; ".join(skipped)}
        else:
            message = gettext("%(queued)s.") % {"queued": message}
        self.message_user(request, message, messages.SUCCESS if queued else messages.WARNING)


@admin.register(User)
class UserAdmin(MerchantScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "email", "merchant", "is_staff", "is_active", "last_login"]
    list_filter = ["merchant", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "email", "merchant__name"]
    fieldsets = (*DjangoUserAdmin.fieldsets, (_("Merchant"), {"fields": ["merchant"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, (_("Merchant"), {"fields": ["merchant"]}))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A merchant's staff cannot hand out platform powers.
            readonly += ["is_superuser", "user_permissions", "groups"]
        return readonly


class ProductAttributeInline(MerchantScopedInline):
    model = ProductAttribute
    extra = 1
    fields = ["position", "key", "value"]


class ProductImageInline(MerchantScopedInline):
    model = ProductImage
    extra = 0
    fields = ["preview", "original_name", "width", "height", "is_generated", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("preview"))
    def preview(self, image: ProductImage) -> str:
        if not image.pk:
            return ""
        url = f"/products/{image.product_id}/images/{image.pk}/"
        return format_html('<img src="{}" alt="" style="max-height:64px">', url)


@admin.register(Product)
class ProductAdmin(MerchantScopedAdmin):
    list_display = ["sku", "name", "category", "language", "merchant", "updated_at"]
    list_filter = ["merchant", "language", "category"]
    search_fields = ["sku", "name", "attributes__value"]
    list_select_related = ["merchant"]
    inlines = [ProductAttributeInline, ProductImageInline]
    date_hierarchy = "updated_at"

    def get_exclude(self, request, obj=None):
        return [] if request.user.is_superuser else ["merchant"]


@admin.register(ProductAttribute)
class ProductAttributeAdmin(MerchantScopedAdmin):
    merchant_path = "product__merchant"
    list_display = ["key", "value", "product", "position"]
    list_filter = ["key"]
    search_fields = ["key", "value", "product__sku", "product__name"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]


@admin.register(ProductImage)
class ProductImageAdmin(MerchantScopedAdmin):
    merchant_path = "product__merchant"
    list_display = ["__str__", "product", "width", "height", "is_generated", "created_at"]
    list_filter = ["is_generated"]
    search_fields = ["original_name", "product__sku", "product__name"]
    list_select_related = ["product"]
    readonly_fields = ["image", "width", "height", "original_name", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # images are added from the product page, where uploads are verified


@admin.register(ImportJob)
class ImportJobAdmin(MerchantScopedAdmin):
    list_display = ["id", "original_name", "merchant", "status", "done", "total", "created_at"]
    list_filter = ["status", "file_format", "merchant"]
    actions = ["cancel_imports"]
    search_fields = ["original_name", "celery_task_id"]
    list_select_related = ["merchant"]
    readonly_fields = [
        "merchant", "created_by", "file", "original_name", "file_format", "status", "total", "done",
        "created_count", "updated_count", "errors", "error_message", "attempts", "celery_task_id",
        "created_at", "started_at", "finished_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # imports start from the import page or the API, where files are checked

    @admin.action(description=_("Cancel the selected imports"))
    def cancel_imports(self, request, queryset) -> None:
        cancelled = finished = 0
        for job in queryset:
            try:
                services.import_job_cancel(job=job)
            except ValidationError:
                finished += 1
            else:
                cancelled += 1
        message = _("%(count)d imports cancelled.") % {"count": cancelled}
        if finished:
            message += " " + _("%(count)d had already finished.") % {"count": finished}
        self.message_user(request, message)


admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ScopedTokenAdmin(MerchantScopedAdmin, TokenAdmin):
    merchant_path = "user__merchant"

admin.site.site_header = _("Shop Copilot admin")
admin.site.site_title = _("Shop Copilot")
