# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings here are used by the scripts that source this
# Common helpers of octa's lab, sourced by up.sh, down.sh and stock-agent.sh.
# Adapted from the team's verified harness (/work/shared/harness); the project owns this copy.
#
# The state directory is $OCTA_LAB_DIR (default /var/tmp/octa-lab). Every daemon runs
# inside the network namespace `octa-lab` and binds that namespace's loopback only.
set -euo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_NETNS=octa-lab
STATE=${OCTA_LAB_DIR:-/var/tmp/octa-lab}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
STATE=${STATE%/}
MARKER=$STATE/.octa-lab
R=$STATE/ovs                     # OVS rundir: conf.db, db.sock, *.ctl, *.pid, br-*.mgmt
PY=/usr/bin/python3              # Debian's interpreter: the OpenStack packages live in its dist-packages

# Fixed endpoints: the namespace is private, so there is nothing to collide with.
BIND=127.0.0.1
KEYSTONE_PORT=5000
NEUTRON_PORT=9696
OVSDB_TCP_PORT=6640
AGENT_PORT=9443
HM_ADDR=127.0.0.1:5555
RABBIT_PORT=5672
RABBIT_DIST_PORT=25672
EPMD_PORT=4369
OF_PORT=6633
REGION=RegionOne
HEARTBEAT_INTERVAL=2
VNI_RANGES=1:1000
KEYSTONE_URL=http://$BIND:$KEYSTONE_PORT/v3
NEUTRON_URL=http://$BIND:$NEUTRON_PORT

# Every Debian package the lab needs; up.sh installs the missing ones in one apt run.
LAB_PACKAGES=(openvswitch-switch openvswitch-common keystone uwsgi-plugin-python3
  python3-openstackclient sqlite3 neutron-server python3-neutron rabbitmq-server
  neutron-openvswitch-agent sudo python3-octavia haproxy keepalived ipvsadm openssl curl
  iproute2 ethtool)

