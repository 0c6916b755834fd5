#!/bin/bash
# Bring the lab up: one command, as root, on a fresh Debian 12 machine.
# Installs the Debian packages the lab needs, creates the network namespace `octa-lab`
# and starts inside it, bound to its loopback only: ovsdb-server + userspace ovs-vswitchd
# with br-int (netdev datapath), RabbitMQ, Keystone and Neutron (SQLite, ML2 vxlan), the
# real neutron-openvswitch-agent (so plugged ports go ACTIVE) and a stock Octavia amphora
# agent with mTLS. Writes $OCTA_LAB_DIR/env (OS_* and OCTA_* variables) and
# $OCTA_LAB_DIR/clouds.yaml (cloud `lab`). Re-running it on a running lab changes nothing.
#   usage: tests/lab/up.sh          (state dir: $OCTA_LAB_DIR, default /var/tmp/octa-lab)
source "$(dirname "$0")/lib.sh"
need_root

if [[ $(ip netns identify $$ 2>/dev/null) != "$LAB_NETNS" ]]; then
  t0=$(now)
  ensure_pkgs "${LAB_PACKAGES[@]}"
  if [[ ! -e /run/netns/$LAB_NETNS ]]; then
    ip netns add "$LAB_NETNS"
    touch "$STATE/netns-created"
    log "created network namespace $LAB_NETNS"
  fi
  ip -n "$LAB_NETNS" link set lo up
  ip netns exec "$LAB_NETNS" "$0" "$@" || exit $?
  timing lab-up-total "$(since "$t0")s"
  log "lab ready in $(since "$t0") s: tests/lab/run.sh CMD runs CMD with $STATE/env inside $LAB_NETNS"
  exit 0
fi

# Inside the namespace from here on.
step() {
  local name=$1; shift
  if ! "$@"; then
    log "lab: $name failed; last lines of its logs:"
    for f in "$STATE"/log/*"$name"*; do
      [[ -f $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
  fi
}
step ovs "$LAB_SRC/ovs.sh"
step rabbitmq "$LAB_SRC/rabbitmq.sh"
step keystone "$LAB_SRC/keystone.sh"
step neutron "$LAB_SRC/neutron.sh"
step neutron-ovs-agent "$LAB_SRC/neutron-ovs-agent.sh"
step amphora-agent "$LAB_SRC/amphora-agent.sh"
write_env
