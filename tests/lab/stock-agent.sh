#!/bin/bash
# An additional stock Octavia amphora agent (python3-octavia) inside the lab, with the
# certificates the caller brings (e.g. made by `octa pki`), for compatibility tests.
#   usage: tests/lab/stock-agent.sh up --name NAME [--port PORT] [--server-pem FILE]
#                                      [--client-ca FILE] [--hm-addr IP:PORT]
#          tests/lab/stock-agent.sh down --name NAME
# up: (re)starts agent NAME on 127.0.0.1:PORT (a free port if none is given) inside the
#     namespace octa-lab, waits until it accepts TLS and presents the certificate of
#     --server-pem, records its pid, and prints the port on stdout.
#     --server-pem  certificate then key in one file (the agent has no key option);
#                   default: the lab agent's own server.pem
#     --client-ca   the CA client certificates must chain to; default: the lab's client CA
#     --hm-addr     where it sends heartbeats; default: nowhere, so that it does not mix
#                   into the lab agent's heartbeats on 127.0.0.1:5555
#     The agent's amphora id is the CN of the server certificate.
# down: stops it (a no-op if it is not running).
# Works from the host and from inside octa-lab. Logs: $OCTA_LAB_DIR/log/agent-NAME*.
set -euo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '4,6p' "$0" | sed 's/^# *//' >&2; exit 2; }
action=${1:-}; shift || true
name="" port="" server_pem="" client_ca="" hm_addr=""
while (($#)); do
  (($# >= 2)) || usage
  case $1 in
    --name) name=$2 ;;
    --port) port=$2 ;;
    --server-pem) server_pem=$(realpath -e "$2") || { echo "stock-agent.sh: no such file: $2" >&2; exit 2; } ;;
    --client-ca) client_ca=$(realpath -e "$2") || { echo "stock-agent.sh: no such file: $2" >&2; exit 2; } ;;
    --hm-addr) hm_addr=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[[ $action == up || $action == down ]] || usage
[[ $name =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || { echo "stock-agent.sh: --name must match [a-z0-9][a-z0-9-]*" >&2; exit 2; }
[[ -z $port || $port =~ ^[0-9]+$ ]] || { echo "stock-agent.sh: --port must be a number" >&2; exit 2; }

if [[ $(ip netns identify $$ 2>/dev/null) != octa-lab ]]; then
  [[ -e /run/netns/octa-lab ]] || { echo "stock-agent.sh: the lab is not up (no netns octa-lab): run tests/lab/up.sh" >&2; exit 2; }
  args=("$action" --name "$name")
  [[ -n $port ]] && args+=(--port "$port")
  [[ -n $server_pem ]] && args+=(--server-pem "$server_pem")
  [[ -n $client_ca ]] && args+=(--client-ca "$client_ca")
  [[ -n $hm_addr ]] && args+=(--hm-addr "$hm_addr")
  exec ip netns exec octa-lab "$LAB/stock-agent.sh" "${args[@]}"
fi

source "$LAB/lib.sh"
# shellcheck source=services.sh
source "$LAB/services.sh"
need_root
[[ -e $MARKER ]] || die "$STATE is not a lab state dir: run tests/lab/up.sh first"
state_init
PN=agent-$name     # pid file / log name; the prefix keeps it apart from the lab's services

if [[ $action == down ]]; then
  stop_pid "$PN"
  exit 0
fi

server_pem=${server_pem:-$STATE/certs/amp-$AMPHORA_ID/server.pem}
client_ca=${client_ca:-$STATE/certs/client_ca.pem}
[[ -s $server_pem && -s $client_ca ]] || die "missing $server_pem or $client_ca"
fingerprint() { openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
want=$(fingerprint < "$server_pem")
[[ -n $want ]] || die "no certificate in $server_pem"
amp_id=$(openssl x509 -noout -subject -nameopt RFC2253 < "$server_pem" | sed -n 's/^subject=.*CN=\([^,]*\).*/\1/p')
[[ -n $amp_id ]] || amp_id=$(cat /proc/sys/kernel/random/uuid)

stop_pid "$PN"
if [[ -z $port ]]; then
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
tcp_listening "$port" && die "port $port is already in use in $LAB_NETNS"
: > "$STATE/log/$PN-gunicorn.log"
t=$(now)
agent_start "$PN" "$STATE/agents/$name" "$port" "$server_pem" "$client_ca" "$amp_id" "$hm_addr"

# Accepting TLS: the agent answers a TLS 1.2 handshake with the certificate it was given.
# (The handshake then fails for want of a client certificate; the lab has none from
# the caller's client CA.)
presents() {
  local out
  out=$(openssl s_client -connect "$BIND:$port" -tls1_2 </dev/null 2>/dev/null || true)
  [[ $(fingerprint <<<"$out") == "$want" ]]
}
end=$(($(date +%s) + 60))
until presents; do
  if ! alive "$PN" || (($(date +%s) >= end)); then
    log "ERROR: stock agent $name did not come up on $BIND:$port; last lines of its logs:"
    for f in "$STATE/log/$PN.stdout" "$STATE/log/$PN.log" "$STATE/log/$PN-gunicorn.log"; do
      [[ -s $f ]] && { printf -- '----- %s\n' "$f" >&2; tail -n 25 "$f" >&2; }
    done
    stop_pid "$PN" || true
    exit 1
  fi
  sleep 0.2
done
timing "$PN-start" "$(since "$t")"
log "stock agent $name: amphora $amp_id on https://$BIND:$port (pid $(cut -d' ' -f1 "$(pidfile "$PN")"), up in $(since "$t") s)"
echo "$port"
