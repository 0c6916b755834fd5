#!/usr/bin/env bash
# octa's main job on the built-in lab, as root on a fresh Debian 12 machine with the Rust
# toolchain: builds octa, brings the lab up (real Keystone, Neutron, Open vSwitch and a
# stock Octavia amphora agent, inside the network namespace `octa-lab`), and bootstraps
# Octavia into it with `octa install --playbook playbooks/lab.yaml --yes`: management
# network, subnet, security groups, health-manager port bound to this host, o-hm0 on br-int,
# firewall table, boot unit, PKI, heartbeat key and configuration; then `octa status`
# verifies every step. Re-running it changes nothing. The lab stays up:
# `tests/lab/down.sh` removes it (`octa uninstall --playbook playbooks/lab.yaml --yes`
# removes only the install).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lab-install: run as root" >&2; exit 2; }
command -v cargo >/dev/null || { echo "lab-install: cargo is missing: install the Rust toolchain" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

cargo build --locked --bin octa
OCTA=$CARGO_TARGET_DIR/debug/octa
tests/lab/up.sh
LAB=${OCTA_LAB_DIR:-/var/tmp/octa-lab}

tests/lab/run.sh "$OCTA" install --playbook playbooks/lab.yaml --yes
tests/lab/run.sh "$OCTA" status --playbook playbooks/lab.yaml
echo
echo "installed; state, configuration and keys are under $LAB/octa; the lab's credentials are in $LAB/env (tests/lab/run.sh CMD runs CMD with them)."
