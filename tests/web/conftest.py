from __future__ import annotations

import pytest


@pytest.fixture
def merchant_client(client, merchant_account):
    client.force_login(merchant_account.user)
    return client
