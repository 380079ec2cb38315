"""Writes for copy generation: jobs, drafts and the decisions merchants make about them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, QuerySet
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


def copy_settings_update(
    *,
    merchant: Merchant,
    banned_words: Iterable[str] | None = None,
    share_for_training: bool | None = None,
) -> CopySettings:
    """Change the merchant's copy rules; an argument left None keeps what is stored.

    banned_words replaces the list (trimmed, de-duplicated, order kept). share_for_training lets
    the merchant's accepted copy train the shared model too, not only its own adapter.
    """
    copy_settings = copy_settings_get(merchant=merchant)
    update_fields: list[str] = []
    if banned_words is not None:
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
        copy_settings.banned_words = words
        update_fields.append("banned_words")
    if share_for_training is not None:
        copy_settings.share_for_training = bool(share_for_training)
        update_fields.append("share_for_training")
    if update_fields:
        copy_settings.save(update_fields=update_fields)
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
        DraftRevision.objects.create(
            draft=draft, version=draft.version, text=draft.text, kind=DraftRevision.Kind.GENERATED
        )


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Stop a queued or running job between batches; drafts already written stay."""
    return jobs.job_cancel(job, message="Cancelled. Drafts written before the cancel are kept.")


def generation_job_fail(*, job_id: int, message: str) -> None:
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job:
        _finish(job, JobStatus.FAILED, message=message)


# --- Decisions on drafts ----------------------------------------------------------------------

MAX_TEXT_CHARS = 20_000


def _locked_draft(draft: Draft, version: int | None) -> Draft:
    locked = Draft.objects.select_for_update().select_related("product").get(pk=draft.pk)
    if version is not None and locked.version != version:
        raise StaleVersion(locked)
    return locked


def _require_waiting(draft: Draft, verb: str) -> None:
    if draft.status != DraftStatus.PROPOSED:
        raise ValidationError(
            f"This draft is {draft.get_status_display().lower()}; only a waiting draft can be {verb}."
        )


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({"text": "The text is empty; reject the draft instead."})
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError({"text": f"The text is longer than {MAX_TEXT_CHARS:,} characters."})
    return text


def _new_revision(draft: Draft, text: str, kind: str, user: User | None) -> None:
    """Move the (locked) draft to a new version with this text, checked like a generated one."""
    draft.version += 1
    draft.text = text
    _recheck(draft)
    DraftRevision.objects.create(draft=draft, version=draft.version, text=text, kind=kind, author=user)


def _model_text(draft: Draft) -> str:
    """What the model last wrote for this draft, before any person's edit."""
    revision = (
        draft.revisions.filter(kind__in=[DraftRevision.Kind.GENERATED, DraftRevision.Kind.ALTERNATIVE])
        .order_by("-version")
        .first()
    )
    return revision.text if revision else draft.text


@transaction.atomic
def draft_edit(*, draft: Draft, user: User | None, version: int | None, text: str) -> Draft:
    """Save a person's edit without deciding yet: a new revision, checked again."""
    draft = _locked_draft(draft, version)
    _require_waiting(draft, "edited")
    text = _clean_text(text)
    if text != draft.text:
        _new_revision(draft, text, DraftRevision.Kind.EDITED, user)
        draft.save()
    return draft


@transaction.atomic
def draft_choose_alternative(*, draft: Draft, user: User | None, version: int | None, index: int) -> Draft:
    """Swap in another of the model's candidates; the current text joins the alternatives."""
    draft = _locked_draft(draft, version)
    _require_waiting(draft, "changed")
    if not 0 <= index < len(draft.alternatives):
        raise ValidationError("That alternative no longer exists; reload the page.")
    alternatives = list(draft.alternatives)
    chosen = alternatives[index]
    alternatives[index] = {
        "text": draft.text,
        "score": draft.score,
        "grounding": draft.grounding,
        "violations": draft.violations,
    }
    draft.alternatives = alternatives
    _new_revision(draft, chosen["text"], DraftRevision.Kind.ALTERNATIVE, user)
    draft.save()
    return draft


@transaction.atomic
def draft_restore(*, draft: Draft, user: User | None, version: int | None, revision: int) -> Draft:
    """Make an earlier revision's text the current one again (as a new revision: history stays)."""
    draft = _locked_draft(draft, version)
    _require_waiting(draft, "changed")
    old = draft.revisions.filter(version=revision).first()
    if old is None:
        raise ValidationError(f"This draft has no revision {revision}.")
    if old.text != draft.text:
        _new_revision(draft, old.text, DraftRevision.Kind.RESTORED, user)
        draft.save()
    return draft


@transaction.atomic
def draft_accept(*, draft: Draft, user: User | None, version: int | None, text: str | None = None) -> Draft:
    """Publish a draft, as written or as the merchant edited it, and learn from it."""
    draft = _locked_draft(draft, version)
    _require_waiting(draft, "accepted")
    generated = _model_text(draft)
    if text is not None and (text := _clean_text(text)) != draft.text:
        _new_revision(draft, text, DraftRevision.Kind.EDITED, user)  # the one version step
    else:
        draft.version += 1
    edited = draft.text != generated
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
    _require_waiting(draft, "rejected")
    draft.status = DraftStatus.REJECTED
    draft.version += 1
    draft.decided_by = user
    draft.decided_at = timezone.now()
    draft.save(update_fields=["status", "version", "decided_by", "decided_at", "updated_at"])
    return draft


@dataclass(frozen=True)
class BulkAcceptResult:
    accepted: int
    skipped: int


def drafts_accept_clean(*, drafts: QuerySet[Draft], user: User | None, as_of: datetime) -> BulkAcceptResult:
    """Accept every waiting draft in `drafts` with no unsupported claim and no broken rule.

    Only drafts unchanged since `as_of` (when the person looked at the list) are accepted: text
    written or edited after that was never seen, so it waits for its own decision.
    """
    clean = drafts.filter(status=DraftStatus.PROPOSED, has_ungrounded=False, violations=[])
    accepted = 0
    skipped = clean.filter(updated_at__gt=as_of).count()
    for draft in clean.filter(updated_at__lte=as_of).order_by("pk").iterator(chunk_size=200):
        try:
            draft_accept(draft=draft, user=user, version=draft.version)
        except (StaleVersion, ValidationError):
            skipped += 1  # decided or edited by someone else a moment ago
        else:
            accepted += 1
    return BulkAcceptResult(accepted=accepted, skipped=skipped)


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
