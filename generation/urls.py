from django.urls import path

from generation import views

app_name = "generation"
urlpatterns = [
    path("products/<int:product_id>/copy/", views.product_copy, name="product_copy"),
    path("drafts/<int:draft_id>/decide/", views.draft_decide, name="draft_decide"),
    path("settings/copy/", views.copy_settings, name="copy_settings"),
]