log()   { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()   { log "ERROR: $*"; exit 1; }
now()   { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }
timing() { printf '%s %s %ss\n' "$(date +%FT%T)" "$1" "$2" >> "$STATE/timings.txt"; }

in_lab_netns() { [[ $(ip netns identify $$ 2>/dev/null) == "$LAB_NETNS" ]]; }
need_lab_netns() { in_lab_netns || die "run this inside the network namespace $LAB_NETNS"; }

# A state dir is ours if it carries the marker; a missing or empty one may become ours.
state_is_foreign() {
  [[ -d $STATE && ! -e $MARKER && -n $(ls -A "$STATE" 2>/dev/null) ]]
}

# Create/check the state dir and load the per-lab secrets (made once, 0600, reused).
state_init() {
  [[ -n $STATE && $STATE != / ]] || die "bad state dir '$STATE'"
  if state_is_foreign; then
    die "refusing to use '$STATE' as the lab's state dir: it is not empty and has no .octa-lab marker"
  fi
  local sock=$R/br-int.snoop   # the longest unix socket path OVS makes there
  ((${#sock} < 108)) || die "state dir path too long: $sock must stay under 108 bytes (set OCTA_LAB_DIR shorter)"
  mkdir -p "$STATE"/{log,pids}
  touch "$MARKER"
  ADMIN_PASSWORD=$(secret admin-password)
  SERVICE_PASSWORD=$(secret service-password)
  HEARTBEAT_KEY=$(secret heartbeat-key)
  [[ -s $STATE/amphora-id ]] || cat /proc/sys/kernel/random/uuid > "$STATE/amphora-id"
  AMPHORA_ID=$(cat "$STATE/amphora-id")
  export OS_AUTH_URL=$KEYSTONE_URL OS_USERNAME=admin OS_PASSWORD=$ADMIN_PASSWORD \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
    OS_REGION_NAME=$REGION OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public
}

secret() {
  local f=$STATE/secrets/$1
  if [[ ! -s $f ]]; then
    mkdir -p "$STATE/secrets"; chmod 700 "$STATE/secrets"
    (umask 077; head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$f")
  fi
  cat "$f"
}

# Install the Debian packages that are missing; nothing at all (no apt) if none is.
# Services are never started by the install: a policy-rc.d that exits 101 is put in
# place for the duration of the apt run (and removed again if we put it there).
ensure_pkgs() {
  local missing=() p t ours=0 rc=0
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  in_lab_netns && die "packages missing (${missing[*]}) and this runs inside $LAB_NETNS, which has no network: run tests/lab/up.sh from the host"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# octa lab: do not start services during package installs\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    ours=1
  fi
  log "apt-get install ${missing[*]}"
  t=$(now)
  local apt_log
  apt_log=$STATE/log/apt-$(date +%s).log
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    > "$apt_log" 2>&1 || rc=$?
  ((ours)) && rm -f /usr/sbin/policy-rc.d
  if ((rc)); then
    log "ERROR: apt-get failed (exit $rc); last lines of $apt_log:"
    tail -n 20 "$apt_log" >&2
    exit 1
  fi
  timing "apt:${#missing[@]}-packages" "$(since "$t")"
  log "installed ${#missing[@]} packages in $(since "$t") s"
}

# ---- processes ------------------------------------------------------------------------
# A pid file holds "PID STARTTIME NETNS": the process start time (field 22 of
# /proc/PID/stat) guards against pid reuse (the state dir outlives reboots), the network
# namespace tells a live daemon of this lab from an orphan of a deleted namespace.

pidfile() { echo "$STATE/pids/$1.pid"; }
starttime() {  # PID -> start time, or nothing if gone (or a zombie)
  local s
  read -r s 2>/dev/null < "/proc/$1/stat" || return 0
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  [[ $1 == Z ]] || echo "${20}"
}
netns_of() { readlink "/proc/$1/ns/net" 2>/dev/null || true; }

# verified PID STARTTIME -> 0 if PID is the very process that was recorded
verified() { [[ -n $1 && -n $2 && $(starttime "$1") == "$2" ]]; }

# alive NAME -> 0 if the recorded process runs, in the network namespace we are in
alive() {
  local f pid st ns
  f=$(pidfile "$1"); [[ -s $f ]] || return 1
  read -r pid st ns < "$f" || true
  verified "$pid" "$st" && [[ $(netns_of "$pid") == "$(netns_of $$)" ]]
}

# start_bg NAME LOGFILE CMD... : start CMD in its own session (setsid) and record it.
# The pid is also the process-group id: stop_pid stops the whole tree by that id.
start_bg() {
  local name=$1 logf=$2 pid; shift 2
  setsid "$@" >>"$logf" 2>&1 < /dev/null &
  pid=$!
  echo "$pid $(starttime "$pid") $(netns_of "$pid")" > "$(pidfile "$name")"
}

# group_members PGID NETNS -> pids of the process group PGID in network namespace NETNS
group_members() {
  local pgid=$1 ns=$2 d s
  for d in /proc/[0-9]*; do
    read -r s 2>/dev/null < "$d/stat" || continue
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    [[ $3 == "$pgid" && $1 != Z ]] || continue
    [[ -z $ns || $(readlink "$d/ns/net" 2>/dev/null) == "$ns" ]] && echo "${d#/proc/}"
  done
  return 0
}

# stop_pids NAME[:SIGNAL]... : stop several recorded services at once (default SIGTERM).
# Each recorded process group gets its signal (the leader only if it is still the
# recorded process; leftover members only if they sit in the recorded namespace); then
# all are awaited together for up to 10 s, and what is left gets SIGKILL.
# Returns 1 if anything survived.
stop_pids() {
  local spec name sig f pid st ns i rc=0 pending=()
  declare -A P S N
  for spec in "$@"; do
    name=${spec%%:*}; sig=TERM; [[ $spec == *:* ]] && sig=${spec#*:}
    f=$(pidfile "$name")
    [[ -s $f ]] || { rm -f "$f"; continue; }
    read -r pid st ns < "$f" || true
    [[ $pid =~ ^[0-9]+$ ]] || { rm -f "$f"; continue; }
    if ! verified "$pid" "$st" && [[ -z $(group_members "$pid" "$ns") ]]; then rm -f "$f"; continue; fi
    kill -s "$sig" -- "-$pid" 2>/dev/null || true
    P[$name]=$pid; S[$name]=$st; N[$name]=$ns; pending+=("$name")
  done
  gone() { [[ -z $(group_members "${P[$1]}" "${N[$1]}") ]] && ! verified "${P[$1]}" "${S[$1]}"; }
  for ((i = 0; i < 50 && ${#pending[@]}; i++)); do
    local still=()
    for name in "${pending[@]}"; do
      if gone "$name"; then rm -f "$(pidfile "$name")"; log "stopped $name (process group ${P[$name]})"
      else still+=("$name"); fi
    done
    pending=("${still[@]}")
    ((${#pending[@]})) && sleep 0.2
  done
  ((${#pending[@]})) || return 0
  for name in "${pending[@]}"; do
    log "$name: still running after 10 s, sending SIGKILL to process group ${P[$name]}"
    kill -KILL -- "-${P[$name]}" 2>/dev/null || true
  done
  sleep 0.5
  for name in "${pending[@]}"; do
    if gone "$name"; then rm -f "$(pidfile "$name")"; log "killed $name (process group ${P[$name]})"
    else log "ERROR: $name: processes survived SIGKILL: $(group_members "${P[$name]}" "${N[$name]}" | tr '\n' ' ')"; rc=1; fi
  done
  return $rc
}
# stop_pid NAME [SIGNAL]
stop_pid() { stop_pids "$1:${2:-TERM}"; }

# wait_for DESC TIMEOUT_S CMD... : poll CMD every 0.2 s
wait_for() {
  local desc=$1 to=$2 end; shift 2
  end=$(($(date +%s) + to))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < end)) || { log "timeout after ${to} s waiting for $desc"; return 1; }
    sleep 0.2
  done
}

tcp_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---- OVS daemons (they detach and keep their own pid files) ----------------------------
ovs_pid() { local p; p=$(cat "$R/$1.pid" 2>/dev/null) || return 1; [[ $p =~ ^[0-9]+$ ]] && echo "$p"; }
# ovs_is_ours NAME -> 0 if the pid in OVS's pid file is that OVS daemon (not a reused pid)
ovs_is_ours() {
  local p; p=$(ovs_pid "$1") || return 1
  [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$1" ]]
}
# ovs_alive NAME -> running, in our network namespace, answering on its control socket
ovs_alive() {
  ovs_is_ours "$1" && [[ $(netns_of "$(ovs_pid "$1")") == "$(netns_of $$)" ]] \
    && ovs-appctl -t "$R/$1.ctl" version >/dev/null 2>&1
}
# ovs_stop NAME [exit args...]: ask it to exit, then TERM, then KILL. Returns 1 if it survived.
ovs_stop() {
  local name=$1 p i; shift
  ovs_is_ours "$name" || { rm -f "$R/$name.pid"; return 0; }
  p=$(ovs_pid "$name")
  timeout 10 ovs-appctl -t "$R/$name.ctl" exit "$@" >/dev/null 2>&1 || kill "$p" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do [[ -n $(starttime "$p") ]] || break; sleep 0.1; done
  if [[ -n $(starttime "$p") ]]; then kill -KILL "$p" 2>/dev/null || true; sleep 0.3; fi
  if [[ -n $(starttime "$p") ]]; then log "ERROR: $name (pid $p) survived SIGKILL"; return 1; fi
  rm -f "$R/$name.pid"
  log "stopped $name (pid $p)"
}
