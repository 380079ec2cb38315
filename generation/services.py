"""Writes for copy generation: jobs, drafts and the decisions merchants make about them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from catalog import jobs
from catalog.models import JobStatus, Language, Merchant, Product, User
from generation import copywriter
from generation.ml.channels import channel_profile, channel_profiles
from generation.ml.prompts import ProductFacts
from generation.ml.scoring import check_candidate, edit_distance
from generation.models import (
    CopyField,
    CopySettings,
    Draft,
    DraftRevision,
    DraftStatus,
    GenerationJob,
    Length,
    Tone,
    TrainingExample,
)

logger = logging.getLogger(__name__)

GENERATION_MAX_ATTEMPTS = 3
MAX_BANNED_WORDS = 200


class StaleVersion(Exception):
    """The draft changed since the caller read it; nothing was written."""

    def __init__(self, draft: Draft) -> None:
        super().__init__(f"Draft {draft.pk} is at version {draft.version}")
        self.draft = draft


# --- Merchant settings ------------------------------------------------------------------------


def copy_settings_get(*, merchant: Merchant) -> CopySettings:
    return CopySettings.objects.get_or_create(merchant=merchant)[0]


def copy_settings_update(*, merchant: Merchant, banned_words: Iterable[str]) -> CopySettings:
    """Replace the merchant's banned words (trimmed, de-duplicated, order kept)."""
    words: list[str] = []
    for word in banned_words:
        word = " ".join(str(word).split())
        if not word:
            continue
        if len(word) > 60:
            raise ValidationError({"banned_words": f"'{word[:20]}…' is longer than 60 characters."})
        if word.lower() not in {w.lower() for w in words}:
            words.append(word)
    if len(words) > MAX_BANNED_WORDS:
        raise ValidationError({"banned_words": f"At most {MAX_BANNED_WORDS} banned words."})
    copy_settings = copy_settings_get(merchant=merchant)
    copy_settings.banned_words = words
    copy_settings.save(update_fields=["banned_words"])
    return copy_settings


# --- Jobs -------------------------------------------------------------------------------------


def _choice(value: str, choices: type, name: str) -> str:
    if value not in choices.values:
        raise ValidationError({name: f"Unknown {name} '{value}'; choose one of {', '.join(choices.values)}."})
    return value


def generation_job_create(
    *,
    merchant: Merchant,
    product_ids: Sequence[int],
    fields: Sequence[str],
    language: str = "",
    tone: str = Tone.PROFESSIONAL,
    length: str = Length.MEDIUM,
    channel: str = "generic",
    few_shot: bool = True,
    user: User | None = None,
    enqueue: bool = True,
) -> GenerationJob:
    """Validate a request for drafts and queue it once the row is committed."""
    fields = list(dict.fromkeys(fields))
    if not fields:
        raise ValidationError({"fields": "Pick at least one field."})
    for name in fields:
        _choice(name, CopyField, "field")
    _choice(tone, Tone, "tone")
    _choice(length, Length, "length")
    if language:
        _choice(language, Language, "language")
    if channel not in channel_profiles():
        raise ValidationError(
            {"channel": f"Unknown channel '{channel}'; choose one of {', '.join(channel_profiles())}."}
        )
    profile = channel_profile(channel)
    if profile.language:
        if language and language != profile.language:
            raise ValidationError(
                {"channel": f"{profile.label} copy is written in '{profile.language}', not '{language}'."}
            )
        language = profile.language

    product_ids = list(dict.fromkeys(int(pk) for pk in product_ids))
    if not product_ids:
        raise ValidationError({"product_ids": "Pick at least one product."})
    products = Product.objects.filter(merchant=merchant, pk__in=product_ids).annotate(
        attribute_count=Count("attributes")
    )
    found = {p.pk: p for p in products}
    missing = [pk for pk in product_ids if pk not in found]
    if missing:
        # Another merchant's product reads exactly like one that does not exist.
        shown = ", ".join(str(pk) for pk in missing[:10])
        raise ValidationError({"product_ids": f"No product with id {shown} in your catalog."})
    if not any(p.attribute_count for p in found.values()):
        raise ValidationError(
            {"product_ids": "None of these products has attributes yet; add keywords first."}
        )
    total = len(product_ids) * len(fields)
    if total > settings.COPILOT_GENERATION_MAX_DRAFTS:
        raise ValidationError(
            {
                "product_ids": f"{total} drafts in one job is too many; the limit is "
                f"{settings.COPILOT_GENERATION_MAX_DRAFTS}. Split the selection."
            }
        )

    with transaction.atomic():
        job = GenerationJob.objects.create(
            merchant=merchant,
            created_by=user,
            fields=fields,
            language=language,
            tone=tone,
            length=length,
            channel=channel,
            few_shot=few_shot,
            total=total,
        )
        job.products.set(found.values())
        if enqueue:
            transaction.on_commit(lambda: _enqueue_generation(job))
    return job


