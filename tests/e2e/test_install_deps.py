"""``tests/e2e/install-deps.sh`` (run by ``make test``) decides right, on a stubbed system: ``PATH``
holds only stand-ins for ``id``, ``sudo``, ``apt-get``, ``apt-cache``, ``node`` and ``npm``, which
write down how they were called. Nothing is installed for real.

On this machine it also runs for real, where it must do nothing: everything is there.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("install-deps.sh")
INSTALL = "apt-get -q -o DPkg::Lock::Timeout=300 install -y"
UPDATE = "apt-get -q -o DPkg::Lock::Timeout=300 update"

APT_GET = r"""
echo "apt-get $*" >> "$LOG"
case " $* " in
  *" update "*)
    if [ -f "$STATE/lock-busy" ]; then
      /bin/rm "$STATE/lock-busy"
      echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
      exit 100
    fi ;;
  *" install "*)
    for p in "$@"; do
      case $p in
        chromium) printf '#!/bin/sh\n' > "$CHROMIUM"; /bin/chmod +x "$CHROMIUM" ;;
        nodejs) printf '#!/bin/sh\necho v%s\n' "$DEBIAN_NODE" > "$BIN/node"; /bin/chmod +x "$BIN/node" ;;
        npm) printf '#!/bin/sh\n' > "$BIN/npm"; /bin/chmod +x "$BIN/npm" ;;
      esac
    done ;;
esac
"""


@dataclass
class Run:
    returncode: int
    stderr: str
    calls: list[str]


class StubSystem:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.chromium = root / "chromium"
        self.log = root / "calls.log"
        self.log.touch()
        self.env = {"PATH": str(self.bin), "IDSVC_E2E_CHROMIUM": str(self.chromium), "LOG": str(self.log),
                    "STATE": str(root), "BIN": str(self.bin), "CHROMIUM": str(self.chromium),
                    "DEBIAN_NODE": "20.19.2"}
        self.stub("id", 'echo "${UID_OF_USER:-0}"')
        self.stub("true", "exit 0")
        self.stub("sleep", 'echo "sleep $*" >> "$LOG"')
        self.stub("apt-get", APT_GET)
        self.stub("apt-cache", 'printf "nodejs:\\n  Installed: (none)\\n  Candidate: %s\\n" "$DEBIAN_NODE"')

    def stub(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    def has(self, *, chromium: bool = True, node: str | None = "20.19.2", npm: bool = True) -> StubSystem:
        if chromium:
            self.stub("../chromium", "exit 0")
        if node:
            self.stub("node", f"echo v{node}")
        if npm:
            self.stub("npm", "exit 0")
        return self

    def user(self, *, sudo: bool) -> StubSystem:
        self.env["UID_OF_USER"] = "1000"
        if sudo:
            self.stub("sudo", 'echo "sudo $*" >> "$LOG"; shift; exec "$@"')
        return self

    def run(self) -> Run:
        done = subprocess.run(["/bin/sh", str(SCRIPT)], env=self.env, capture_output=True, text=True, timeout=60)
        return Run(done.returncode, done.stderr, self.log.read_text().splitlines())


@pytest.fixture()
def system(tmp_path: Path) -> StubSystem:
    return StubSystem(tmp_path)


def test_everything_present_nothing_done(system) -> None:
    run = system.has().run()
    assert (run.returncode, run.stderr, run.calls) == (0, "", [])


def test_as_root_installs_what_is_missing_after_an_update(system) -> None:
    run = system.has(chromium=False, node=None, npm=False).run()
    assert run.returncode == 0, run.stderr
    assert run.calls == [UPDATE, f"{INSTALL} chromium nodejs npm"]
    assert "missing: chromium nodejs npm; installing from Debian" in run.stderr


def test_only_chromium_when_node_is_there(system) -> None:
    run = system.has(chromium=False).run()
    assert (run.returncode, run.calls) == (0, [UPDATE, f"{INSTALL} chromium"])


def test_another_user_installs_through_sudo_n(system) -> None:
    run = system.has(chromium=False).user(sudo=True).run()
    assert run.returncode == 0, run.stderr
    assert run.calls == ["sudo -n true", f"sudo -n {UPDATE}", UPDATE, f"sudo -n {INSTALL} chromium",
                         f"{INSTALL} chromium"]


def test_without_root_or_sudo_it_prints_the_command_and_fails(system) -> None:
    run = system.has(chromium=False, node=None, npm=False).user(sudo=False).run()
    assert run.returncode == 1 and run.calls == []
    assert "  sudo apt-get update && sudo apt-get install -y chromium nodejs npm" in run.stderr


def test_without_apt_it_says_what_to_install_and_fails(system) -> None:
    (system.bin / "apt-get").unlink()
    run = system.has(chromium=False).run()
    assert run.returncode == 1 and "not a Debian-like system" in run.stderr


def test_waits_for_another_apt_holding_the_lists_lock(system) -> None:
    (system.root / "lock-busy").touch()
    run = system.has(chromium=False).run()
    assert run.returncode == 0, run.stderr
    assert run.calls == [UPDATE, "sleep 5", UPDATE, f"{INSTALL} chromium"]
    assert "another apt is running; waiting for its lock" in run.stderr


def test_a_debian_nodejs_older_than_20_is_not_installed(system) -> None:
    system.env["DEBIAN_NODE"] = "18.20.4+dfsg-1~deb12u3"  # Debian 12
    run = system.has(chromium=False, node=None, npm=False).run()
    assert run.returncode == 1
    assert run.calls == [UPDATE, f"{INSTALL} chromium"]  # the rest is installed all the same
    assert "nodejs package is version 18.20.4+dfsg-1~deb12u3; tests/e2e/rp needs Node.js >= 20" in run.stderr


def test_an_installed_node_older_than_20_fails_with_the_reason(system) -> None:
    run = system.has(node="18.19.1").run()
    assert run.returncode == 1 and run.calls == []
    assert "node is version v18.19.1; tests/e2e/rp needs Node.js >= 20" in run.stderr


def test_on_this_machine_it_does_nothing() -> None:
    """``make test`` runs here: Chromium and Node.js are installed, so it must neither install nor fail."""
    done = subprocess.run(["/bin/sh", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
