"""Forms that check the shape of what a person typed; the services check the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog import importing
from catalog.models import Language


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)


class ProductForm(Form):
    sku = forms.CharField(label=_("SKU"), max_length=importing.MAX_SKU)
    name = forms.CharField(label=_("Name"), max_length=importing.MAX_NAME)
    category = forms.CharField(
        label=_("Category"), max_length=importing.MAX_CATEGORY, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)


class ProductCreateForm(ProductForm):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Detect from the name")), *Language.choices],
        required=False,
    )


class AttributeForm(Form):
    key = forms.CharField(
        label=_("Key"),
        max_length=importing.MAX_KEY,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. colour")}),
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=importing.MAX_VALUE,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. black")}),
    )


class ImageUploadForm(Form):
    # A FileField, not an ImageField: services.product_image_add is where images are checked.
    image = forms.FileField(
        label=_("Image"),
        help_text=_("JPEG, PNG, WebP or GIF."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )


class ImportUploadForm(Form):
    file = forms.FileField(
        label=_("Catalog file"),
        help_text=_(
            "A .csv or .jsonl (JSON Lines) file with the columns sku and name; category and "
            "language are optional and every other column becomes an attribute."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,.jsonl,.ndjson,.json"}),
    )