def _enqueue_generation(job: GenerationJob) -> None:
    from generation.tasks import generation_run

    jobs.job_enqueue(job, generation_run)


def _finish(job: GenerationJob, status: str, *, message: str = "") -> GenerationJob:
    return jobs.job_finish(job, status, message=message, errors=job.errors)


def generation_job_run(*, job_id: int) -> GenerationJob | None:
    """Write the job's drafts batch by batch. After a crash it resumes where it stopped."""
    job = GenerationJob.objects.select_related("merchant").filter(pk=job_id).first()
    if job is None:
        logger.warning("Generation job %s no longer exists; nothing to do", job_id)
        return None
    if job.is_finished:
        return job
    if job.attempts >= GENERATION_MAX_ATTEMPTS:
        return _finish(
            job,
            JobStatus.FAILED,
            message=f"The job was interrupted {job.attempts} times and was stopped. Drafts written "
            "before that are kept; start a new job for the rest.",
        )
    if not jobs.job_start(job):
        return job  # cancelled a moment ago

    profile = channel_profile(job.channel)
    options = copywriter.WriteOptions(
        tone=job.tone,
        length=job.length,
        profile=profile,
        banned_words=tuple(copy_settings_get(merchant=job.merchant).banned_words),
        few_shot=job.few_shot,
        seed=job.pk,
    )
    products = list(job.products.prefetch_related("attributes").order_by("pk"))
    already = set(job.drafts.values_list("product_id", "field"))
    errors = []
    pending: list[copywriter.WorkItem] = []
    for product in products:
        for field_name in job.fields:
            if (product.pk, field_name) in already:
                continue
            if not product.attributes.all():
                errors.append(
                    {
                        "product": product.pk,
                        "sku": product.sku,
                        "field": field_name,
                        "message": "Skipped: the product has no attributes.",
                    }
                )
                continue
            pending.append(copywriter.WorkItem(product, field_name, job.language or product.language))
    job.errors = errors
    job.done = len(already) + len(errors)
    job.save(update_fields=["errors", "done"])

    pending.sort(key=lambda i: (i.language, i.field))
    batch_size = settings.COPILOT_GENERATION_BATCH_SIZE
    for _key, group in groupby(pending, key=lambda i: (i.language, i.field)):
        group_items = list(group)
        for start in range(0, len(group_items), batch_size):
            if jobs.job_stopped(job):
                logger.info("Generation job %s cancelled after %s of %s", job.pk, job.done, job.total)
                job.refresh_from_db()
                return job
            batch = group_items[start : start + batch_size]
            written = copywriter.write_batch(batch, options, merchant=job.merchant)
            _store_drafts(job, written, options)
            job.done += len(batch)
            job.save(update_fields=["done"])
    return _finish(job, JobStatus.SUCCEEDED)


