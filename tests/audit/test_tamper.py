"""Tampering with the log through SQL: `verify` names the first bad entry, every time."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import Row
from sqlalchemy import select

from idsvc import db
from idsvc.audit import ledger
from idsvc.audit.models import LedgerBlock
from tests.audit.conftest import raw
from tests.audit.conftest import seq_of


def _block_of_seq(seq: int) -> Row:
    """The block's row (detached: reading it later begins no transaction)."""
    block = db.session().execute(select(*LedgerBlock.__table__.c).where(LedgerBlock.first_seq <= seq)
                                 .order_by(LedgerBlock.first_seq.desc()).limit(1)).one()
    db.session().rollback()
    return block


def test_an_untouched_log_verifies(sealed_log) -> None:
    assert ledger.verify().ok


def test_an_edited_field_names_the_event(sealed_log) -> None:
    victim = sealed_log[4]
    raw("UPDATE audit_event SET actor = 'client:someone-else' WHERE id = :id", id=victim)
    problem = ledger.verify().problem
    assert problem is not None
    assert (problem.seq, problem.event_id) == (seq_of(victim), victim)
    assert "differs from what was sealed" in problem.what


def test_edited_data_names_the_event(sealed_log) -> None:
    victim = sealed_log[7]
    raw("UPDATE audit_event SET data = :data WHERE id = :id", id=victim, data=json.dumps({"claims": []}))
    problem = ledger.verify().problem
    assert (problem.seq, problem.event_id) == (seq_of(victim), victim)


def test_a_deleted_row_names_its_seq(sealed_log) -> None:
    victim = sealed_log[2]
    seq = seq_of(victim)
    raw("DELETE FROM audit_event WHERE id = :id", id=victim)
    problem = ledger.verify().problem
    assert problem.seq == seq and problem.event_id is None
    assert "no event holds this seq" in problem.what


def test_two_rows_swapped_name_the_first(sealed_log) -> None:
    first, second = sealed_log[3], sealed_log[6]
    a, b = seq_of(first), seq_of(second)
    raw("UPDATE audit_event SET seq = -1 WHERE id = :id", id=first)
    raw("UPDATE audit_event SET seq = :seq WHERE id = :id", id=second, seq=a)
    raw("UPDATE audit_event SET seq = :seq WHERE id = :id", id=first, seq=b)
    problem = ledger.verify().problem
    assert (problem.seq, problem.event_id) == (a, second)


def test_a_forged_row_with_a_seq_is_named(sealed_log) -> None:
    last = seq_of(sealed_log[-1])
    raw("INSERT INTO audit_event (id, at, action, actor, seq) VALUES (:id, :at, 'identity:login:success', "
        "'account:1', :seq)", id=sealed_log[-1] + 1000, at="2026-12-06 01:00:00+00:00", seq=last + 1)
    problem = ledger.verify().problem
    assert (problem.seq, problem.event_id) == (last + 1, sealed_log[-1] + 1000)
    assert "no block seals" in problem.what


def test_a_forged_row_in_place_of_a_deleted_one_is_named(sealed_log) -> None:
    victim = sealed_log[5]
    seq = seq_of(victim)
    raw("DELETE FROM audit_event WHERE id = :id", id=victim)
    raw("INSERT INTO audit_event (id, at, action, actor, seq) VALUES (:id, :at, 'identity:login:success', "
        "'account:1', :seq)", id=victim, at="2026-12-06 01:00:00+00:00", seq=seq)
    problem = ledger.verify().problem
    assert (problem.seq, problem.event_id) == (seq, victim)


def test_an_edited_block_root_names_the_block(sealed_log) -> None:
    block = _block_of_seq(seq_of(sealed_log[5]))
    raw("UPDATE ledger_block SET root = :root WHERE number = :n", root="ab" * 32, n=block.number)
    problem = ledger.verify().problem
    assert problem.block == block.number and problem.seq == block.first_seq
    assert "differs from its signed head (root)" in problem.what


def test_edited_leaves_name_the_block(sealed_log) -> None:
    block = _block_of_seq(seq_of(sealed_log[5]))
    raw("UPDATE ledger_block SET leaves = :leaves WHERE number = :n", leaves=bytes(32) + block.leaves[32:],
        n=block.number)
    problem = ledger.verify().problem
    assert problem.block == block.number and "leaves do not give its signed root" in problem.what


def test_a_forged_head_signature_names_the_block(sealed_log) -> None:
    block = _block_of_seq(seq_of(sealed_log[5]))
    header, payload, _ = block.signed_head.split(".")
    forger = ec.generate_private_key(ec.SECP256R1())  # the intruder's key, under our kid
    r, s = decode_dss_signature(forger.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
    forged = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=").decode()
    raw("UPDATE ledger_block SET signed_head = :jws WHERE number = :n", jws=f"{header}.{payload}.{forged}",
        n=block.number)
    problem = ledger.verify().problem
    assert problem.block == block.number and "signature of its head does not verify" in problem.what


def test_a_dropped_block_is_named(sealed_log) -> None:
    block = _block_of_seq(seq_of(sealed_log[5]))
    raw("DELETE FROM ledger_block WHERE number = :n", n=block.number)
    problem = ledger.verify().problem
    assert problem.block == block.number and problem.seq == block.first_seq
    assert f"block {block.number} is missing" in problem.what
    assert problem.event_id is not None


def test_a_dropped_last_block_leaves_its_events_named(sealed_log) -> None:
    last = _block_of_seq(seq_of(sealed_log[-1]))
    raw("DELETE FROM ledger_block WHERE number = :n", n=last.number)
    problem = ledger.verify().problem
    assert problem.seq == last.first_seq and "no block seals" in problem.what


@pytest.mark.parametrize("statement", ["UPDATE ledger_block SET prev_head_hash = :h WHERE number = :n",
                                       "UPDATE ledger_block SET head_hash = :h WHERE number = :n"])
def test_a_broken_chain_names_the_block(sealed_log, statement: str) -> None:
    block = _block_of_seq(seq_of(sealed_log[-1]))
    raw(statement, h="cd" * 32, n=block.number)
    problem = ledger.verify().problem
    assert problem.block == block.number
