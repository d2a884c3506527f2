"""The ``claims`` request parameter (OpenID Connect Core §5.5) with ``verified_claims`` (OpenID
Identity Assurance 1.0): what parses and what is refused with which words, what a request asks
for, and what a release gives: only granted names, only matching values, verified claims with the
record's last applied change as their verification time."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from idsvc import db
from idsvc.oidc import claimsrequest
from idsvc.oidc.claimsrequest import EMPTY
from idsvc.oidc.claimsrequest import Ask
from idsvc.oidc.claimsrequest import ClaimsRequest
from idsvc.oidc.claimsrequest import ClaimsRequestInvalid
from idsvc.registry import lifeevents
from idsvc.registry.models import CitizenRevision

WHO: dict[str, Any] = {"actor": "account:7", "reason": "Form CT01"}

AGE_CHECK = "To check that you are an adult"
REQUEST = {
    "userinfo": {
        "given_name": {"essential": True},
        "email": None,
        "birthdate": {"value": "1990-05-17"},
        "gender": {"values": ["female", "male"], "future_member": 1},  # a member not understood: ignored
        "favourite_colour": {"essential": True},  # no such claim: ignored
        "verified_claims": {
            "verification": {"trust_framework": None, "time": None},
            "claims": {"family_name": {"essential": True}, "birthdate": {"purpose": AGE_CHECK}, "shoe_size": None},
        },
    },
    "id_token": {"name": {"purpose": "To greet you by name"}, "acr": {"essential": True}},
    "future_top_level_member": {},  # ignored, as Core §5.5 requires
}


def test_no_claims_parameter_asks_nothing() -> None:
    assert claimsrequest.parse(None) is EMPTY and claimsrequest.parse("  ") is EMPTY
    assert EMPTY.to_json() is None and ClaimsRequest.from_json(None) == EMPTY
    assert claimsrequest.asked(["openid"], EMPTY).names == frozenset()


def test_a_request_parses_to_its_claims_and_keeps_only_known_names() -> None:
    request = claimsrequest.parse(json.dumps(REQUEST))
    assert request.userinfo == {"given_name": Ask(essential=True), "email": Ask(), "birthdate": Ask(value="1990-05-17"),
                                "gender": Ask(values=("female", "male"))}
    assert request.id_token == {"name": Ask(purpose="To greet you by name"), "acr": Ask(essential=True)}
    assert request.verified_userinfo == {"family_name": Ask(essential=True), "birthdate": Ask(purpose=AGE_CHECK)}
    assert request.verified_id_token == {}
    # Stored on codes and tokens as JSON, and read back the same.
    stored = json.loads(json.dumps(request.to_json()))
    assert ClaimsRequest.from_json(stored) == request
    assert stored["userinfo"]["verified_claims"]["claims"] == {"birthdate": {"purpose": AGE_CHECK},
                                                               "family_name": {"essential": True}}
    assert "favourite_colour" not in json.dumps(stored) and "future" not in json.dumps(stored)


def test_verified_claims_may_be_an_array_whose_conditions_all_hold() -> None:
    request = claimsrequest.parse(json.dumps({"id_token": {"verified_claims": [
        {"verification": {"trust_framework": {"values": ["eidas", claimsrequest.TRUST_FRAMEWORK]}},
         "claims": {"given_name": None}},
        {"verification": {"trust_framework": None, "time": {"max_age": 3600},
                          "evidence": [{"type": {"value": "electronic_record"}}]},
         "claims": {"birthdate": {"essential": True}}},
    ]}}))
    assert request.verified_id_token == {"given_name": Ask(), "birthdate": Ask(essential=True)}
    condition = request.verification["id_token"]
    assert condition == claimsrequest.Verification(trust_frameworks=("eidas", claimsrequest.TRUST_FRAMEWORK),
                                                   max_age=3600, evidence=("electronic_record",))
    assert ClaimsRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(("raw", "message"), [
    ("{not json", "claims: not valid JSON"),
    ('{"userinfo": {"name": {"value": NaN}}}', "claims: not valid JSON (NaN is not a JSON value"),
    ("[" * 3000 + "]" * 3000, "claims: nested too deeply"),
    ("[]", "claims: must be a JSON object"),
    ('"userinfo"', "claims: must be a JSON object"),
    ('{"userinfo": ["name"]}', "claims.userinfo: must be a JSON object of claim names"),
    ('{"id_token": {"name": true}}', "claims.id_token.name: must be null or a JSON object"),
    ('{"userinfo": {"name": {"essential": "yes"}}}', "claims.userinfo.name.essential: must be true or false"),
    ('{"userinfo": {"gender": {"values": []}}}', "claims.userinfo.gender.values: must be a non-empty JSON array"),
    ('{"userinfo": {"gender": {"values": "male"}}}', "claims.userinfo.gender.values: must be a non-empty JSON array"),
    ('{"userinfo": {"name": {"purpose": "ok"}}}', "claims.userinfo.name.purpose: must be a text of 3 to 300"),
    ('{"userinfo": {"name": {"purpose": "' + "x" * 301 + '"}}}', "claims.userinfo.name.purpose: must be a text"),
    ('{"userinfo": {"name": {"purpose": 12345}}}', "claims.userinfo.name.purpose: must be a text"),
    ('{"userinfo": {"verified_claims": {"claims": {"name": null}}}}',
     "claims.userinfo.verified_claims.verification: must be a JSON object"),
    ('{"userinfo": {"verified_claims": {"verification": {}, "claims": {}}}}',
     "claims.userinfo.verified_claims.claims: must be a JSON object naming at least one claim"),
    ('{"userinfo": {"verified_claims": {"verification": {}, "claims": {"name": null}, "extra": 1}}}',
     "claims.userinfo.verified_claims: unknown member extra"),
    ('{"userinfo": {"verified_claims": []}}', "claims.userinfo.verified_claims: must be a JSON object or a non-empty"),
    ('{"userinfo": {"verified_claims": [1]}}', "claims.userinfo.verified_claims[0]: must be a JSON object"),
    ('{"userinfo": {"verified_claims": {"verification": {"trust_framework": {"value": 5}}, "claims": {"name": null}}}}',
     "claims.userinfo.verified_claims.verification.trust_framework.value: must be a text"),
    ('{"userinfo": {"verified_claims": {"verification": {"time": {"max_age": -1}}, "claims": {"name": null}}}}',
     "claims.userinfo.verified_claims.verification.time.max_age: must be a whole number"),
    ('{"userinfo": {"verified_claims": {"verification": {"evidence": []}, "claims": {"name": null}}}}',
     "claims.userinfo.verified_claims.verification.evidence: must be a non-empty JSON array"),
    ('{"userinfo": {"verified_claims": {"verification": {}, "claims": {"name": {"purpose": "no"}}}}}',
     "claims.userinfo.verified_claims.claims.name.purpose: must be a text of 3 to 300"),
    ('{"userinfo": {"name": null, "x": "' + "y" * claimsrequest.MAX_LENGTH + '"}}', "claims: longer than"),
])
def test_a_malformed_request_is_refused_saying_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ClaimsRequestInvalid) as refused:
        claimsrequest.parse(raw)
    assert str(refused.value).startswith(message)


def test_asked_gathers_scopes_and_the_parameter_with_essentials_and_purposes() -> None:
    request = claimsrequest.parse(json.dumps(REQUEST))
    found = claimsrequest.asked(["openid", "address", "no-such-scope"], request)
    assert found.names == {"address", "vn_temporary_residence", "given_name", "email", "birthdate", "gender",
                           "family_name", "name"}  # never sub, acr nor unknown names
    assert found.essential == {"given_name", "family_name"}
    assert found.purposes == {"birthdate": AGE_CHECK, "name": "To greet you by name"}
    assert claimsrequest.asked(["vn_ethnicity"], EMPTY).names == {"vn_ethnicity"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_release_gives_granted_claims_whose_values_match(create_citizen) -> None:
    person = create_citizen(full_name="Nguyễn Văn An", email="an@example.vn")  # male, born 1990-05-17
    request = claimsrequest.parse(json.dumps({
        "userinfo": {"birthdate": {"value": "1990-05-17"}, "gender": {"value": "female"},
                     "email": {"values": ["an@example.vn", "an@example.com"]}, "vn_religion": None},
        "id_token": {"name": None, "vn_ethnicity": {"essential": True}, "birthdate": {"values": ["1991-01-01"]}}}))
    everything = {"name", "family_name", "middle_name", "given_name", "updated_at", "birthdate", "gender", "email",
                  "vn_ethnicity", "vn_religion"}
    userinfo = claimsrequest.release(person.id, scopes=["openid", "profile"], request=request, granted=everything,
                                     target="userinfo")
    # The scope's claims and those asked for userinfo; the gender asked as female is not the
    # registry's, so it is withheld; no religion recorded, none released.
    assert set(userinfo) == {"name", "family_name", "middle_name", "given_name", "updated_at", "birthdate", "email"}
    assert userinfo["birthdate"] == "1990-05-17" and userinfo["email"] == "an@example.vn"
    id_token = claimsrequest.release(person.id, scopes=["openid", "profile"], request=request, granted=everything,
                                     target="id_token")
    assert id_token == {"name": "Nguyễn Văn An", "vn_ethnicity": "Kinh"}  # the ID token gets no scope claims
    narrow = claimsrequest.release(person.id, scopes=["openid", "profile"], request=request,
                                   granted={"given_name", "birthdate"}, target="userinfo")
    assert narrow == {"given_name": "An", "birthdate": "1990-05-17"}  # only what was granted
    assert claimsrequest.release(person.id, scopes=["openid", "profile"], request=request, granted=set(),
                                 target="id_token") == {}


def test_verified_claims_carry_the_registry_as_trust_framework_and_the_last_change_as_time(create_citizen) -> None:
    person = create_citizen(full_name="Trần Thị Bình", sex="F", birth_year=1985)
    created = person.created_at
    request = claimsrequest.parse(json.dumps({
        "userinfo": {"verified_claims": {"verification": {"trust_framework": None},
                                         "claims": {"given_name": {"essential": True}, "birthdate": None,
                                                    "vn_ethnicity": None, "vn_id_card": None}}},
        "id_token": {"verified_claims": {"verification": {"trust_framework": {"value": claimsrequest.TRUST_FRAMEWORK}},
                                         "claims": {"family_name": None}}}}))
    granted = {"given_name", "birthdate", "family_name", "vn_id_card"}  # ethnicity not granted
    released = claimsrequest.release(person.id, scopes=["openid"], request=request, granted=granted,
                                     target="userinfo")
    # A record no change was applied to yet: verified as of its creation.
    assert released == {"verified_claims": {
        "verification": {"trust_framework": "vn_national_population_database", "time": _iso(created),
                         "evidence": [{"type": "electronic_record",
                                       "record": {"type": "population_register",
                                                  "source": {"name": claimsrequest.REGISTER_NAME,
                                                             "country_code": "VNM"}},
                                       "time": _iso(created)}]},
        "claims": {"given_name": "Bình", "birthdate": "1985-05-17"}}}

    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục Cảnh sát QLHC về TTXH",
                           expires_on=None, **WHO)
    db.session().flush()
    changed = db.session().scalar(select(CitizenRevision.at).where(CitizenRevision.citizen_id == person.id)
                                  .order_by(CitizenRevision.id.desc()).limit(1))
    released = claimsrequest.release(person.id, scopes=["openid"], request=request, granted=granted,
                                     target="userinfo")
    verification = released["verified_claims"]["verification"]
    assert verification["time"] == verification["evidence"][0]["time"] == _iso(changed)
    assert released["verified_claims"]["claims"]["vn_id_card"]["issued_on"] == "2021-04-01"
    in_token = claimsrequest.release(person.id, scopes=["openid"], request=request, granted=granted, target="id_token")
    assert in_token["verified_claims"]["claims"] == {"family_name": "Trần"}
    assert set(in_token) == {"verified_claims"}


def test_verified_claims_are_withheld_when_the_verification_asked_is_not_ours(create_citizen) -> None:
    person = create_citizen()
    lifeevents.set_id_card(person, issued_on=date(2021, 4, 1), issued_by="Cục Cảnh sát QLHC về TTXH",
                           expires_on=None, **WHO)
    db.session().execute(update(CitizenRevision).where(CitizenRevision.citizen_id == person.id)
                         .values(at=datetime(2020, 1, 1, tzinfo=UTC)))

    def verified(verification: dict[str, Any]) -> dict[str, Any]:
        request = claimsrequest.parse(json.dumps({"userinfo": {
            "given_name": None,
            "verified_claims": {"verification": verification, "claims": {"birthdate": None}}}}))
        return claimsrequest.release(person.id, scopes=[], request=request, granted={"birthdate", "given_name"},
                                     target="userinfo")

    assert verified({"trust_framework": {"value": "eidas"}}) == {"given_name": "An"}  # plain claims still go
    assert verified({"trust_framework": None, "time": {"max_age": 86400}}) == {"given_name": "An"}  # changed in 2020
    assert verified({"evidence": [{"type": {"value": "document"}}]}) == {"given_name": "An"}
    kept = verified({"trust_framework": {"values": ["eidas", "vn_national_population_database"]},
                     "time": {"max_age": 20 * 366 * 86400}, "evidence": [{"type": {"value": "electronic_record"}}]})
    assert kept["verified_claims"]["verification"]["time"] == "2020-01-01T00:00:00Z"
    assert kept["verified_claims"]["claims"] == {"birthdate": "1990-05-17"}


def test_discovery_advertises_the_claims_parameter_the_catalogue_and_verified_claims(client) -> None:
    from idsvc.oidc import claims

    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["claims_parameter_supported"] is True
    assert set(metadata["claims_supported"]) >= {*claims.CATALOGUE, "sub", "acr", "verified_claims"}
    assert set(metadata["scopes_supported"]) >= {"openid", "profile", "vn_ethnicity", "vn_religion", "vn_relatives"}
    assert metadata["verified_claims_supported"] is True
    assert metadata["trust_frameworks_supported"] == ["vn_national_population_database"]
    assert metadata["evidence_supported"] == ["electronic_record"]
    assert metadata["electronic_records_supported"] == ["population_register"]
    assert "documents_supported" not in metadata  # no document evidence is given
    assert set(metadata["claims_in_verified_claims_supported"]) == set(claims.CATALOGUE)
    assert metadata["userinfo_signing_alg_values_supported"] == ["ES256"]
