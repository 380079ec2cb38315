"""The copy settings page: a merchant chooses whether its accepted copy trains the shared model."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from generation import services
from generation.models import CopySettings
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = reverse("generation:copy_settings")
LABEL = "Let my accepted copy improve the shared model"


@pytest.fixture
def client(merchant_account) -> Client:
    client = Client()
    assert client.login(username="acme", password=PASSWORD)
    return client


def _checkbox(body: str) -> str:
    start = body.index('name="share_for_training"')
    return body[body.rindex("<input", 0, start) : body.index(">", start) + 1]


def test_sharing_is_off_by_default(client, merchant_account) -> None:
    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert LABEL in body
    assert "only trains your shop&#x27;s own adapter" in body
    checkbox = _checkbox(body)
    assert 'type="checkbox"' in checkbox
    assert "checked" not in checkbox
    assert 'aria-describedby="id_share_for_training_helptext"' in checkbox
    assert 'id="id_share_for_training_helptext"' in body


def test_turning_sharing_on_and_off_keeps_the_banned_words(
    client, merchant_account, other_merchant_account
) -> None:
    response = client.post(URL, {"banned_words": "cheap\nbest ever", "share_for_training": "on"})

    assert response.status_code == 302
    saved = CopySettings.objects.get(merchant=merchant_account.merchant)
    assert saved.share_for_training is True
    assert saved.banned_words == ["cheap", "best ever"]
    assert "checked" in _checkbox(client.get(URL).content.decode())
    # The other merchant's settings are untouched (and stay off).
    other = services.copy_settings_get(merchant=other_merchant_account.merchant)
    assert other.share_for_training is False
    assert other.banned_words == []

    client.post(URL, {"banned_words": "cheap"})  # an unticked box is not sent at all

    saved.refresh_from_db()
    assert saved.share_for_training is False
    assert saved.banned_words == ["cheap"]


def test_other_merchant_does_not_see_the_choice(client, merchant_account, other_merchant_account) -> None:
    client.post(URL, {"banned_words": "", "share_for_training": "on"})

    other = Client()
    assert other.login(username="bolt", password=PASSWORD)
    assert "checked" not in _checkbox(other.get(URL).content.decode())


def test_service_keeps_what_it_is_not_given(merchant_account) -> None:
    merchant = merchant_account.merchant
    services.copy_settings_update(merchant=merchant, banned_words=["cheap"])
    services.copy_settings_update(merchant=merchant, share_for_training=True)

    saved = services.copy_settings_update(merchant=merchant, banned_words=["free"])

    assert saved.share_for_training is True
    assert saved.banned_words == ["free"]
    saved.refresh_from_db()
    assert (saved.share_for_training, saved.banned_words) == (True, ["free"])
