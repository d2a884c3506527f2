"""The import contracts of setup.cfg ([importlinter]): subdomains and plumbing import downward only,
nothing but process start-up imports the factory, and no import cycle at any depth."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_imports_keep_the_contracts(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def test_imports_inside_functions_count() -> None:
    """A lower subdomain calling a higher one from inside a function is an arrow up all the same."""
    graph = grimp.build_graph("idsvc", cache_dir=None)
    # Only inside register_commands() and create_app():
    assert graph.direct_import_exists(importer="idsvc.cli", imported="idsvc.identity.commands")
    assert graph.direct_import_exists(importer="idsvc", imported="idsvc.oidc.receivers")
