#!/bin/bash
# Start a stock Octavia amphora-agent (python3-octavia 11.0.0, Zed) with mTLS on
# 127.0.0.1:$OCTA_AGENT_PORT (9443). It sends real, HMAC-signed UDP heartbeats every
# $OCTA_HEARTBEAT_INTERVAL s to $OCTA_HM_IP:$OCTA_HM_PORT (127.0.0.1:5555) with key
# $OCTA_HEARTBEAT_KEY and amphora id $OCTA_AMPHORA_ID.
#   usage: (inside the lab namespace, normally through up.sh)
# env: OCTA_AGENT_NAME (amphora-agent)  pid/config name; use different names (and
#                         OCTA_AMPHORA_ID) to run several agents
#      OCTA_AGENT_NETNS=name  run the agent inside that netns (see amp-netns-up.sh)
#      OCTA_AGENT_BIND=ip     address the agent binds (default $OCTA_BIND = 127.0.0.1)
#      OCTA_AGENT_RAW=1       run /usr/bin/amphora-agent unmodified (it then logs to
#                             /var/log/amphora-agent.log and prints a "Logging error"
#                             traceback per request for the missing rsyslog socket)
# Certificates: STATE/certs (certs.sh). Client side: server_ca.pem + client.crt/.key.
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
ensure_pkgs python3-octavia haproxy keepalived ipvsadm

: "${OCTA_AGENT_NAME:=amphora-agent}"
: "${OCTA_AGENT_NETNS:=}"
: "${OCTA_AGENT_BIND:=$OCTA_BIND}"
NAME=$OCTA_AGENT_NAME
A=$STATE/$NAME
mkdir -p "$A"/{lib,interfaces}
t0=$(now)
C=$STATE/certs
CURL=(curl -s --cacert "$C/server_ca.pem" --cert "$C/client.crt" --key "$C/client.key"
      --resolve "$OCTA_AMPHORA_ID:$OCTA_AGENT_PORT:$OCTA_AGENT_BIND")
URL=https://$OCTA_AMPHORA_ID:$OCTA_AGENT_PORT
prefix=()
[[ -n $OCTA_AGENT_NETNS ]] && prefix=(ip netns exec "$OCTA_AGENT_NETNS")

if alive "$NAME" && "${prefix[@]}" "${CURL[@]}" -f -o /dev/null "$URL/"; then
  log "$NAME already running (pgid $(cat "$(pidfile "$NAME")"))"; exit 0
fi
# Certificates: the lab's own (certs.sh), unless the caller brings its own
# (OCTA_AGENT_SERVER_PEM + OCTA_AGENT_CLIENT_CA, see stock-agent.sh).
if [[ -z ${OCTA_AGENT_SERVER_PEM:-} ]]; then
  extra_san=()
  [[ $OCTA_AGENT_BIND != 127.0.0.1 ]] && extra_san=("IP:$OCTA_AGENT_BIND")
  "$LAB_SRC/certs.sh" "$STATE" "$OCTA_AMPHORA_ID" "${extra_san[@]}" >&2
fi
SERVER_PEM=${OCTA_AGENT_SERVER_PEM:-$C/amp-$OCTA_AMPHORA_ID/server.pem}
CLIENT_CA=${OCTA_AGENT_CLIENT_CA:-$C/client_ca.pem}

cat > "$A/amphora-agent.conf" <<EOF
[DEFAULT]
debug = true
log_dir = $STATE/log
log_file = $NAME.log
[haproxy_amphora]
base_path = $A/lib
base_cert_dir = $A/lib/certs
bind_host = $OCTA_AGENT_BIND
bind_port = $OCTA_AGENT_PORT
haproxy_cmd = /usr/sbin/haproxy
[amphora_agent]
agent_server_ca = $CLIENT_CA
agent_server_cert = $SERVER_PEM
agent_server_network_dir = $A/interfaces
amphora_id = $OCTA_AMPHORA_ID
[health_manager]
controller_ip_port_list = $OCTA_HM_IP:$OCTA_HM_PORT
heartbeat_interval = $OCTA_HEARTBEAT_INTERVAL
heartbeat_key = $OCTA_HEARTBEAT_KEY
[controller_worker]
loadbalancer_topology = SINGLE
EOF

# GET /1.0/details (pyroute2) creates the named netns "amphora-haproxy" if it is missing;
# remember whether it existed so down.sh only removes one we caused.
[[ -e /run/netns/amphora-haproxy ]] || touch "$STATE/amphora-haproxy-netns-ours"

if [[ ${OCTA_AGENT_RAW:-0} == 1 ]]; then
  cmd=(/usr/bin/amphora-agent --config-file "$A/amphora-agent.conf")
else
  cmd=(env OCTA_AGENT_LOG="$STATE/log/$NAME-gunicorn.log" "$PY" "$LAB_SRC/agent-launch.py"
       --config-file "$A/amphora-agent.conf")
fi
(cd "$A" && start_bg "$NAME" "$STATE/log/$NAME.stdout" "${prefix[@]}" "${cmd[@]}")
if [[ -z ${OCTA_AGENT_SERVER_PEM:-} ]]; then
  wait_for "$NAME mTLS on $OCTA_AGENT_BIND:$OCTA_AGENT_PORT" 60 \
    "${prefix[@]}" "${CURL[@]}" -f -o /dev/null "$URL/" \
    || die "$NAME did not answer, see $STATE/log/$NAME*"
else
  # Foreign certificates: the lab's client cannot authenticate, so wait for gunicorn's
  # worker to boot and the port to listen instead.
  booted() { grep -q "Booting worker" "$STATE/log/$NAME-gunicorn.log" 2>/dev/null && port_busy "$OCTA_AGENT_PORT"; }
  wait_for "$NAME on $OCTA_AGENT_BIND:$OCTA_AGENT_PORT" 60 booted \
    || die "$NAME did not start, see $STATE/log/$NAME*"
fi
timing "$NAME-start" "$(since "$t0")s"
if [[ $NAME == amphora-agent ]]; then write_env; fi
log "$NAME ready: amphora $OCTA_AMPHORA_ID at https://$OCTA_AGENT_BIND:$OCTA_AGENT_PORT${OCTA_AGENT_NETNS:+ (netns $OCTA_AGENT_NETNS)}"
