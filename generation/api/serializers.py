from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Language
from generation.models import CopyField, Draft, GenerationJob, ImageJob, Length, Tone


class GenerationJobCreateSerializer(serializers.Serializer):
    product_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=5000
    )
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=CopyField.choices), allow_empty=False
    )
    language = serializers.ChoiceField(
        choices=Language.choices, required=False, help_text="Default: each product's own language."
    )
    tone = serializers.ChoiceField(choices=Tone.choices, default=Tone.PROFESSIONAL)
    length = serializers.ChoiceField(choices=Length.choices, default=Length.MEDIUM)
    channel = serializers.CharField(default="generic", max_length=32, help_text="generic, amazon, taobao …")
    few_shot = serializers.BooleanField(
        default=True, help_text="Show the model your accepted copy of similar products."
    )


class GenerationJobErrorSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()


class GenerationJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    error = serializers.CharField(source="error_message")
    errors = GenerationJobErrorSerializer(many=True)
    product_ids = serializers.PrimaryKeyRelatedField(source="products", many=True, read_only=True)

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "status",
            "progress",
            "error",
            "errors",
            "product_ids",
            "fields",
            "language",
            "tone",
            "length",
            "channel",
            "few_shot",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: GenerationJob) -> dict[str, int]:
        return {"done": job.done, "total": job.total}


class SpanSerializer(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    reason = serializers.CharField()


class GroundingSerializer(serializers.Serializer):
    coverage = serializers.FloatField()
    used = serializers.ListField(child=serializers.CharField())
    unused = serializers.ListField(child=serializers.CharField())
    ungrounded = SpanSerializer(many=True)


class AlternativeSerializer(serializers.Serializer):
    text = serializers.CharField()
    score = serializers.FloatField()
    grounding = GroundingSerializer()
    violations = SpanSerializer(many=True)


EMPTY_GROUNDING = {"coverage": 0.0, "used": [], "unused": [], "ungrounded": []}


class DraftSerializer(serializers.ModelSerializer):
    grounding = serializers.SerializerMethodField()
    violations = SpanSerializer(many=True)
    alternatives = AlternativeSerializer(many=True)
    model_version = serializers.StringRelatedField()

    class Meta:
        model = Draft
        fields = [
            "id",
            "product",
            "field",
            "language",
            "channel",
            "tone",
            "length",
            "text",
            "status",
            "version",
            "grounding",
            "has_ungrounded",
            "violations",
            "alternatives",
            "model_version",
            "job",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(GroundingSerializer)
    def get_grounding(self, draft: Draft) -> dict:
        # Drafts are checked when written; one made another way still answers in the same shape.
        return GroundingSerializer({**EMPTY_GROUNDING, **draft.grounding}).data


class DraftAcceptSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version you read; a stale one gets 409.")
    text = serializers.CharField(
        required=False, trim_whitespace=True, max_length=20_000, help_text="Your edit, if any."
    )


class DraftRejectSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)


class DraftRegenerateSerializer(serializers.Serializer):
    tone = serializers.ChoiceField(choices=Tone.choices, required=False)
    length = serializers.ChoiceField(choices=Length.choices, required=False)


class ImageJobCreateSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    count = serializers.IntegerField(min_value=1, help_text="How many variants (at most 16 by default).")
    colour = serializers.CharField(
        required=False, max_length=32, help_text="English or Chinese name; default: the product's colour."
    )
    category = serializers.CharField(
        required=False, max_length=32, help_text="Default: judged from the product's name and category."
    )


class GeneratedImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, generated) -> str:
        return f"/products/{generated.product_id}/variants/{generated.pk}/"


class ImageJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    error = serializers.CharField(source="error_message")
    product_id = serializers.IntegerField()
    images = GeneratedImageSerializer(many=True)

    class Meta:
        model = ImageJob
        fields = [
            "id",
            "status",
            "progress",
            "error",
            "product_id",
            "category",
            "colour",
            "images",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: ImageJob) -> dict[str, int]:
        return {"done": job.done, "total": job.total}


class AcceptedCopySerializer(serializers.Serializer):
    """One row of published copy, as `generation.export.export_rows` makes it."""

    sku = serializers.CharField()
    product_name = serializers.CharField()
    category = serializers.CharField()
    field = serializers.ChoiceField(choices=CopyField.choices)
    language = serializers.ChoiceField(choices=Language.choices)
    channel = serializers.CharField()
    text = serializers.CharField(help_text="Bullets and tags: one item a line.")
    accepted_at = serializers.CharField(help_text="ISO 8601 date-time; empty when unknown.")
    accepted_by = serializers.CharField(help_text="Username of who accepted it; empty when unknown.")
    draft_id = serializers.IntegerField()
    version = serializers.IntegerField()
    model = serializers.CharField(help_text="The model version that wrote it; empty when unknown.")
