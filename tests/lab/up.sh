#!/bin/bash
# Bring the lab up: one command, as root, on a Debian 12 machine.
#
# Installs the Debian packages the lab needs (only the missing ones; no apt at all when
# none is), creates the network namespace octa-lab and starts inside it, bound to its
# loopback only: ovsdb-server + userspace ovs-vswitchd with br-int (netdev datapath),
# RabbitMQ, Keystone and Neutron (SQLite, ML2 flat+vxlan, openvswitch, port_security),
# the real neutron-openvswitch-agent (plugged ports go ACTIVE) and a stock Octavia
# amphora agent (mTLS, heartbeats to 127.0.0.1:5555). Writes $OCTA_LAB_DIR/env and
# $OCTA_LAB_DIR/clouds.yaml (cloud "lab").
#
# Idempotent: on a running lab it only checks that every recorded process is alive and
# its endpoint answers, and restarts what is not.
#   usage: tests/lab/up.sh        (state dir: $OCTA_LAB_DIR, default /var/tmp/octa-lab)
source "$(dirname "$0")/lib.sh"
# shellcheck source=services.sh
source "$LAB_SRC/services.sh"
need_root
state_init

if ! in_lab_netns; then
  t0=$(now)
  ensure_pkgs "${LAB_PACKAGES[@]}"
  if [[ ! -e /run/netns/$LAB_NETNS ]]; then
    ip netns add "$LAB_NETNS" || die "cannot create network namespace $LAB_NETNS"
    touch "$STATE/netns-created"
    log "created network namespace $LAB_NETNS"
  fi
  ip -n "$LAB_NETNS" link set lo up || die "cannot bring lo up in $LAB_NETNS"
  rc=0
  ip netns exec "$LAB_NETNS" "$LAB_SRC/up.sh" || rc=$?
  if ((rc)); then
    log "lab: up.sh failed (exit $rc) after $(since "$t0") s"
    exit "$rc"
  fi
  timing up-total "$(since "$t0")"
  echo "lab up in $(since "$t0") s: env file $STATE/env; run commands in it with tests/lab/run.sh CMD..."
  exit 0
fi

# ---- inside the namespace -----------------------------------------------------------------
ensure_pkgs "${LAB_PACKAGES[@]}"   # only checks: apt cannot run in here
ip link set lo up

# step NAME FUNCTION LOG... : run FUNCTION in a subshell with errexit; on failure say which
# service failed, show the tail of its logs and exit non-zero.
step() {
  local name=$1 fn=$2 rc f; shift 2
  set +e
  ( set -e; "$fn" )
  rc=$?
  set -e
  ((rc == 0)) && return 0
  log "FAILED: $name (exit $rc); last lines of its logs:"
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- %s\n' "$f" >&2
    tail -n 25 "$f" >&2
  done
  exit 1
}

t1=$(now)
L=$STATE/log
step ovs svc_ovs "$L/ovsdb-server.log" "$L/ovs-vswitchd.log"
step rabbitmq svc_rabbitmq "$L/rabbitmq.stdout" "$L/rabbitmq/octa@localhost.log" "$L/epmd.log"
step keystone svc_keystone "$L/keystone-manage.log" "$L/keystone-uwsgi.log" "$L/keystone.log"
step neutron-server svc_neutron "$L/neutron-db.log" "$L/ks-register.log" "$L/neutron-server.stdout" "$L/neutron-server.log"
step neutron-openvswitch-agent svc_ovs_agent "$L/neutron-ovs-agent.stdout" "$L/neutron-ovs-agent.log"
step amphora-agent svc_amphora_agent "$L/certs.log" "$L/amphora-agent.stdout" "$L/amphora-agent.log" "$L/amphora-agent-gunicorn.log"
write_env
timing services-up "$(since "$t1")"
log "lab services ready in $(since "$t1") s; env file: $STATE/env"
