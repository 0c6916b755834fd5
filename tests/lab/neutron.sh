#!/bin/bash
# Start a real Neutron server (Zed, eventlet neutron-server) with ML2
# (type drivers flat+vxlan, tenant type vxlan, mechanism driver openvswitch, port_security),
# SQLite, Keystone auth, oslo.messaging fake:// transport, on 127.0.0.1:$OCTA_NEUTRON_PORT.
# Starts Keystone first (keystone-up.sh) and registers the "network" service + endpoints.
#   usage: (inside the lab namespace, normally through up.sh)
# env: OCTA_NEUTRON_MECH (openvswitch) mechanism_drivers value
#      OCTA_NEUTRON_TRANSPORT  transport_url; default: STATE/rabbitmq/transport_url if
#                              rabbitmq-up.sh is running, else fake:// (in-process only)
# Idempotent: reuses STATE/neutron; a running server is left alone.
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
"$LAB_SRC/keystone.sh" "$STATE"
ensure_pkgs neutron-server python3-neutron sqlite3

: "${OCTA_NEUTRON_MECH:=openvswitch}"
if [[ -z ${OCTA_NEUTRON_TRANSPORT:-} ]]; then
  # rabbit if rabbitmq-up.sh has been run (needed by neutron-ovs-agent-up.sh), else in-process fake
  if [[ -s $STATE/rabbitmq/transport_url ]] && alive rabbitmq; then
    OCTA_NEUTRON_TRANSPORT=$(cat "$STATE/rabbitmq/transport_url")
  else
    OCTA_NEUTRON_TRANSPORT=fake://
  fi
fi
N=$STATE/neutron
mkdir -p "$N"/{lock,state,policy.d}
t0=$(now)

if alive neutron && curl -sf -o /dev/null "$NEUTRON_URL/"; then
  log "neutron already running (pid $(cat "$(pidfile neutron)")) at $NEUTRON_URL"
  exit 0
fi
port_busy "$OCTA_NEUTRON_PORT" && die "port $OCTA_NEUTRON_PORT is already in use"

cat > "$N/neutron.conf" <<EOF
[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = keystone
bind_host = $OCTA_BIND
bind_port = $OCTA_NEUTRON_PORT
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = $OCTA_NEUTRON_TRANSPORT
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
state_path = $N/state
log_dir = $STATE/log
log_file = neutron-server.log
[database]
connection = sqlite:///$N/neutron.sqlite?check_same_thread=false
[keystone_authtoken]
www_authenticate_uri = http://$OCTA_BIND:$OCTA_KEYSTONE_PORT
auth_url = http://$OCTA_BIND:$OCTA_KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $OCTA_SERVICE_PASSWORD
region_name = $OCTA_REGION
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
mechanism_drivers = $OCTA_NEUTRON_MECH
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = $OCTA_VNI_RANGES
[securitygroup]
enable_security_group = true
EOF

if [[ ! -s $N/schema-ready ]]; then
  # `neutron-db-manage upgrade heads` fails on SQLite (ALTER of constraints is not
  # supported). Build the schema from the models instead, then stamp alembic heads.
  t1=$(now)
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
    stamp heads >>"$STATE/log/neutron-db.log" 2>&1 || die "neutron-db-manage stamp failed"
  sqlite3 "$N/neutron.sqlite" 'select version_num from alembic_version' > "$N/schema-ready"
  timing neutron-db-create "$(since "$t1")s"
fi

# shellcheck disable=SC1091
source "$STATE/env"
"$PY" "$LAB_SRC/ks-register.py" neutron network "$NEUTRON_URL" neutron "$OCTA_SERVICE_PASSWORD" \
  >>"$STATE/log/ks-register.log" 2>&1 || die "keystone registration failed, see $STATE/log/ks-register.log"

t2=$(now)
(cd "$N" && start_bg neutron "$STATE/log/neutron-server.stdout" \
  neutron-server --config-file "$N/neutron.conf" --config-file "$N/ml2_conf.ini")
wait_for "neutron at $NEUTRON_URL" 90 curl -sf -o /dev/null "$NEUTRON_URL/" \
  || die "neutron did not come up, see $STATE/log/neutron-server.log"
timing neutron-start "$(since "$t2")s"
timing neutron-up-total "$(since "$t0")s"
log "neutron ready at $NEUTRON_URL"
