"""The claims catalogue: its rules (a sensitive claim never inside a broad scope), and every claim's
value as read from a registry person: present values only, relatives without their ID numbers, one
or two round trips, and the short text the consent page shows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from idsvc import db
from idsvc.errors import NotFound
from idsvc.oidc import claims
from idsvc.oidc.claims import CatalogueError
from idsvc.registry import lifeevents
from tests.factories import make_citizen
from tests.factories import make_id_number

WHO: dict[str, Any] = {"actor": "account:7", "reason": "Form CT01"}


def test_every_claim_has_one_scope_and_old_scope_names_keep_their_claims() -> None:
    assert claims.claims_of_scopes(["openid", "profile"]) == {"name", "family_name", "middle_name", "given_name",
                                                             "updated_at"}  # no sub: it is no person's attribute
    assert claims.claims_of_scopes(["address"]) == {"address", "vn_temporary_residence"}
    assert claims.claims_of_scopes(["email", "id_card", "id_number"]) == {"email", "email_verified", "vn_id_card",
                                                                         "personal_id_number"}
    assert claims.claims_of_scopes(["registry.staff", "no-such-scope"]) == frozenset()
    carried = [name for scope in claims.USER_SCOPES for name in claims.claims_of_scopes([scope])]
    assert sorted(carried) == sorted(claims.CATALOGUE)  # each claim in exactly one scope
    assert claims.TRUSTED_ONLY_SCOPES == ("id_number", "registry.staff")
    assert [c.name for c in claims.CATALOGUE.values() if c.trusted_only] == ["personal_id_number"]
    assert set(claims.SCOPES) >= {"openid", "profile", "vn_ethnicity", "vn_religion", "registry.verify"}


def test_sensitive_claims_each_sit_alone_in_their_own_scope() -> None:
    sensitive = {name for name in claims.CATALOGUE if claims.is_sensitive(name)}
    assert sensitive == {"vn_ethnicity", "vn_religion"}
    assert claims.USER_SCOPES["vn_ethnicity"] == ("vn_ethnicity",)
    assert claims.USER_SCOPES["vn_religion"] == ("vn_religion",)
    assert not claims.is_sensitive("birthdate") and not claims.is_sensitive("no-such-claim")


def test_a_catalogue_with_a_sensitive_claim_in_a_broad_scope_is_refused() -> None:
    bad = dict(claims.CATALOGUE)
    bad["vn_ethnicity"] = replace(bad["vn_ethnicity"], scope="profile")
    with pytest.raises(CatalogueError, match="scope profile mixes the sensitive claim vn_ethnicity"):
        claims.scopes_of(bad)
    two = dict(claims.CATALOGUE)
    two["vn_religion"] = replace(two["vn_religion"], scope="vn_ethnicity")  # two sensitive ones together
    with pytest.raises(CatalogueError, match="vn_ethnicity"):
        claims.scopes_of(two)
    odd = dict(claims.CATALOGUE)
    odd["gender"] = replace(odd["gender"], category="secret")
    with pytest.raises(CatalogueError, match="category"):
        claims.scopes_of(odd)
    assert claims.scopes_of(claims.CATALOGUE) == {s: c for s, c in claims.USER_SCOPES.items()
                                                  if s not in ("openid", "registry.staff")}


def _whole_person(create_household) -> tuple[Any, dict[str, Any]]:
    """A person with a value for every claim, their relatives, and what is known of them."""
    father = make_citizen(full_name="Trần Văn Cường", birth_year=1958)
    absent_mother = make_id_number("001", 1962, "F")  # a number the registry does not hold
    household = create_household(commune_code="00004")
    person = make_citizen(full_name="Trần Thị Bình", sex="F", birth_year=1985, birth_month=1, birth_day=15,
                          other_names="Bé Ba", place_of_birth="Bệnh viện Phụ sản Hà Nội", hometown="Nam Định",
                          religion="Phật giáo", email="binh@example.vn", marital_status="single",
                          current_commune_code="00004", household_id=household.id, relationship_to_head="head")
    household.head_id = person.id
    lifeevents.link_relative(person, kind="father", id_number=father.id_number, full_name=None, **WHO)
    lifeevents.link_relative(person, kind="mother", id_number=absent_mother, full_name="Lê Thị Dung", **WHO)
    lifeevents.link_relative(person, kind="child", id_number=None, full_name="Trần Minh Em", **WHO)
    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục Cảnh sát QLHC về TTXH",
                           expires_on=date(2045, 1, 15), **WHO)
    lifeevents.register_temporary_residence(person, commune_code="00073", address="9 Kim Mã",
                                            registered_on=date(2026, 1, 5), expires_on=None, **WHO)
    db.session().flush()
    return person, {"father": father.id_number, "mother": absent_mother, "household": household.number}


def test_every_claim_is_read_from_the_registry_person(create_household) -> None:
    person, known = _whole_person(create_household)
    released = claims.values(person.id, claims.CATALOGUE)
    assert set(released) == set(claims.CATALOGUE)  # the person has a value for every claim
    assert released["name"] == "Trần Thị Bình"
    assert (released["family_name"], released["middle_name"], released["given_name"]) == ("Trần", "Thị", "Bình")
    assert released["updated_at"] == int(person.updated_at.timestamp())
    assert released["birthdate"] == "1985-01-15" and released["gender"] == "female"
    assert released["address"]["country"] == "VN" and released["address"]["locality"]
    assert released["vn_current_residence"]["locality"] != released["address"]["locality"]
    assert released["vn_temporary_residence"]["street_address"] == "9 Kim Mã"
    assert released["vn_temporary_residence"]["expires_on"] is None
    assert released["email"] == "binh@example.vn" and released["email_verified"] is False
    assert released["vn_id_card"] == {"issued_on": "2021-04-01", "issued_by": "Cục Cảnh sát QLHC về TTXH",
                                      "expires_on": "2045-01-15"}
    assert released["personal_id_number"] == person.id_number
    assert released["vn_other_names"] == "Bé Ba"
    assert released["place_of_birth"] == {"locality": "Bệnh viện Phụ sản Hà Nội"}
    assert released["vn_birth_registration_place"] == {"code": "001", "name": "Hà Nội", "country": "VN"}
    assert released["vn_hometown"] == "Nam Định"
    assert released["nationalities"] == ["VN"]
    assert released["vn_household"] == {"number": known["household"], "relationship_to_head": "head"}
    assert released["vn_marital_status"] == "single" and released["vn_life_status"] == "alive"
    assert released["vn_ethnicity"] == "Kinh" and released["vn_religion"] == "Phật giáo"
    # Relatives as the registry links them: the father named as the registry holds him, the
    # mother's birth year from her number; no relative's number leaves.
    assert released["vn_relatives"] == [
        {"relationship": "father", "name": "Trần Văn Cường", "birth_year": 1958},
        {"relationship": "mother", "name": "Lê Thị Dung", "birth_year": 1962},
        {"relationship": "child", "name": "Trần Minh Em", "birth_year": None}]
    text = json.dumps(released, ensure_ascii=False)
    assert known["father"] not in text and known["mother"] not in text
    assert person.id_number not in json.dumps(claims.values(person.id, set(claims.CATALOGUE) - {"personal_id_number"}))


def test_only_the_claims_named_and_held_are_released(create_citizen) -> None:
    person = create_citizen()
    assert claims.values(person.id, ["email", "vn_religion", "vn_household", "vn_relatives", "vn_id_card"]) == {}
    assert claims.values(person.id, ["sub", "no-such-claim"]) == {}
    assert claims.values(person.id, ["gender", "birthdate"]) == {"gender": "male", "birthdate": "1990-05-17"}
    assert claims.user_claims(person.id, ["openid"]) == {}
    assert set(claims.user_claims(person.id, ["openid", "profile"])) == {"name", "family_name", "middle_name",
                                                                       "given_name", "updated_at"}
    year_only = create_citizen(birth_month=None, birth_day=None)
    assert claims.values(year_only.id, ["birthdate"]) == {"birthdate": "1990"}
    abroad = create_citizen(birth_registration_code="232")  # a birth registered in Japan
    assert claims.values(abroad.id, ["vn_birth_registration_place"]) == {
        "vn_birth_registration_place": {"code": "232", "name": "Nhật Bản", "country": "JP"}}
    assert claims.display(abroad.id, ["vn_birth_registration_place"]) == {"vn_birth_registration_place": "Nhật Bản"}


def test_an_ended_relative_link_is_not_released(create_household) -> None:
    person, _ = _whole_person(create_household)
    child = next(r for r in person.relatives if r.kind == "child")
    lifeevents.end_relative(person, child.id, on=date(2026, 2, 1), **WHO)
    links = claims.values(person.id, ["vn_relatives"])["vn_relatives"]
    assert [r["relationship"] for r in links] == ["father", "mother"]


def test_all_claims_take_at_most_two_round_trips(create_household) -> None:
    person, _ = _whole_person(create_household)
    statements: list[str] = []
    engine = db.get_db().engine

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    person_id = person.id
    db.session().expire_all()  # nothing read before counts
    event.listen(engine, "before_cursor_execute", count)
    try:
        claims.values(person_id, claims.CATALOGUE)
        everything = len(statements)
        statements.clear()
        claims.values(person_id, set(claims.CATALOGUE) - {"vn_relatives"})
        without_relatives = len(statements)
        statements.clear()
        claims.values(person_id, ["sub"])
        nothing = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (everything, without_relatives, nothing) == (2, 1, 0), statements


@pytest.mark.parametrize(("language", "expected"), [
    ("en", {"birthdate": "15/01/1985", "gender": "Female", "vn_marital_status": "Single", "email_verified": "No",
            "vn_life_status": "Alive", "vn_id_card": "01/04/2021, Cục Cảnh sát QLHC về TTXH, 15/01/2045"}),
    ("vi", {"birthdate": "15/01/1985", "gender": "Nữ", "vn_marital_status": "Chưa kết hôn", "email_verified": "Không",
            "vn_life_status": "Còn sống"}),
])
def test_display_gives_short_text_in_the_pages_language(app, create_household, language, expected) -> None:
    person, known = _whole_person(create_household)
    with app.test_request_context("/", headers={"Accept-Language": language}):
        shown = claims.display(person.id, claims.CATALOGUE)
    assert set(shown) == set(claims.CATALOGUE) and all(isinstance(v, str) and v for v in shown.values())
    assert {k: shown[k] for k in expected} == expected
    assert shown["name"] == "Trần Thị Bình" and shown["vn_religion"] == "Phật giáo"
    assert shown["vn_temporary_residence"].startswith("9 Kim Mã, ")
    relatives = shown["vn_relatives"]
    assert ("Father: Trần Văn Cường (1958)" if language == "en" else "Cha: Trần Văn Cường (1958)") in relatives
    assert known["father"] not in relatives
    household = f"{known['household']} (Head of household)" if language == "en" else f"{known['household']} (Chủ hộ)"
    assert shown["vn_household"] == household
    assert shown["nationalities"] == ("Viet Nam" if language == "en" else "Việt Nam")


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


def test_values_of_no_such_person_is_not_found(app_ctx) -> None:
    with pytest.raises(NotFound):
        claims.values(10**12, ["name"])
