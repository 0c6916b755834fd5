# shellcheck shell=bash
# shellcheck disable=SC2153,SC2129  # settings come from lib.sh; one redirect per step reads best
# The lab's services, one function each, sourced by up.sh (and stock-agent.sh for the
# amphora agent). Each svc_* function is idempotent: it leaves a healthy service alone
# (recorded process alive in this namespace and its endpoint answering) and otherwise
# stops whatever is left of it and starts it again. They run inside the namespace
# octa-lab, in a subshell with errexit (see step in up.sh), after state_init.

# ---- Open vSwitch: ovsdb-server + userspace ovs-vswitchd, br-int (netdev datapath) -------
svc_ovs() {
  export OVS_RUNDIR=$R OVS_LOGDIR=$STATE/log OVS_DBDIR=$R OVS_PKGDATADIR=/usr/share/openvswitch
  mkdir -p "$R"
  local VS=(ovs-vsctl --db="unix:$R/db.sock" --timeout=20) t
  if ovs_alive ovsdb-server; then
    log "ovsdb-server: running (pid $(ovs_pid ovsdb-server))"
  else
    ovs_stop ovsdb-server     # what is left of an earlier one (dead, hung, other namespace)
    t=$(now)
    [[ -s $R/conf.db ]] || ovsdb-tool create "$R/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server "$R/conf.db" --remote="punix:$R/db.sock" \
      --remote=db:Open_vSwitch,Open_vSwitch,manager_options --remote="ptcp:$OVSDB_TCP_PORT:$BIND" \
      --pidfile="$R/ovsdb-server.pid" --unixctl="$R/ovsdb-server.ctl" \
      --log-file="$STATE/log/ovsdb-server.log" --detach --no-chdir 2>>"$STATE/log/ovsdb-server.log"
    wait_for "ovsdb-server socket" 10 test -S "$R/db.sock"
    "${VS[@]}" --no-wait init
    "${VS[@]}" --no-wait set Open_vSwitch . external_ids:hostname="$(hostname)" \
      external_ids:system-id=octa-lab
    timing ovsdb-server-start "$(since "$t")"
    log "ovsdb-server: started (unix:$R/db.sock, tcp:$BIND:$OVSDB_TCP_PORT)"
  fi
  if ovs_alive ovs-vswitchd; then
    log "ovs-vswitchd: running (pid $(ovs_pid ovs-vswitchd))"
  else
    ovs_stop ovs-vswitchd
    t=$(now)
    # No kernel module needed: with datapath_type=netdev, internal ports are taps.
    ovs-vswitchd "unix:$R/db.sock" --pidfile="$R/ovs-vswitchd.pid" --unixctl="$R/ovs-vswitchd.ctl" \
      --log-file="$STATE/log/ovs-vswitchd.log" --detach --no-chdir 2>>"$STATE/log/ovs-vswitchd.log"
    timing ovs-vswitchd-start "$(since "$t")"
    log "ovs-vswitchd: started"
  fi
  "${VS[@]}" --no-wait --may-exist add-br br-int -- set bridge br-int datapath_type=netdev
  if ! alive neutron-ovs-agent; then
    # The OVS agent leaves br-int in fail_mode=secure with its controller; without the
    # agent that drops all traffic. It sets both again when it starts.
    "${VS[@]}" --no-wait del-controller br-int -- del-fail-mode br-int
  fi
  "${VS[@]}" wait-until interface br-int ofport=65534
}

