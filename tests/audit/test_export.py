"""An export checks with a checker written from the documented format alone (not our ledger code)."""

from __future__ import annotations

import hashlib
import json

import jwt
from click.testing import Result

from tests.audit.conftest import raw
from tests.audit.conftest import seal_all
from tests.audit.conftest import write_events


def independent_check(lines: list[str]) -> tuple[int, int]:
    """The README's rules: JWK Set first; per block a signed head, then its events in seq order;
    leaf = SHA-256(0x00 || canonical JSON), node = SHA-256(0x01 || left || right) (RFC 6962), the
    root over the block's leaves; the JWS payload's root, size, first_seq; prev = SHA-256 of the
    previous payload. Raises AssertionError on the first thing that does not hold."""
    records = [json.loads(line) for line in lines]
    assert records[0]["type"] == "keys"
    keys = {k["kid"]: jwt.PyJWK(k) for k in records[0]["jwks"]["keys"]}

    def mth(nodes: list[bytes]) -> bytes:
        if len(nodes) == 1:
            return nodes[0]
        k = 1
        while k * 2 < len(nodes):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(nodes[:k]) + mth(nodes[k:])).digest()

    def close(head: dict, payload: bytes, events: list[dict]) -> None:
        assert len(events) == head["size"], "event count"
        assert [e["seq"] for e in events] == list(range(head["first_seq"], head["first_seq"] + head["size"]))
        leaves = [hashlib.sha256(b"\x00" + json.dumps(e, sort_keys=True, separators=(",", ":"),
                                                      ensure_ascii=False).encode()).digest() for e in events]
        assert mth(leaves).hex() == head["root"], f"root of block {head['block']}"

    blocks = events = 0
    current: tuple[dict, bytes, list[dict]] | None = None
    prev_hash = None
    for record in records[1:]:
        if record["type"] == "block":
            if current:
                close(*current)
            kid = jwt.get_unverified_header(record["signed_head"])["kid"]
            payload = jwt.api_jws.decode_complete(record["signed_head"], keys[kid].key, algorithms=["ES256"])["payload"]
            head = json.loads(payload)
            assert head["block"] == record["block"] and head["kid"] == kid
            assert hashlib.sha256(payload).hexdigest() == record["head_hash"]
            if prev_hash is not None:
                assert head["prev"] == prev_hash, f"chain at block {head['block']}"
            prev_hash = record["head_hash"]
            current = (head, payload, [])
            blocks += 1
        else:
            assert current is not None
            current[2].append(record["event"])
            events += 1
    if current:
        close(*current)
    return blocks, events


def _export(runner, path) -> Result:
    return runner.invoke(args=["audit", "export", "--since", "2000-01-01", "-o", str(path)])


def test_an_export_checks_independently(app_ctx, runner, tmp_path) -> None:
    write_events(9)
    total = seal_all(max_events=4)
    write_events(2, start=20)  # unsealed: not in the export
    result = _export(runner, tmp_path / "ledger.jsonl")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    blocks, events = independent_check(lines)
    assert events == total and blocks >= 3
    assert "Nguyễn Văn A" in lines[-1]  # non-ASCII as itself, as the rules say


def test_an_export_of_a_tampered_log_fails_the_check(app_ctx, runner, tmp_path) -> None:
    ids = write_events(5)
    seal_all()
    raw("UPDATE audit_event SET subject_id = '999' WHERE id = :id", id=ids[2])
    assert _export(runner, tmp_path / "ledger.jsonl").exit_code == 0
    try:
        independent_check((tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines())
    except AssertionError as exc:
        assert "root of block" in str(exc)
    else:
        raise AssertionError("the checker accepted a tampered export")


def test_since_leaves_out_older_blocks(app_ctx, runner, tmp_path) -> None:
    write_events(3)
    seal_all()
    assert runner.invoke(args=["audit", "export", "--since", "2999-01-01", "-o", str(tmp_path / "x")]).exit_code == 0
    assert independent_check((tmp_path / "x").read_text().splitlines()) == (0, 0)
