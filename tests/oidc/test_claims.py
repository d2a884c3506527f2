"""What the new scopes release from the registry: the e-mail, the identity card, the temporary
residence in force; nothing when the registry holds nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from idsvc.oidc import claims
from idsvc.registry import lifeevents

WHO: dict[str, Any] = {"actor": "account:7", "reason": "Form CT01"}


def test_card_email_and_temporary_residence_are_released_by_their_scopes(create_citizen) -> None:
    person = create_citizen(email="an@example.vn")
    assert claims.user_claims(person.id, ["openid", "email", "id_card", "address"])["email"] == "an@example.vn"
    assert "vn_id_card" not in claims.user_claims(person.id, ["id_card"])
    assert "vn_temporary_residence" not in claims.user_claims(person.id, ["address"])
    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục Cảnh sát QLHC về TTXH",
                           expires_on=None, **WHO)
    revision = lifeevents.register_temporary_residence(person, commune_code="00004", address="9 Kim Mã",
                                                       registered_on=date(2026, 1, 5), expires_on=None, **WHO)
    released = claims.user_claims(person.id, ["openid", "email", "id_card", "address"])
    assert released["email_verified"] is False
    assert released["vn_id_card"] == {"issued_on": "2021-04-01", "issued_by": "Cục Cảnh sát QLHC về TTXH",
                                      "expires_on": None}
    assert released["vn_temporary_residence"]["locality"] and released["vn_temporary_residence"]["country"] == "VN"
    assert "email" not in claims.user_claims(person.id, ["profile"])  # each scope releases its own claims only
    lifeevents.end_temporary_residence(person, revision.changes["temporary_residence"][1]["id"],
                                       on=date(2026, 2, 1), **WHO)
    assert "vn_temporary_residence" not in claims.user_claims(person.id, ["address"])
    assert {"email", "email_verified", "vn_id_card", "vn_temporary_residence"} <= set(claims.CLAIMS_SUPPORTED)
