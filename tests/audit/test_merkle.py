"""The Merkle tree is RFC 6962's: the same root as the RFC's recursive definition, and paths that check."""

from __future__ import annotations

import hashlib

import pytest

from idsvc.audit import merkle


def _rfc_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc_root(leaves[:k]) + _rfc_root(leaves[k:])).digest()


@pytest.mark.parametrize("size", [*range(1, 34), 100, 1000])
def test_root_and_every_path(size: int) -> None:
    leaves = [merkle.leaf_hash(str(n).encode()) for n in range(size)]
    root = merkle.root(leaves)
    assert root == _rfc_root(leaves)
    for index in range(0, size, max(1, size // 40)):
        path = merkle.path(leaves, index)
        assert merkle.root_from_path(leaves[index], index, size, path) == root
        if path:
            bent = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
            assert merkle.root_from_path(leaves[index], index, size, bent) != root
        other = leaves[(index + 1) % size]
        if size > 1:
            assert merkle.root_from_path(other, index, size, path) != root


def test_known_answer_of_rfc_6962_empty_and_single_leaf() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
