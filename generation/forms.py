"""Forms for asking for copy and for a merchant's copy rules; services check the rest."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from catalog.forms import Form
from catalog.models import Language
from generation.ml.channels import channel_profiles
from generation.models import CopyField, Length, Tone

DEFAULT_FIELDS = [CopyField.TITLE, CopyField.DESCRIPTION, CopyField.BULLETS]


def channel_choices() -> list[tuple[str, str]]:
    return [(slug, profile.label) for slug, profile in sorted(channel_profiles().items())]


class GenerateForm(Form):
    fields = forms.MultipleChoiceField(
        label=_("Fields"),
        choices=CopyField.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_FIELDS,
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The product's language")), *Language.choices],
    )
    tone = forms.ChoiceField(label=_("Tone"), choices=Tone.choices, initial=Tone.PROFESSIONAL)
    length = forms.ChoiceField(label=_("Length"), choices=Length.choices, initial=Length.MEDIUM)
    channel = forms.ChoiceField(label=_("Channel"), choices=channel_choices, initial="generic")


class RegenerateForm(Form):
    """Write one field again; an option left empty keeps the draft's own."""

    tone = forms.ChoiceField(label=_("Tone"), required=False, choices=[("", _("Same tone")), *Tone.choices])
    length = forms.ChoiceField(
        label=_("Length"), required=False, choices=[("", _("Same length")), *Length.choices]
    )


class CopySettingsForm(Form):
    banned_words = forms.CharField(
        label=_("Banned words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("One word or phrase a line. Drafts that use one are flagged and ranked last."),
    )
    share_for_training = forms.BooleanField(
        label=_("Let my accepted copy improve the shared model"),
        required=False,
        help_text=_(
            "Off: the copy you accept only trains your shop's own adapter. On: it also helps train "
            "the shared model every shop starts from."
        ),
    )

    def clean_banned_words(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["banned_words"].splitlines() if line.strip()]


class ImageJobForm(Form):
    colour = forms.ChoiceField(label=_("Colour"), required=False)
    count = forms.IntegerField(label=_("How many"), min_value=1, initial=4)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from django.conf import settings

        from generation.ml.gan.labels import COLOURS

        self.fields["colour"].choices = [("", _("The product's colour"))] + [
            (c.en, f"{c.en} · {c.zh}") for c in COLOURS
        ]
        self.fields["count"].validators.append(MaxValueValidator(settings.COPILOT_IMAGE_JOB_MAX_COUNT))
        self.fields["count"].widget.attrs["max"] = settings.COPILOT_IMAGE_JOB_MAX_COUNT