@transaction.atomic
def _store_drafts(
    job: GenerationJob, written: list[copywriter.WrittenDraft], options: copywriter.WriteOptions
) -> None:
    for result in written:
        item, best = result.item, result.best
        # A new proposal replaces earlier ones still waiting for the same field; accepted copy stays.
        Draft.objects.filter(
            product=item.product,
            field=item.field,
            language=item.language,
            channel=job.channel,
            status=DraftStatus.PROPOSED,
        ).update(status=DraftStatus.SUPERSEDED, version=F("version") + 1)
        draft = Draft.objects.create(
            product=item.product,
            job=job,
            field=item.field,
            language=item.language,
            channel=job.channel,
            tone=job.tone,
            length=job.length,
            text=best.text,
            grounding=best.grounding.to_dict(),
            violations=[v.to_dict() for v in best.violations],
            has_ungrounded=bool(best.grounding.ungrounded),
            score=best.score,
            alternatives=[c.to_dict() for c in result.ranked[1:]],
            source_attributes=[list(pair) for pair in result.facts.attributes],
            few_shot_count=result.few_shot_count,
            model_version=result.model_version,
        )
        DraftRevision.objects.create(draft=draft, version=draft.version, text=draft.text)


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Stop a queued or running job between batches; drafts already written stay."""
    return jobs.job_cancel(job, message="Cancelled. Drafts written before the cancel are kept.")


def generation_job_fail(*, job_id: int, message: str) -> None:
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job:
        _finish(job, JobStatus.FAILED, message=message)


# --- Decisions on drafts ----------------------------------------------------------------------


def _locked_draft(draft: Draft, version: int | None) -> Draft:
    locked = Draft.objects.select_for_update().select_related("product").get(pk=draft.pk)
    if version is not None and locked.version != version:
        raise StaleVersion(locked)
    return locked


@transaction.atomic
def draft_accept(*, draft: Draft, user: User | None, version: int | None, text: str | None = None) -> Draft:
    """Publish a draft, as written or as the merchant edited it, and learn from it."""
    draft = _locked_draft(draft, version)
    if draft.status != DraftStatus.PROPOSED:
        raise ValidationError(
            f"This draft is {draft.get_status_display().lower()}; only a waiting draft can be accepted."
        )
    generated = draft.text
    if text is not None:
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise ValidationError({"text": "The text is empty; reject the draft instead."})
        if len(text) > 20_000:
            raise ValidationError({"text": "The text is longer than 20,000 characters."})
    edited = text is not None and text != generated
    draft.version += 1
    if edited:
        draft.text = text
        _recheck(draft)
        DraftRevision.objects.create(draft=draft, version=draft.version, text=text, author=user)
    # The field's earlier accepted copy (same language and channel) is replaced by this one.
    Draft.objects.filter(
        product=draft.product,
        field=draft.field,
        language=draft.language,
        channel=draft.channel,
        status=DraftStatus.ACCEPTED,
    ).exclude(pk=draft.pk).update(status=DraftStatus.SUPERSEDED, version=F("version") + 1)
    draft.status = DraftStatus.ACCEPTED
    draft.decided_by = user
    draft.decided_at = timezone.now()
    draft.save()
    TrainingExample.objects.create(
        merchant_id=draft.product.merchant_id,
        product=draft.product,
        draft=draft,
        field=draft.field,
        language=draft.language,
        channel=draft.channel,
        product_name=draft.product.name,
        category=draft.product.category,
        input_attributes=draft.source_attributes,
        target_text=draft.text,
        source=TrainingExample.Source.EDITED if edited else TrainingExample.Source.ACCEPTED,
        edit_distance=edit_distance(generated, draft.text) if edited else 0,
    )
    return draft


def _recheck(draft: Draft) -> None:
    """Check an edited text as a generated one is checked, so the editor shows its problems too."""
    facts = ProductFacts(
        name=draft.product.name,
        category=draft.product.category,
        attributes=tuple((str(k), str(v)) for k, v in draft.source_attributes),
    )
    check = check_candidate(
        draft.text,
        facts=facts,
        field=draft.field,
        language=draft.language,
        length=draft.length,
        profile=channel_profile(draft.channel),
        extra_banned=copy_settings_get(merchant=draft.product.merchant).banned_words,
    )
    draft.grounding = check.grounding.to_dict()
    draft.violations = [v.to_dict() for v in check.violations]
    draft.has_ungrounded = bool(check.grounding.ungrounded)
    draft.score = check.score


@transaction.atomic
def draft_reject(*, draft: Draft, user: User | None, version: int | None = None) -> Draft:
    draft = _locked_draft(draft, version)
    if draft.status != DraftStatus.PROPOSED:
        raise ValidationError(
            f"This draft is {draft.get_status_display().lower()}; only a waiting draft can be rejected."
        )
    draft.status = DraftStatus.REJECTED
    draft.version += 1
    draft.decided_by = user
    draft.decided_at = timezone.now()
    draft.save(update_fields=["status", "version", "decided_by", "decided_at", "updated_at"])
    return draft


def draft_regenerate(
    *, draft: Draft, user: User | None, tone: str | None = None, length: str | None = None
) -> GenerationJob:
    """Write the draft's field again with other options; the new draft replaces it when done."""
    return generation_job_create(
        merchant=draft.product.merchant,
        product_ids=[draft.product_id],
        fields=[draft.field],
        language=draft.language,
        tone=tone or draft.tone,
        length=length or draft.length,
        channel=draft.channel,
        user=user,
    )
