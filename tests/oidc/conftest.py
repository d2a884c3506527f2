"""Fixtures shared by the OpenID Connect tests (a file may define its own ``rp`` instead)."""

from __future__ import annotations

import pytest

from tests.factories import make_account
from tests.factories import make_client


@pytest.fixture()
def rp(setup_data):
    """(client_id, secret, id_number) of a confidential client and Trần Thị Bình, born 1985-05-17."""
    def create():
        client, secret = make_client()
        account = make_account(full_name="Trần Thị Bình", sex="F", birth_year=1985)
        return client.client_id, secret, account.citizen.id_number
    return setup_data(create)
