"""The ``idsvc`` command: keys, units, migrations."""

from __future__ import annotations

import stat

from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent


def test_keys_generate_if_missing_creates_private_files_once(app, tmp_path) -> None:
    app.config["KEYS_DIR"] = str(tmp_path / "keys")
    from idsvc.oidc import keys

    keys.init_app(app)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["keys", "generate", "--if-missing"])
    assert first.exit_code == 0, first.output
    assert "generated ES256" in first.output and "generated RS256" in first.output
    pems = list((tmp_path / "keys").glob("*.pem"))
    assert len(pems) == 2
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pems)
    again = runner.invoke(args=["keys", "generate", "--if-missing"])
    assert again.output == "" and len(list((tmp_path / "keys").glob("*.pem"))) == 2
    listing = runner.invoke(args=["keys", "list"]).output
    assert listing.count("\tactive") == 2
    with app.app_context():
        assert len(db.session().scalars(select(AuditEvent).where(AuditEvent.action == "oidc:keys:generate")).all()) == 2


def test_units_sync_is_idempotent(runner) -> None:
    result = runner.invoke(args=["units", "sync"])
    assert result.exit_code == 0
    assert "34 provinces, 3321 communes (0 new rows)" in result.output


def test_db_current_names_the_head_revision(runner) -> None:
    from alembic.script import ScriptDirectory

    from idsvc.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert runner.invoke(args=["db", "current"]).output.strip() == head


def test_seed_loads_the_demo_citizens_once(runner) -> None:
    from idsvc.registry import service

    first = runner.invoke(args=["seed", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "demo_citizens.csv: 13 imported, 0 already present, 0 rejected" in first.output
    with runner.app.app_context():
        assert service.get_citizen_by_number("001080012345").full_name == "Nguyễn Văn An"
    again = runner.invoke(args=["seed", "--if-empty"])
    assert "demo data not loaded again" in again.output
    assert "social-pension-2025: rule set version 1 (added)" in first.output
    assert "social-pension-2025: rule set version 1 (unchanged)" in again.output
    forced = runner.invoke(args=["seed"])
    assert "demo_citizens.csv: 0 imported, 13 already present, 0 rejected" in forced.output
