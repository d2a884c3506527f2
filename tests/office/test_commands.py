"""``idsvc registry propose|approve|reject|withdraw|proposals|operations``: an office's script."""

from __future__ import annotations

import re

from idsvc import db
from idsvc.registry import service as registry
from idsvc.registry.models import Citizen
from tests.office.conftest import COMMUNE
from tests.office.conftest import PROVINCE
from tests.office.conftest import make_staff
from tests.office.conftest import person


def _number_of(staff) -> str:
    return db.session().get(Citizen, staff.citizen_id).id_number


def test_a_clerk_proposes_a_death_and_a_supervisor_approves_it(app, runner, setup_data) -> None:
    clerk, supervisor, someone = setup_data(lambda: (
        _number_of(make_staff("clerk", COMMUNE)), _number_of(make_staff("supervisor", PROVINCE)),
        person().id_number))
    proposed = runner.invoke(args=["registry", "propose", "death", someone, "--as", clerk,
                                   "--reason", "Trích lục khai tử 4/2026", "--document-number", "KT-4/2026",
                                   "--document-date", "2026-11-03", "--set", "date_of_death=2026-11-02"])
    assert proposed.exit_code == 0, proposed.output
    proposal_id = re.match(r"#(\d+) death pending unit 00070", proposed.output).group(1)

    listed = runner.invoke(args=["registry", "proposals", "--as", supervisor])
    assert f"#{proposal_id} death pending" in listed.output

    own = runner.invoke(args=["registry", "approve", proposal_id, "--as", clerk])
    assert own.exit_code == 1 and "do not allow you to approve changes for unit 00070" in own.output

    approved = runner.invoke(args=["registry", "approve", proposal_id, "--as", supervisor])
    assert approved.exit_code == 0 and f"#{proposal_id} death applied" in approved.output
    with app.app_context():
        assert registry.get_citizen_by_number(someone).status == "deceased"
    again = runner.invoke(args=["registry", "approve", proposal_id, "--as", supervisor])
    assert again.exit_code == 1 and "already" in again.output
    shown = runner.invoke(args=["registry", "show", someone])
    [line] = [line for line in shown.output.splitlines() if line.startswith("  v") and "death_registration" in line]
    assert "approved by account:" in line and "[KT-4/2026 of 2026-11-03]" in line


def test_a_rejection_needs_a_note_and_shows_it(runner, setup_data) -> None:
    clerk, supervisor, someone = setup_data(lambda: (
        _number_of(make_staff("clerk", COMMUNE)), _number_of(make_staff("supervisor", PROVINCE)),
        person().id_number))
    proposed = runner.invoke(args=["registry", "propose", "name_change", someone, "--as", clerk,
                                   "--reason", "Quyết định 9/2026", "--set", "full_name=Lê Văn Mới"])
    proposal_id = re.match(r"#(\d+)", proposed.output).group(1)
    missing = runner.invoke(args=["registry", "reject", proposal_id, "--as", supervisor])
    assert missing.exit_code == 2 and "--note" in missing.output
    rejected = runner.invoke(args=["registry", "reject", proposal_id, "--as", supervisor,
                                   "--note", "Quyết định chưa có hiệu lực"])
    assert rejected.exit_code == 0 and "rejected" in rejected.output and "chưa có hiệu lực" in rejected.output
    mine = runner.invoke(args=["registry", "proposals", "--as", clerk, "--mine", "--status", "rejected"])
    assert f"#{proposal_id} name_change rejected" in mine.output


def test_an_immediate_correction_applies_and_bad_values_are_named(runner, setup_data) -> None:
    clerk, someone = setup_data(lambda: (_number_of(make_staff("clerk", COMMUNE)), person().id_number))
    bad = runner.invoke(args=["registry", "propose", "correction", someone, "--as", clerk, "--reason", "r",
                              "--set", "sex=X", "--set", "colour=blue"])
    assert bad.exit_code == 1 and "  sex:" in bad.output and "  colour:" in bad.output
    stale = runner.invoke(args=["registry", "propose", "correction", someone, "--as", clerk, "--reason", "r",
                                "--set", "religion=Không", "--expect-version", "7"])
    assert stale.exit_code == 1 and "version 7, now 1" in stale.output
    done = runner.invoke(args=["registry", "propose", "correction", someone, "--as", clerk, "--reason", "r",
                               "--set", "religion=Không", "--expect-version", "1"])
    assert done.exit_code == 0 and "correction applied" in done.output and '"version": 2' in done.output
    withdraw = runner.invoke(args=["registry", "withdraw", re.match(r"#(\d+)", done.output).group(1),
                                   "--as", clerk])
    assert withdraw.exit_code == 1 and "already" in withdraw.output


def test_someone_without_a_staff_role_cannot_act(runner, setup_data) -> None:
    someone = setup_data(lambda: person().id_number)
    refused = runner.invoke(args=["registry", "proposals", "--as", someone])
    assert refused.exit_code == 1 and "no account" in refused.output


def test_operations_lists_every_operation_and_its_fields(runner) -> None:
    listed = runner.invoke(args=["registry", "operations"])
    assert listed.exit_code == 0
    assert "death [person] Death registration / Đăng ký khai tử (always reviewed" in listed.output
    assert "    registration_commune*  commune" in listed.output


def test_the_demo_clerk_and_supervisors_of_the_seed_work_on_the_demo_household(runner) -> None:
    seeded = runner.invoke(args=["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "demo account 001190008801 (level 2, clerk of 00070)" in seeded.output
    assert "demo account 001075008804 (level 2, auditor of *)" in seeded.output
    child = "001216000222"  # Nguyễn Đức Dũng, of the demo household DEMO-00070-0001
    proposed = runner.invoke(args=["registry", "propose", "name_change", child, "--as", "001190008801",
                                   "--reason", "Quyết định 12/2026", "--set", "full_name=Nguyễn Đức Dương"])
    assert proposed.exit_code == 0, proposed.output
    proposal_id = re.match(r"#(\d+)", proposed.output).group(1)
    auditor = runner.invoke(args=["registry", "approve", proposal_id, "--as", "001075008804"])
    assert auditor.exit_code == 1
    approved = runner.invoke(args=["registry", "approve", proposal_id, "--as", "001078008802"])
    assert approved.exit_code == 0, approved.output
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0 and "001190008801" not in again.output
