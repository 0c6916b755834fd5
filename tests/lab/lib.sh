# shellcheck shell=bash
# Common helpers of octa's lab (adapted from the team's verified ../shared/harness).
# Sourced by every lab script. The state directory is $OCTA_LAB_DIR (default
# /var/tmp/octa-lab); every daemon runs inside the network namespace `octa-lab` and binds
# its loopback only.

set -euo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Kept short: the OVS unix socket path inside it must stay under 108 bytes.
STATE=${OCTA_LAB_DIR:-/var/tmp/octa-lab}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
STATE=${STATE%/}
LAB_NETNS=octa-lab
if [[ -z $STATE || $STATE == / || ( -d $STATE && ! -e $STATE/.octa-lab && -n $(ls -A "$STATE" 2>/dev/null) ) ]]; then
  echo "refusing to use '$STATE' as the lab's state dir: it exists, is not empty and has no .octa-lab marker" >&2
  exit 2
fi
mkdir -p "$STATE"/{log,pids}
touch "$STATE/.octa-lab"

# Secrets are random per lab, made once and kept (0600), so a re-run reuses them.
secret() {
  local f=$STATE/secrets/$1
  if [[ ! -s $f ]]; then
    mkdir -p "$STATE/secrets"; chmod 700 "$STATE/secrets"
    (umask 077; head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$f")
  fi
  cat "$f"
}
[[ -s $STATE/amphora-id ]] || cat /proc/sys/kernel/random/uuid > "$STATE/amphora-id"

# ---- tunables (environment) -------------------------------------------------------------
: "${OCTA_BIND:=127.0.0.1}"            # every listener binds here: the lab namespace's loopback
: "${OCTA_KEYSTONE_PORT:=5000}"
: "${OCTA_NEUTRON_PORT:=9696}"
: "${OCTA_OVSDB_TCP_PORT:=6640}"       # ptcp:PORT:OCTA_BIND; set to 0 to disable the TCP remote
: "${OCTA_AGENT_PORT:=9443}"           # amphora-agent mTLS API
: "${OCTA_HM_PORT:=5555}"              # where the agent sends heartbeats (octa's health manager)
: "${OCTA_HM_IP:=127.0.0.1}"
: "${OCTA_ADMIN_PASSWORD:=$(secret admin-password)}"
: "${OCTA_SERVICE_PASSWORD:=$(secret service-password)}"
: "${OCTA_REGION:=RegionOne}"
: "${OCTA_HEARTBEAT_KEY:=$(secret heartbeat-key)}"
: "${OCTA_HEARTBEAT_INTERVAL:=2}"
: "${OCTA_AMPHORA_ID:=$(cat "$STATE/amphora-id")}"
: "${OCTA_OVS_RUNDIR:=$STATE/ovs}"     # db.sock, *.ctl, *.pid, br-int.mgmt live here
: "${OCTA_OVS_NETNS:=}"                # unused by the lab: the whole lab is in $LAB_NETNS
: "${OCTA_VNI_RANGES:=1:1000}"
export OCTA_BIND OCTA_KEYSTONE_PORT OCTA_NEUTRON_PORT OCTA_OVSDB_TCP_PORT OCTA_AGENT_PORT \
  OCTA_HM_PORT OCTA_HM_IP OCTA_ADMIN_PASSWORD OCTA_SERVICE_PASSWORD OCTA_REGION \
  OCTA_HEARTBEAT_KEY OCTA_HEARTBEAT_INTERVAL OCTA_AMPHORA_ID OCTA_OVS_RUNDIR OCTA_OVS_NETNS

KEYSTONE_URL="http://$OCTA_BIND:$OCTA_KEYSTONE_PORT/v3"
NEUTRON_URL="http://$OCTA_BIND:$OCTA_NEUTRON_PORT"
PY=/usr/bin/python3   # Debian's interpreter: the OpenStack packages live in its dist-packages

# Every Debian package the lab needs, installed in one apt run by up.sh.
LAB_PACKAGES=(openvswitch-switch openvswitch-common keystone uwsgi-plugin-python3
  python3-openstackclient sqlite3 neutron-server python3-neutron rabbitmq-server
  neutron-openvswitch-agent python3-octavia haproxy keepalived ipvsadm openssl curl
  iproute2 ethtool)

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# Record a timing line in $STATE/timings.txt (and echo it).
timing() { printf '%s %s\n' "$1" "$2" | tee -a "$STATE/timings.txt" >&2; }

# Install Debian packages if missing. Services are never auto-started: an
# /usr/sbin/policy-rc.d that exits 101 is installed if there is none.
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    log "installed /usr/sbin/policy-rc.d (exit 101) so apt does not start services"
  fi
  log "apt-get install ${missing[*]}"
  local t; t=$(now)
  apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    > "$STATE/log/apt-$(date +%s).log" 2>&1 || die "apt-get install failed, see $STATE/log/apt-*.log"
  timing "apt:${missing[*]// /,}" "$(since "$t")s"
}

