from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_detail, name="product_detail"),
    path("products/<int:product_id>/delete/", views.product_delete, name="product_delete"),
    path("products/<int:product_id>/attributes/", views.attribute_add, name="attribute_add"),
    path(
        "products/<int:product_id>/attributes/<int:attribute_id>/delete/",
        views.attribute_remove,
        name="attribute_remove",
    ),
    path("products/<int:product_id>/images/", views.image_upload, name="image_upload"),
    path(
        "products/<int:product_id>/images/<int:image_id>/",
        views.image_file,
        name="image_file",
    ),
    path(
        "products/<int:product_id>/images/<int:image_id>/delete/",
        views.image_delete,
        name="image_delete",
    ),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:import_id>/cancel/", views.import_cancel, name="import_cancel"),
]
