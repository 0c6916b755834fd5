#!/usr/bin/env bash
# The whole test suite, as root on a fresh Debian 12 machine with the Rust toolchain:
# installs what the tests need, builds everything, brings the lab up, runs every test
# (unit, host, lab, compatibility) inside the lab's network namespace, and tears the lab
# down again (unless it was already running before, or --keep-lab is given).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KEEP_LAB=0
[ "${1:-}" = "--keep-lab" ] && KEEP_LAB=1

die() { echo "run-all: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run the test suite as root (it creates namespaces, OVS ports and nftables tables)"
command -v cargo >/dev/null || die "cargo is missing: install the Rust toolchain (rust-version in Cargo.toml)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# Tools the tests call directly; the lab installs the OpenStack side itself.
need=()
for pkg_cmd in openssl:openssl iproute2:ip util-linux:unshare nftables:nft curl:curl \
    netcat-openbsd:nc isc-dhcp-client:dhclient dnsmasq-base:dnsmasq; do
  command -v "${pkg_cmd#*:}" >/dev/null || need+=("${pkg_cmd%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Build before entering the lab's namespace, which has no route to crates.io.
cargo fetch --locked
cargo build --workspace --all-targets --locked
# The amphora image octa-agent's systemd manager is tested in (built once per machine).
tests/lab/amphora-root.sh >/dev/null

lab_was_up=0
[ -f "${OCTA_LAB_DIR:-/var/tmp/octa-lab}/env" ] && ip netns list | grep -qw octa-lab && lab_was_up=1
tests/lab/up.sh
if [ "$KEEP_LAB" = 0 ] && [ "$lab_was_up" = 0 ]; then
  trap 'tests/lab/down.sh' EXIT
fi

if cargo nextest --version >/dev/null 2>&1; then
  tests/lab/run.sh cargo nextest run --workspace --locked --offline --no-fail-fast
else
  tests/lab/run.sh cargo test --workspace --locked --offline --no-fail-fast
fi
