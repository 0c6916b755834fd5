#!/bin/bash
# Start a private Open vSwitch (ovsdb-server + userspace ovs-vswitchd) and create br-int
# with datapath_type=netdev. No kernel openvswitch module needed: internal ports are
# tap devices created by ovs-vswitchd.
#   usage: (inside the lab namespace, normally through up.sh)
# env: OCTA_OVS_RUNDIR (default STATE/ovs)  where db.sock / *.ctl / *.pid go
#      OCTA_OVSDB_TCP_PORT (6640, 0=off)     extra remote ptcp:PORT:127.0.0.1
#      OCTA_OVS_NO_VSWITCHD=1                 only ovsdb-server (rows get no ofport, see README)
#      OCTA_OVS_NETNS=name                    run ovs-vswitchd inside that netns (created if needed)
#      OCTA_OVS_BRIDGE (br-int)
# Idempotent: a running daemon is left alone; the database persists across down/up.
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
ensure_pkgs openvswitch-switch openvswitch-common

: "${OCTA_OVS_BRIDGE:=br-int}"
R=$OCTA_OVS_RUNDIR
mkdir -p "$R"
export OVS_RUNDIR=$R OVS_LOGDIR=$STATE/log OVS_DBDIR=$STATE/ovs OVS_PKGDATADIR=/usr/share/openvswitch
DB=$STATE/ovs/conf.db
VSCTL=(ovs-vsctl --db="unix:$R/db.sock" --timeout=20)
t0=$(now)

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if pid_alive "$R/ovsdb-server.pid"; then
  log "ovsdb-server already running (pid $(cat "$R/ovsdb-server.pid"))"
else
  [[ -s $DB ]] || ovsdb-tool create "$DB" /usr/share/openvswitch/vswitch.ovsschema
  remotes=(--remote="punix:$R/db.sock" --remote=db:Open_vSwitch,Open_vSwitch,manager_options)
  ((OCTA_OVSDB_TCP_PORT)) && remotes+=(--remote="ptcp:$OCTA_OVSDB_TCP_PORT:$OCTA_BIND")
  ovsdb-server "$DB" "${remotes[@]}" \
    --pidfile="$R/ovsdb-server.pid" --unixctl="$R/ovsdb-server.ctl" \
    --log-file="$STATE/log/ovsdb-server.log" --detach --no-chdir 2>>"$STATE/log/ovsdb-server.log"
  wait_for "ovsdb-server socket" 10 test -S "$R/db.sock"
  "${VSCTL[@]}" --no-wait init
  "${VSCTL[@]}" --no-wait set Open_vSwitch . external_ids:hostname="$(hostname)" \
    external_ids:system-id=octa-lab
  timing ovsdb-server-start "$(since "$t0")s"
fi

if [[ ${OCTA_OVS_NO_VSWITCHD:-0} == 1 ]]; then
  log "OCTA_OVS_NO_VSWITCHD=1: not starting ovs-vswitchd"
elif pid_alive "$R/ovs-vswitchd.pid"; then
  log "ovs-vswitchd already running (pid $(cat "$R/ovs-vswitchd.pid"))"
else
  t1=$(now)
  prefix=()
  if [[ -n $OCTA_OVS_NETNS ]]; then
    ip netns list | grep -qw "^$OCTA_OVS_NETNS" || { ip netns add "$OCTA_OVS_NETNS"; touch "$STATE/ovs/netns-created"; }
    ip -n "$OCTA_OVS_NETNS" link set lo up
    prefix=(ip netns exec "$OCTA_OVS_NETNS")
  fi
  "${prefix[@]}" ovs-vswitchd "unix:$R/db.sock" --pidfile="$R/ovs-vswitchd.pid" \
    --unixctl="$R/ovs-vswitchd.ctl" --log-file="$STATE/log/ovs-vswitchd.log" \
    --detach --no-chdir 2>>"$STATE/log/ovs-vswitchd.log"
  timing ovs-vswitchd-start "$(since "$t1")s"
fi

"${VSCTL[@]}" --no-wait --may-exist add-br "$OCTA_OVS_BRIDGE" \
  -- set bridge "$OCTA_OVS_BRIDGE" datapath_type=netdev
if ! alive neutron-ovs-agent; then
  # neutron-openvswitch-agent (if it ever ran on this state dir) leaves br-int in
  # fail_mode=secure with a controller; without the agent that drops all traffic.
  # Go back to a plain learning switch; neutron-ovs-agent-up.sh sets them again.
  "${VSCTL[@]}" --no-wait del-controller "$OCTA_OVS_BRIDGE" -- del-fail-mode "$OCTA_OVS_BRIDGE"
fi
if [[ ${OCTA_OVS_NO_VSWITCHD:-0} != 1 ]]; then
  # the bridge's local port gets ofport 65534 once vswitchd has created its tap
  "${VSCTL[@]}" wait-until interface "$OCTA_OVS_BRIDGE" ofport=65534
fi
write_env
timing ovs-up-total "$(since "$t0")s"
log "OVS ready: db unix:$R/db.sock$( ((OCTA_OVSDB_TCP_PORT)) && echo " and tcp:$OCTA_BIND:$OCTA_OVSDB_TCP_PORT"), bridge $OCTA_OVS_BRIDGE (netdev)"
