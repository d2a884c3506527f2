#!/bin/sh
# What the end-to-end tests need from the system, installed from Debian when it is missing:
# Debian's chromium (the browser test, driven by Playwright at /usr/bin/chromium) and Node.js
# with npm (the interoperability test's relying party, tests/e2e/rp). `make test` runs this first.
#
# Nothing is done when everything is there. Otherwise: `apt-get update` then `apt-get install -y`,
# as root directly, through `sudo -n` for another user; when neither can, the exact command to
# run is printed and the exit status is 1. Another apt holding the locks is waited for.
set -eu

CHROMIUM=${IDSVC_E2E_CHROMIUM:-/usr/bin/chromium}
NODE_MIN=20  # tests/e2e/rp/package.json: openid-client 6 needs Node.js 20
LOCK_WAIT=300  # seconds to wait for another apt or dpkg to finish

say() { printf 'install-deps: %s\n' "$*" >&2; }

node_major() {  # the major version of `node`, e.g. 20
  v=$(node --version 2>/dev/null) || v=v0
  v=${v#v}
  echo "${v%%.*}"
}

packages=""
[ -x "$CHROMIUM" ] || packages="chromium"
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"
packages=${packages# }

if [ -n "$packages" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: $packages, and this is not a Debian-like system (no apt-get): install Chromium" \
        "(at $CHROMIUM, or set IDSVC_E2E_CHROMIUM) and Node.js >= $NODE_MIN with npm, then run make test again."
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
  else
    say "missing: $packages. Installing it needs root; run:"
    say "  sudo apt-get update && sudo apt-get install -y $packages"
    say "then make test again."
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive

  say "missing: $packages; installing from Debian (apt-get update, apt-get install -y)"
  # DPkg::Lock::Timeout covers dpkg's lock; `update` takes the package lists' lock without waiting.
  waited=0
  while ! out=$($as_root apt-get -q -o DPkg::Lock::Timeout=$LOCK_WAIT update 2>&1); do
    case $out in
      *"Could not get lock"*|*"Unable to lock"*) ;;
      *) printf '%s\n' "$out" >&2; say "apt-get update failed"; exit 1 ;;
    esac
    if [ "$waited" -ge "$LOCK_WAIT" ]; then
      printf '%s\n' "$out" >&2; say "another apt held its lock for ${LOCK_WAIT} s; run make test again later"; exit 1
    fi
    say "another apt is running; waiting for its lock"
    sleep 5
    waited=$((waited + 5))
  done

  too_old=""
  case " $packages " in
    *" nodejs "*)
      candidate=""
      while read -r key value; do
        [ "$key" = "Candidate:" ] && candidate=$value
      done <<EOF
$(apt-cache policy nodejs 2>/dev/null)
EOF
      major=${candidate#*:}  # without an epoch
      major=${major%%.*}
      case $major in
        ''|*[!0-9]*) major=0 ;;
      esac
      if [ "$major" -lt "$NODE_MIN" ]; then  # Debian 12 has Node.js 18
        too_old=${candidate:-none}
        rest=""
        for p in $packages; do
          case $p in nodejs|npm) ;; *) rest="$rest $p" ;; esac
        done
        packages=${rest# }
      fi
      ;;
  esac

  if [ -n "$packages" ]; then
    # shellcheck disable=SC2086  # one word per package
    $as_root apt-get -q -o DPkg::Lock::Timeout=$LOCK_WAIT install -y $packages
  fi
  if [ -n "$too_old" ]; then
    say "this system's nodejs package is version $too_old; tests/e2e/rp needs Node.js >= $NODE_MIN."
    say "Install Node.js >= $NODE_MIN with npm (Debian 13's nodejs, or NodeSource's nodejs for Debian 12:"
    say "https://github.com/nodesource/distributions), then run make test again."
    exit 1
  fi
fi

if [ ! -x "$CHROMIUM" ]; then
  say "Chromium is still missing at $CHROMIUM"
  exit 1
fi
if [ "$(node_major)" -lt "$NODE_MIN" ]; then
  say "node is version $(node --version 2>/dev/null || echo unknown); tests/e2e/rp needs Node.js >= $NODE_MIN:" \
      "install a newer Node.js with npm, then run make test again."
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  say "npm is still missing"
  exit 1
fi
