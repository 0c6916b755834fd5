#!/bin/bash
# Start RabbitMQ (Debian 3.10.8) on 127.0.0.1 only, for oslo.messaging between
# neutron-server and neutron-openvswitch-agent. epmd is started explicitly (bound to
# 127.0.0.1, tracked by pid) so it does not outlive the harness as a stray daemon.
#   usage: (inside the lab namespace, normally through up.sh)
# env: OCTA_RABBIT_PORT (5672), OCTA_RABBIT_DIST_PORT (25672), OCTA_EPMD_PORT (4369)
# Writes STATE/rabbitmq/transport_url (rabbit://guest:guest@127.0.0.1:5672/).
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
ensure_pkgs rabbitmq-server

: "${OCTA_RABBIT_PORT:=5672}"
: "${OCTA_RABBIT_DIST_PORT:=25672}"
: "${OCTA_EPMD_PORT:=4369}"
RQ=$STATE/rabbitmq
mkdir -p "$RQ"/{home,mnesia} "$STATE/log/rabbitmq"
[[ -s $RQ/home/.erlang.cookie ]] || { head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 > "$RQ/home/.erlang.cookie"; chmod 400 "$RQ/home/.erlang.cookie"; }
cat > "$RQ/rabbitmq.conf" <<EOF
listeners.tcp.1 = $OCTA_BIND:$OCTA_RABBIT_PORT
loopback_users = none
EOF
echo '[].' > "$RQ/enabled_plugins"
cat > "$RQ/env.sh" <<EOF
export HOME=$RQ/home
export RABBITMQ_NODENAME=octa@localhost
export RABBITMQ_NODE_IP_ADDRESS=$OCTA_BIND
export RABBITMQ_NODE_PORT=$OCTA_RABBIT_PORT
export RABBITMQ_DIST_PORT=$OCTA_RABBIT_DIST_PORT
export ERL_EPMD_ADDRESS=$OCTA_BIND
export ERL_EPMD_PORT=$OCTA_EPMD_PORT
export RABBITMQ_MNESIA_BASE=$RQ/mnesia
export RABBITMQ_LOG_BASE=$STATE/log/rabbitmq
export RABBITMQ_CONFIG_FILE=$RQ/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$RQ/enabled_plugins
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {${OCTA_BIND//./,}}"
export RABBITMQ_CTL_DIST_PORT_MIN=$((OCTA_RABBIT_DIST_PORT + 1))
export RABBITMQ_CTL_DIST_PORT_MAX=$((OCTA_RABBIT_DIST_PORT + 11))
EOF
# shellcheck disable=SC1091
source "$RQ/env.sh"
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl
t0=$(now)
if alive rabbitmq && "$CTL" -q status >/dev/null 2>&1; then
  log "rabbitmq already running (pgid $(cat "$(pidfile rabbitmq)"))"
else
  port_busy "$OCTA_RABBIT_PORT" && die "port $OCTA_RABBIT_PORT is already in use"
  if ! alive epmd; then
    port_busy "$OCTA_EPMD_PORT" && die "port $OCTA_EPMD_PORT (epmd) already in use by someone else"
    start_bg epmd "$STATE/log/epmd.log" epmd -address "$OCTA_BIND" -port "$OCTA_EPMD_PORT"
  fi
  (cd "$RQ" && start_bg rabbitmq "$STATE/log/rabbitmq.stdout" /usr/lib/rabbitmq/bin/rabbitmq-server)
  wait_for "rabbitmq" 90 "$CTL" -q status || die "rabbitmq did not start, see $STATE/log/rabbitmq*"
  timing rabbitmq-start "$(since "$t0")s"
fi
echo "rabbit://guest:guest@$OCTA_BIND:$OCTA_RABBIT_PORT/" > "$RQ/transport_url"
log "rabbitmq ready: $(cat "$RQ/transport_url")"
