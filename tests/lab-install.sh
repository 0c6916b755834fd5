#!/usr/bin/env bash
# octa's main job on the built-in lab, as root on a fresh Debian 12 machine with the Rust
# toolchain: builds octa, brings the lab up (real Keystone, Neutron, Open vSwitch and a
# stock Octavia amphora agent, inside the network namespace `octa-lab`), and installs
# octa into it. Today that is Octavia's PKI (`octa pki init` and `octa pki show`); the
# full `octa install` replaces it as it lands. The lab stays up: `tests/lab/down.sh`
# removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lab-install: run as root" >&2; exit 2; }
command -v cargo >/dev/null || { echo "lab-install: cargo is missing: install the Rust toolchain" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

cargo build --locked --bin octa
OCTA=$CARGO_TARGET_DIR/debug/octa
tests/lab/up.sh
LAB=${OCTA_LAB_DIR:-/var/tmp/octa-lab}
PKI=$LAB/octa/pki

tests/lab/run.sh "$OCTA" pki init --dir "$PKI"
tests/lab/run.sh "$OCTA" pki show --dir "$PKI"
echo
echo "octa's PKI is in $PKI; the lab's credentials are in $LAB/env (tests/lab/run.sh CMD runs CMD with them)."