# ---- RabbitMQ (+ epmd), 127.0.0.1 only, for neutron-server <-> OVS agent RPC -------------
rabbit_env() {
  local RQ=$STATE/rabbitmq
  mkdir -p "$RQ"/{home,mnesia} "$STATE/log/rabbitmq"
  if [[ ! -s $RQ/home/.erlang.cookie ]]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 24 > "$RQ/home/.erlang.cookie")
    chmod 400 "$RQ/home/.erlang.cookie"
  fi
  export HOME=$RQ/home RABBITMQ_NODENAME=octa@localhost RABBITMQ_NODE_IP_ADDRESS=$BIND \
    RABBITMQ_NODE_PORT=$RABBIT_PORT RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT \
    ERL_EPMD_ADDRESS=$BIND ERL_EPMD_PORT=$EPMD_PORT RABBITMQ_MNESIA_BASE=$RQ/mnesia \
    RABBITMQ_LOG_BASE=$STATE/log/rabbitmq RABBITMQ_CONFIG_FILE=$RQ/rabbitmq \
    RABBITMQ_ENABLED_PLUGINS_FILE=$RQ/enabled_plugins \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {${BIND//./,}}" \
    RABBITMQ_CTL_DIST_PORT_MIN=$((RABBIT_DIST_PORT + 1)) RABBITMQ_CTL_DIST_PORT_MAX=$((RABBIT_DIST_PORT + 11))
}
svc_rabbitmq() {
  local RQ=$STATE/rabbitmq t
  rabbit_env
  if alive rabbitmq && tcp_listening "$RABBIT_PORT"; then
    log "rabbitmq: running (pgid $(cut -d' ' -f1 "$(pidfile rabbitmq)"))"; return 0
  fi
  stop_pid rabbitmq
  t=$(now)
  printf 'listeners.tcp.1 = %s:%s\nloopback_users = none\n' "$BIND" "$RABBIT_PORT" > "$RQ/rabbitmq.conf"
  echo '[].' > "$RQ/enabled_plugins"
  tcp_listening "$RABBIT_PORT" && die "port $RABBIT_PORT is in use by a process the lab did not start"
  if ! alive epmd; then
    stop_pid epmd
    tcp_listening "$EPMD_PORT" && die "port $EPMD_PORT (epmd) is in use by a process the lab did not start"
    # started by us (not auto-spawned by erl) so that it can be stopped by pid
    start_bg epmd "$STATE/log/epmd.log" epmd -address "$BIND" -port "$EPMD_PORT"
  fi
  (cd "$RQ" && start_bg rabbitmq "$STATE/log/rabbitmq.stdout" /usr/lib/rabbitmq/bin/rabbitmq-server)
  wait_for "rabbitmq" 90 /usr/lib/rabbitmq/bin/rabbitmqctl -q status
  wait_for "rabbitmq on $BIND:$RABBIT_PORT" 30 tcp_listening "$RABBIT_PORT"
  timing rabbitmq-start "$(since "$t")"
  log "rabbitmq: started (rabbit://guest:guest@$BIND:$RABBIT_PORT/)"
}

# ---- Keystone: uWSGI, SQLite, fernet -----------------------------------------------------
token_json() {
  printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' "$ADMIN_PASSWORD"
}
admin_token() {
  curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' "$KEYSTONE_URL/auth/tokens" \
    -d "$(token_json)" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r'
}
svc_keystone() {
  local K=$STATE/keystone t code
  if alive keystone && curl -sf -o /dev/null "$KEYSTONE_URL"; then
    log "keystone: running at $KEYSTONE_URL"; return 0
  fi
  stop_pid keystone INT    # uwsgi master: SIGINT = immediate shutdown of master + workers
  tcp_listening "$KEYSTONE_PORT" && die "port $KEYSTONE_PORT is in use by a process the lab did not start"
  mkdir -p "$K"/{fernet-keys,credential-keys,policy.d}
  # SQLite under uWSGI: WAL + check_same_thread=false + 1 thread per worker (harness workaround 3)
  cat > "$K/keystone.conf" <<EOF
[DEFAULT]
log_dir = $STATE/log
log_file = keystone.log
[database]
connection = sqlite:///$K/keystone.sqlite?check_same_thread=false&timeout=30
[token]
provider = fernet
[fernet_tokens]
key_repository = $K/fernet-keys
[fernet_receipts]
key_repository = $K/fernet-keys
[credential]
key_repository = $K/credential-keys
[oslo_policy]
policy_dirs = $K/policy.d
EOF
  local KM=(keystone-manage --config-file "$K/keystone.conf")
  if [[ ! -s $K/bootstrapped ]]; then
    t=$(now)
    # keystone-manage prints a harmless eventlet traceback at exit; output goes to the log
    "${KM[@]}" db_sync >>"$STATE/log/keystone-manage.log" 2>&1
    sqlite3 "$K/keystone.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null
    "${KM[@]}" fernet_setup --keystone-user root --keystone-group root >>"$STATE/log/keystone-manage.log" 2>&1
    "${KM[@]}" credential_setup --keystone-user root --keystone-group root >>"$STATE/log/keystone-manage.log" 2>&1
    "${KM[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
      --bootstrap-admin-url "$KEYSTONE_URL/" --bootstrap-internal-url "$KEYSTONE_URL/" \
      --bootstrap-public-url "$KEYSTONE_URL/" --bootstrap-region-id "$REGION" \
      >>"$STATE/log/keystone-manage.log" 2>&1
    "${KM[@]}" db_version 2>/dev/null | head -1 > "$K/bootstrapped"
    [[ -s $K/bootstrapped ]] || die "keystone bootstrap failed"
    timing keystone-bootstrap "$(since "$t")"
  fi
  cat > "$K/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = $BIND:$KEYSTONE_PORT
master = true
processes = 2
threads = 1
enable-threads = true
lazy-apps = true
die-on-term = true
need-app = true
buffer-size = 65535
; uwsgi's http-socket does no keep-alive: tell clients so they do not reuse sockets
add-header = Connection: close
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$K/keystone.conf
chdir = $K
EOF
  t=$(now)
  start_bg keystone "$STATE/log/keystone-uwsgi.log" uwsgi --ini "$K/uwsgi.ini"
  wait_for "keystone at $KEYSTONE_URL" 90 curl -sf -o /dev/null "$KEYSTONE_URL"
  # the first token also loads the second worker's app (lazy-apps)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "$KEYSTONE_URL/auth/tokens" -d "$(token_json)")
  [[ $code == 201 ]] || die "keystone: token request returned $code"
  timing keystone-start "$(since "$t")"
  log "keystone: started at $KEYSTONE_URL"
}

# ---- Neutron server: ML2 flat+vxlan, openvswitch, port_security, SQLite, rabbit ----------
svc_neutron() {
  local N=$STATE/neutron t
  if alive neutron && curl -sf -o /dev/null "$NEUTRON_URL/"; then
    log "neutron-server: running at $NEUTRON_URL"; return 0
  fi
  stop_pid neutron
  tcp_listening "$NEUTRON_PORT" && die "port $NEUTRON_PORT is in use by a process the lab did not start"
  mkdir -p "$N"/{lock,state,policy.d}
  cat > "$N/neutron.conf" <<EOF
[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = keystone
bind_host = $BIND
bind_port = $NEUTRON_PORT
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = rabbit://guest:guest@$BIND:$RABBIT_PORT/
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
state_path = $N/state
log_dir = $STATE/log
log_file = neutron-server.log
[database]
# Neutron's API and RPC processes share this file: wait up to 30 s for its lock (pysqlite's
# default is 5 s), or parallel tests see "database is locked" as HTTP 500.
connection = sqlite:///$N/neutron.sqlite?check_same_thread=false&timeout=30
[keystone_authtoken]
www_authenticate_uri = http://$BIND:$KEYSTONE_PORT
auth_url = http://$BIND:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $SERVICE_PASSWORD
region_name = $REGION
[oslo_concurrency]
lock_path = $N/lock
[oslo_messaging_notifications]
driver = noop
[oslo_policy]
; must not be empty: an empty value makes oslo.policy parse every file in the config dir
policy_dirs = $N/policy.d
[agent]
root_helper =
EOF
  cat > "$N/ml2_conf.ini" <<EOF
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = $VNI_RANGES
[securitygroup]
enable_security_group = true
EOF
  if [[ ! -s $N/schema-ready ]]; then
    # `neutron-db-manage upgrade heads` fails on SQLite (no ALTER of constraints): build
    # the schema from the models, as Neutron's unit tests do, then stamp the heads.
    t=$(now)
    rm -f "$N/neutron.sqlite"*
    "$PY" - "$N/neutron.sqlite" >>"$STATE/log/neutron-db.log" 2>&1 <<'PYEOF'
import sys
import sqlalchemy as sa
from neutron.db.migration.models import head
eng = sa.create_engine("sqlite:///" + sys.argv[1])
with eng.begin() as c:
    c.exec_driver_sql("PRAGMA journal_mode=WAL")
head.get_metadata().create_all(eng)
print("tables:", len(sa.inspect(eng).get_table_names()))
PYEOF
    neutron-db-manage --config-file "$N/neutron.conf" --config-file "$N/ml2_conf.ini" \
      stamp heads >>"$STATE/log/neutron-db.log" 2>&1
    sqlite3 "$N/neutron.sqlite" 'select version_num from alembic_version' > "$N/schema-ready"
    [[ -s $N/schema-ready ]] || die "neutron schema: no alembic version after stamp"
    timing neutron-schema "$(since "$t")"
  fi
  "$PY" "$LAB_SRC/ks-register.py" neutron network "$NEUTRON_URL" neutron "$SERVICE_PASSWORD" \
    >>"$STATE/log/ks-register.log" 2>&1
  t=$(now)
  (cd "$N" && start_bg neutron "$STATE/log/neutron-server.stdout" \
    neutron-server --config-file "$N/neutron.conf" --config-file "$N/ml2_conf.ini")
  wait_for "neutron at $NEUTRON_URL" 120 curl -sf -o /dev/null "$NEUTRON_URL/"
  timing neutron-start "$(since "$t")"
  log "neutron-server: started at $NEUTRON_URL"
}

# ---- neutron-openvswitch-agent: binds ports for real on the userspace OVS ---------------
ovs_agent_reported_alive() {
  local tok
  tok=$(admin_token)
  [[ -n $tok ]] || return 1
  curl -s -H "X-Auth-Token: $tok" \
    "$NEUTRON_URL/v2.0/agents?agent_type=Open+vSwitch+agent&host=$(hostname)" \
    | "$PY" -c 'import json,sys; a=json.load(sys.stdin)["agents"]; sys.exit(0 if a and a[0]["alive"] else 1)'
}
svc_ovs_agent() {
  local N=$STATE/neutron t
  if alive neutron-ovs-agent; then
    log "neutron-openvswitch-agent: running (pgid $(cut -d' ' -f1 "$(pidfile neutron-ovs-agent)"))"; return 0
  fi
  stop_pid neutron-ovs-agent
  cat > "$N/openvswitch_agent.ini" <<EOF
[ovs]
integration_bridge = br-int
tunnel_bridge = br-tun
; VXLAN endpoint address; with a single host no tunnel port is ever created
local_ip = 127.0.0.1
datapath_type = netdev
ovsdb_connection = unix:$R/db.sock
of_listen_address = $BIND
of_listen_port = $OF_PORT
[agent]
tunnel_types = vxlan
l2_population = false
[securitygroup]
; the openvswitch firewall would need conntrack in the userspace datapath; not tried
firewall_driver = noop
enable_security_group = true
EOF
  t=$(now)
  (cd "$N" && start_bg neutron-ovs-agent "$STATE/log/neutron-ovs-agent.stdout" \
    neutron-openvswitch-agent --config-file "$N/neutron.conf" --config-file "$N/openvswitch_agent.ini" \
    --log-file "$STATE/log/neutron-ovs-agent.log")
  sleep 2
  wait_for "neutron-openvswitch-agent to report alive" 120 ovs_agent_reported_alive
  alive neutron-ovs-agent || die "neutron-openvswitch-agent exited"
  timing neutron-ovs-agent-start "$(since "$t")"
  log "neutron-openvswitch-agent: alive on host $(hostname) (br-int is now fail_mode=secure)"
}

# ---- stock Octavia amphora agent ----------------------------------------------------------
# agent_start NAME DIR PORT SERVER_PEM CLIENT_CA AMPHORA_ID HM_LIST
# Writes DIR/amphora-agent.conf and starts python3-octavia's agent (through
# agent-launch.py, which only moves gunicorn's log targets) under pid name NAME, logging
# to log/NAME.log, log/NAME.stdout and log/NAME-gunicorn.log. Does not wait.
agent_start() {
  local name=$1 dir=$2 port=$3 server_pem=$4 client_ca=$5 amp_id=$6 hm_list=$7
  mkdir -p "$dir"/{lib,interfaces}
  cat > "$dir/amphora-agent.conf" <<EOF
[DEFAULT]
debug = true
log_dir = $STATE/log
log_file = $name.log
[haproxy_amphora]
base_path = $dir/lib
base_cert_dir = $dir/lib/certs
bind_host = $BIND
bind_port = $port
haproxy_cmd = /usr/sbin/haproxy
[amphora_agent]
agent_server_ca = $client_ca
agent_server_cert = $server_pem
agent_server_network_dir = $dir/interfaces
amphora_id = $amp_id
[health_manager]
controller_ip_port_list = $hm_list
heartbeat_interval = $HEARTBEAT_INTERVAL
heartbeat_key = $HEARTBEAT_KEY
[controller_worker]
loadbalancer_topology = SINGLE
EOF
  # GET /1.0/details (pyroute2) creates the named netns amphora-haproxy if it is missing:
  # remember that it was not there, so that down.sh removes only one the lab caused.
  [[ -e /run/netns/amphora-haproxy ]] || touch "$STATE/amphora-haproxy-ours"
  (cd "$dir" && start_bg "$name" "$STATE/log/$name.stdout" \
    env OCTA_AGENT_LOG="$STATE/log/$name-gunicorn.log" "$PY" "$LAB_SRC/agent-launch.py" \
    --config-file "$dir/amphora-agent.conf")
}

lab_agent_curl() {
  local C=$STATE/certs
  curl -s --cacert "$C/server_ca.pem" --cert "$C/client.crt" --key "$C/client.key" \
    --resolve "$AMPHORA_ID:$AGENT_PORT:$BIND" "$@"
}
svc_amphora_agent() {
  local t C=$STATE/certs URL=https://$AMPHORA_ID:$AGENT_PORT
  if alive amphora-agent && lab_agent_curl -f -o /dev/null "$URL/"; then
    log "amphora-agent: running (amphora $AMPHORA_ID at https://$BIND:$AGENT_PORT)"; return 0
  fi
  stop_pid amphora-agent
  tcp_listening "$AGENT_PORT" && die "port $AGENT_PORT is in use by a process the lab did not start"
  t=$(now)
  "$LAB_SRC/certs.sh" "$STATE" "$AMPHORA_ID" >>"$STATE/log/certs.log" 2>&1
  agent_start amphora-agent "$STATE/amphora-agent" "$AGENT_PORT" "$C/amp-$AMPHORA_ID/server.pem" \
    "$C/client_ca.pem" "$AMPHORA_ID" "$HM_ADDR"
  wait_for "amphora-agent mTLS on $BIND:$AGENT_PORT" 90 lab_agent_curl -f -o /dev/null "$URL/"
  timing amphora-agent-start "$(since "$t")"
  log "amphora-agent: started (amphora $AMPHORA_ID at https://$BIND:$AGENT_PORT, heartbeats to $HM_ADDR)"
}

# ---- env file and clouds.yaml (0600: they hold the lab's passwords) ----------------------
write_env() {
  (umask 077
  cat > "$STATE/env.tmp" <<EOF
# generated by tests/lab/up.sh; source it (tests/lab/run.sh does)
export OCTA_LAB_DIR=$STATE
export OCTA_LAB_NETNS=$LAB_NETNS
export OS_AUTH_URL=$KEYSTONE_URL
export OS_USERNAME=admin
export OS_PASSWORD=$ADMIN_PASSWORD
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=$REGION
export OS_IDENTITY_API_VERSION=3
export OS_INTERFACE=public
export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml
export OCTA_KEYSTONE_URL=$KEYSTONE_URL
export OCTA_NEUTRON_URL=$NEUTRON_URL
export OCTA_OVSDB_UNIX=unix:$R/db.sock
export OCTA_OVSDB_TCP=tcp:$BIND:$OVSDB_TCP_PORT
export OCTA_AGENT_URL=https://$BIND:$AGENT_PORT
export OCTA_AMPHORA_ID=$AMPHORA_ID
export OCTA_AGENT_CERTS=$STATE/certs
export OCTA_HM_ADDR=$HM_ADDR
# octa install writes its boot unit here, never into the host's /etc/systemd/system.
export OCTA_UNIT_DIR=$STATE/octa/units
export OCTA_HEARTBEAT_KEY=$HEARTBEAT_KEY
export OCTA_SERVICE_PASSWORD=$SERVICE_PASSWORD
EOF
  cat > "$STATE/clouds.yaml.tmp" <<EOF
# generated by tests/lab/up.sh
clouds:
  lab:
    auth_type: password
    auth:
      auth_url: $KEYSTONE_URL
      username: admin
      password: $ADMIN_PASSWORD
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
  )
  mv -f "$STATE/clouds.yaml.tmp" "$STATE/clouds.yaml"
  mv -f "$STATE/env.tmp" "$STATE/env"
}
