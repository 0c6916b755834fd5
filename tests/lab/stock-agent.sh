#!/bin/bash
# Start or stop an additional stock Octavia amphora agent inside the lab, with
# certificates the caller brings (e.g. made by `octa pki`), for compatibility tests.
#   usage: tests/lab/stock-agent.sh up --name NAME --port PORT --server-pem FILE --client-ca FILE
#          tests/lab/stock-agent.sh down --name NAME
# The server PEM holds the certificate and its key; the client CA is what the agent
# requires client certificates to be signed by. Waits until the agent listens.
set -euo pipefail
action=${1:-}; shift || true
name="" port="" server_pem="" client_ca=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --name) name=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --server-pem) server_pem=$(realpath "$2"); shift 2 ;;
    --client-ca) client_ca=$(realpath "$2"); shift 2 ;;
    *) echo "stock-agent.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $name =~ ^[a-z0-9-]+$ && $name != amphora-agent ]] || { echo "stock-agent.sh: --name must be [a-z0-9-]+ and not the lab's own agent" >&2; exit 2; }
LAB=$(cd "$(dirname "$0")" && pwd)
STATE=${OCTA_LAB_DIR:-/var/tmp/octa-lab}

# Re-enter through run.sh when called from outside the namespace.
if [[ $(ip netns identify $$ 2>/dev/null) != octa-lab ]]; then
  exec "$LAB/run.sh" "$0" "$action" --name "$name" ${port:+--port "$port"} \
    ${server_pem:+--server-pem "$server_pem"} ${client_ca:+--client-ca "$client_ca"}
fi
# shellcheck source=lib.sh
source "$LAB/lib.sh"
need_root
case $action in
  up)
    [[ -n $port && -f $server_pem && -f $client_ca ]] \
      || die "up needs --port, and existing --server-pem and --client-ca files"
    stop_pid "$name"
    : > "$STATE/log/$name-gunicorn.log"
    OCTA_AGENT_NAME=$name OCTA_AGENT_PORT=$port OCTA_AGENT_SERVER_PEM=$server_pem \
      OCTA_AGENT_CLIENT_CA=$client_ca "$LAB/amphora-agent.sh"
    ;;
  down) stop_pid "$name" ;;
  *) echo "usage: $0 up|down --name NAME [--port PORT --server-pem FILE --client-ca FILE]" >&2; exit 2 ;;
esac
