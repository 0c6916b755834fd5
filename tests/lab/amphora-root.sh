#!/bin/bash
# A minimal Debian 12 root file system that boots systemd under systemd-nspawn: the
# "amphora image" in which octa-agent's systemd haproxy manager is tested live (this
# machine's PID 1 is not systemd). Built once with debootstrap and reused; the tests boot
# it with --volatile=overlay, so it is never written to.
#   usage: tests/lab/amphora-root.sh          prints the root's path (builds it if missing)
#          tests/lab/amphora-root.sh --remove removes it
# The root lives in $OCTA_AMPHORA_ROOT (default /var/tmp/octa-amphora-root).
set -euo pipefail
ROOTFS=${OCTA_AMPHORA_ROOT:-/var/tmp/octa-amphora-root}
MARKER=$ROOTFS/.octa-amphora-root
MIRROR=${OCTA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a stock amphora image has for haproxy, keepalived and the amphora namespace
# (procps: the units' ExecReload is /bin/kill).
PACKAGES=systemd,systemd-sysv,dbus,procps,haproxy,keepalived,iproute2

die() { echo "amphora-root: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and systemd-nspawn need it)"

if [ "${1:-}" = --remove ]; then
  [ ! -e "$ROOTFS" ] || [ -e "$MARKER" ] || die "$ROOTFS was not made by this script: left alone"
  rm -rf "$ROOTFS"
  exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--remove]"

if [ -e "$MARKER" ] && [ "$(cat "$MARKER")" = "$PACKAGES" ]; then
  echo "$ROOTFS"
  exit 0
fi
[ ! -e "$ROOTFS" ] || [ -e "$MARKER" ] || die "$ROOTFS exists and was not made by this script"

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# Built beside the final path and renamed, so an interrupted build never looks finished.
rm -rf "$ROOTFS.partial" "$ROOTFS"
started=$(date +%s)
if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS.partial" "$MIRROR" \
    > "$ROOTFS.log" 2>&1; then
  tail -20 "$ROOTFS.log" >&2
  die "debootstrap failed (full log: $ROOTFS.log)"
fi
# The image's own haproxy and keepalived services stay off, as on an amphora: the
# agent creates one unit per load balancer.
chroot "$ROOTFS.partial" systemctl disable --quiet haproxy.service keepalived.service 2>/dev/null || true
echo "$PACKAGES" > "$ROOTFS.partial/.octa-amphora-root"
mv "$ROOTFS.partial" "$ROOTFS"
echo "amphora-root: built $ROOTFS in $(( $(date +%s) - started )) s" >&2
echo "$ROOTFS"
