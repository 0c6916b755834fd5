#!/bin/bash
# Tear the lab down: stop every process it started (by recorded pid / process group),
# remove the taps, veths and namespaces it created, and the namespace `octa-lab`.
# Never stops half-way; reports what failed and exits non-zero if anything did.
# Running it when nothing is up is fine.
#   usage: tests/lab/down.sh [--purge]     --purge also deletes the state dir (marker checked)
purge=0
for a in "$@"; do [[ $a == --purge ]] && purge=1; done
source "$(dirname "$0")/lib.sh"
need_root
set +e
failures=0

if [[ $(ip netns identify $$ 2>/dev/null) != "$LAB_NETNS" ]]; then
  if [[ -e /run/netns/$LAB_NETNS ]]; then
    ip netns exec "$LAB_NETNS" "$0" || failures=1
    if [[ -f $STATE/netns-created ]]; then
      ip netns del "$LAB_NETNS" && log "deleted network namespace $LAB_NETNS" || failures=1
      rm -f "$STATE/netns-created"
    fi
  fi
  if [[ -f $STATE/amphora-haproxy-netns-ours ]]; then
    ip netns del amphora-haproxy 2>/dev/null && log "deleted netns amphora-haproxy (created by the agent)"
    rm -f "$STATE/amphora-haproxy-netns-ours"
  fi
  rm -f "$STATE/env"
  if ((purge)); then
    if [[ -e $STATE/.octa-lab && $STATE != / ]]; then rm -rf "$STATE" && log "purged $STATE"
    else log "not purging $STATE: it has no .octa-lab marker"; failures=1; fi
  fi
  exit $failures
fi

# Inside the namespace: services started with start_bg, agents first.
for f in "$STATE"/pids/*.pid; do
  [[ -e $f ]] || continue
  n=$(basename "$f" .pid)
  case $n in neutron-ovs-agent|neutron|keystone|rabbitmq|epmd) ;; *) stop_pid "$n" ;; esac
done
stop_pid neutron-ovs-agent
stop_pid neutron
stop_pid keystone INT      # uwsgi master: SIGINT = immediate shutdown of master + workers
stop_pid rabbitmq
stop_pid epmd

R=$OCTA_OVS_RUNDIR
if [[ -S $R/ovs-vswitchd.ctl ]] || [[ -s $R/ovs-vswitchd.pid ]]; then
  taps=$(ovs-vsctl --db="unix:$R/db.sock" --timeout=5 --no-wait -f csv --no-headings \
           --columns=name find interface type=internal 2>/dev/null | tr -d '"')
  ovs-appctl -t "$R/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 \
    || { [[ -s $R/ovs-vswitchd.pid ]] && kill "$(cat "$R/ovs-vswitchd.pid")" 2>/dev/null; }
  for _ in $(seq 1 25); do [[ -s $R/ovs-vswitchd.pid ]] && kill -0 "$(cat "$R/ovs-vswitchd.pid")" 2>/dev/null || break; sleep 0.2; done
  for t in $taps ovs-netdev; do
    ip link show "$t" >/dev/null 2>&1 && ip link del "$t" && log "removed leftover tap $t"
  done
  rm -f "$R/ovs-vswitchd.pid"
  log "stopped ovs-vswitchd"
fi
if [[ -s $R/ovsdb-server.pid ]]; then
  ovs-appctl -t "$R/ovsdb-server.ctl" exit >/dev/null 2>&1 || kill "$(cat "$R/ovsdb-server.pid")" 2>/dev/null
  for _ in $(seq 1 25); do kill -0 "$(cat "$R/ovsdb-server.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.2; done
  rm -f "$R/ovsdb-server.pid"
  log "stopped ovsdb-server"
fi
# Anything still alive that we started is a failure to report.
for f in "$STATE"/pids/*.pid; do
  [[ -e $f ]] || continue
  log "still running: $(basename "$f" .pid) (pid $(cat "$f"))"; failures=1
done
exit $failures
