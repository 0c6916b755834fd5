#!/bin/bash
# Tear the lab down: stop every process it started, by recorded pid / process group
# (extra stock agents, the lab's amphora agent, neutron-openvswitch-agent and its privsep
# helpers, neutron-server and its workers, uWSGI, RabbitMQ, epmd, ovs-vswitchd,
# ovsdb-server), remove the taps OVS made, the namespace amphora-haproxy if the lab
# caused it, and the namespace octa-lab. The state (databases, certificates, secrets)
# is kept, so the next up.sh is a warm start.
# Never stops half-way: it goes on past errors, reports them and exits 1 at the end if
# there was any. Running it when nothing is up is fine.
#   usage: tests/lab/down.sh [--purge]    --purge also deletes the state dir, but only if
#                                         it carries the lab's marker (.octa-lab)
purge=0
for a in "$@"; do
  case $a in
    --purge) purge=1 ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"
need_root
set +eu   # go on past every error (and never trip over an unset variable)
t0=$(now)
failures=0
fail() { log "ERROR: $*"; failures=$((failures + 1)); }

if state_is_foreign; then
  log "ERROR: $STATE has no .octa-lab marker: not touching it (wrong OCTA_LAB_DIR?)"
  exit 1
fi
ns=()
[[ -e /run/netns/$LAB_NETNS ]] && ns=(-n "$LAB_NETNS")

if [[ -d $STATE/pids ]]; then
  # Two waves, each stopped all at once (every shutdown takes seconds): first everything
  # that talks to RabbitMQ or serves an API -- extra agents (stock-agent.sh), the lab's
  # amphora agent, the OVS agent (+ privsep helpers), neutron-server (+ workers), uWSGI
  # (SIGINT = immediate shutdown of master + workers) -- then RabbitMQ and epmd.
  wave1=()
  for f in "$STATE"/pids/*.pid; do
    [[ -e $f ]] || continue
    n=$(basename "$f" .pid)
    case $n in
      rabbitmq|epmd) ;;
      keystone) wave1+=(keystone:INT) ;;
      *) wave1+=("$n") ;;
    esac
  done
  if ((${#wave1[@]})); then stop_pids "${wave1[@]}" || fail "some processes could not be stopped"; fi
  stop_pids rabbitmq epmd || fail "rabbitmq/epmd could not be stopped"
fi

if ovs_is_ours ovs-vswitchd; then
  # names of the internal ports (taps), to remove any that outlive vswitchd
  taps=$(timeout 10 ovs-vsctl --db="unix:$R/db.sock" --timeout=5 --no-wait -f csv --no-headings \
           --columns=name find interface type=internal 2>/dev/null | tr -d '"')
  ovs_stop ovs-vswitchd --cleanup || fail "could not stop ovs-vswitchd"
  for t in $taps ovs-netdev; do
    if ip "${ns[@]}" link show "$t" >/dev/null 2>&1; then
      if ip "${ns[@]}" link del "$t"; then log "removed leftover tap $t"; else fail "could not remove tap $t"; fi
    fi
  done
fi
ovs_stop ovsdb-server || fail "could not stop ovsdb-server"

if [[ -f $STATE/amphora-haproxy-ours ]]; then
  if [[ -e /run/netns/amphora-haproxy ]]; then
    if ip netns del amphora-haproxy; then log "deleted netns amphora-haproxy (made by the agent)"
    else fail "could not delete netns amphora-haproxy"; fi
  fi
  rm -f "$STATE/amphora-haproxy-ours"
fi

if [[ -e /run/netns/$LAB_NETNS ]]; then
  # Whatever still runs in there was not started by the lab (a test, a shell): say so.
  # It keeps running, in an unnamed namespace, after the name is gone.
  for p in $(ip netns pids "$LAB_NETNS" 2>/dev/null); do
    log "warning: pid $p still runs in $LAB_NETNS and was not started by the lab: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
  done
  links=$(ip -n "$LAB_NETNS" -o link show 2>/dev/null | awk -F': ' '$2 != "lo" {print $2}' | cut -d@ -f1 | tr '\n' ' ')
  [[ -n ${links// } ]] && log "links removed with the namespace: $links"
  if ip netns del "$LAB_NETNS"; then log "deleted network namespace $LAB_NETNS"
  else fail "could not delete netns $LAB_NETNS"; fi
fi
rm -f "$STATE/netns-created" "$STATE/env" 2>/dev/null

if ((purge)); then
  if [[ -e $MARKER && -n $STATE && $STATE != / ]]; then
    if rm -rf "$STATE"; then log "purged $STATE"; else fail "could not purge $STATE"; fi
  elif [[ -e $STATE ]]; then
    fail "not purging $STATE: it has no .octa-lab marker"
  fi
fi

if ((failures)); then
  log "down: $failures error(s) in $(since "$t0") s"
  exit 1
fi
log "lab down in $(since "$t0") s"
exit 0
