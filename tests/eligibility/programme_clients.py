"""Programme clients for the API tests: the demo programmes loaded, machine clients with an
``eligibility.lookup`` token, registered (or not) for a programme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idsvc.eligibility import access
from idsvc.eligibility import service
from tests.factories import make_citizen
from tests.factories import make_client
from tests.oidc.helpers import bearer
from tests.oidc.helpers import machine_token

PROGRAMMES = Path(__file__).resolve().parents[2] / "fixtures" / "programmes"
#: A demo programme every test checks against.
PROGRAMME = "social-pension-2025"
MACHINE = {"auth_method": "client_secret_basic", "redirect_uris": [], "grant_types": ["client_credentials"]}
SCOPE = "eligibility.lookup"
COLUMNS = ("ref", "citizen_id", "full_name", "date_of_birth", "sex", "commune_code")


@dataclass
class Caller:
    client_id: str
    headers: dict[str, str]


def load_programmes() -> None:
    service.load_programmes(PROGRAMMES, actor="test")


def new_caller(client: Any, setup_data: Callable[..., Any], *, scope: str = SCOPE,
               programmes: tuple[str, ...] = (PROGRAMME,), name: str = "Sở Lao động") -> Caller:
    """A machine client with a token of ``scope``, registered for ``programmes``."""

    def create() -> tuple[str, str]:
        registered, secret = make_client(name=name, scopes=[scope], **MACHINE)
        for code in programmes:
            access.grant(service.get_programme(code), registered.client_id, actor="test")
        return registered.client_id, secret

    client_id, secret = setup_data(create)
    response = machine_token(client, client_id, secret, scope)
    assert response.status_code == 200, response.get_json()
    return Caller(client_id, bearer(response.get_json()["access_token"]))


def people(setup_data: Callable[..., Any], count: int) -> list[tuple[str, str]]:
    """``count`` citizens aged 90 (born 1935): (number, name) each."""

    def create() -> list[tuple[str, str]]:
        found = []
        for i in range(count):
            citizen = make_citizen(full_name=f"Nguyễn Văn {chr(0x41 + i % 26)}{'a' * (i // 26)}", birth_year=1935)
            found.append((citizen.id_number, citizen.full_name))
        return found

    return setup_data(create)


def row(ref: str, number: str, name: str, dob: str = "17/05/1935", sex: str = "M",
        commune: str = "00070") -> dict[str, str]:
    return {"ref": ref, "citizen_id": number, "full_name": name, "date_of_birth": dob, "sex": sex,
            "commune_code": commune}


def csv_body(rows: list[dict[str, str]]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]
    return ("\n".join(lines) + "\n").encode()