pidfile() { echo "$STATE/pids/$1.pid"; }
# alive NAME -> 0 if the recorded pid is running
alive() {
  local f; f=$(pidfile "$1")
  [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_bg NAME LOGFILE CMD... : start CMD in its own session (setsid), record its pid.
# The pid is also the process-group id, so down.sh can stop the whole tree by that id.
start_bg() {
  local name=$1 logf=$2; shift 2
  setsid "$@" >>"$logf" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$name")"
}

# stop_pid NAME [SIGNAL]: signal the recorded process group, wait, then SIGKILL the group.
stop_pid() {
  local name=$1 sig=${2:-TERM} f pid i
  f=$(pidfile "$name"); [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # leftover group members (workers, multiprocessing children)
    kill -0 -- "-$pid" 2>/dev/null && { sleep 0.5; kill -KILL -- "-$pid" 2>/dev/null || true; }
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name (pgid $pid)"
  fi
  rm -f "$f"
}

# wait_for DESC TIMEOUT_S CMD... : poll CMD every 0.2 s
wait_for() {
  local desc=$1 to=$2; shift 2
  local end; end=$(( $(date +%s) + to ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < end )) || { log "timeout waiting for $desc"; return 1; }
    sleep 0.2
  done
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q . || ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

# Fails unless this process runs inside the lab's network namespace: every listener of
# the lab binds that namespace's loopback, never the host's.
need_lab_netns() {
  [[ $(ip netns identify $$ 2>/dev/null) == "$LAB_NETNS" ]] \
    || die "run this inside the lab's namespace (tests/lab/up.sh and tests/lab/run.sh do)"
}

# Write/refresh $STATE/env (everything a test needs) and $STATE/clouds.yaml (cloud "lab"),
# both 0600: they hold the lab's passwords.
write_env() {
  (umask 077
  {
    echo "# generated by tests/lab; source me (tests/lab/run.sh does)"
    echo "export OCTA_LAB_DIR=$STATE"
    echo "export OCTA_LAB_NETNS=$LAB_NETNS"
    echo "export OS_AUTH_URL=$KEYSTONE_URL"
    echo "export OS_IDENTITY_API_VERSION=3"
    echo "export OS_USERNAME=admin"
    echo "export OS_PASSWORD=$OCTA_ADMIN_PASSWORD"
    echo "export OS_PROJECT_NAME=admin"
    echo "export OS_USER_DOMAIN_NAME=Default"
    echo "export OS_PROJECT_DOMAIN_NAME=Default"
    echo "export OS_REGION_NAME=$OCTA_REGION"
    echo "export OS_INTERFACE=public"
    echo "export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml"
    echo "export OCTA_KEYSTONE_URL=$KEYSTONE_URL"
    echo "export OCTA_NEUTRON_URL=$NEUTRON_URL"
    echo "export OCTA_OVSDB_UNIX=unix:$OCTA_OVS_RUNDIR/db.sock"
    if ((OCTA_OVSDB_TCP_PORT)); then echo "export OCTA_OVSDB_TCP=tcp:$OCTA_BIND:$OCTA_OVSDB_TCP_PORT"; fi
    echo "export OCTA_AGENT_URL=https://$OCTA_BIND:$OCTA_AGENT_PORT"
    echo "export OCTA_AMPHORA_ID=$OCTA_AMPHORA_ID"
    echo "export OCTA_AGENT_CERTS=$STATE/certs"
    echo "export OCTA_HM_ADDR=$OCTA_HM_IP:$OCTA_HM_PORT"
    echo "export OCTA_HEARTBEAT_KEY=$OCTA_HEARTBEAT_KEY"
    echo "export OCTA_SERVICE_PASSWORD=$OCTA_SERVICE_PASSWORD"
  } > "$STATE/env.tmp"
  {
    echo "# generated by tests/lab"
    echo "clouds:"
    echo "  lab:"
    echo "    auth:"
    echo "      auth_url: $KEYSTONE_URL"
    echo "      username: admin"
    echo "      password: $OCTA_ADMIN_PASSWORD"
    echo "      project_name: admin"
    echo "      user_domain_name: Default"
    echo "      project_domain_name: Default"
    echo "    region_name: $OCTA_REGION"
    echo "    interface: public"
    echo "    identity_api_version: 3"
  } > "$STATE/clouds.yaml.tmp")
  mv "$STATE/env.tmp" "$STATE/env"
  mv "$STATE/clouds.yaml.tmp" "$STATE/clouds.yaml"
}
