#!/bin/bash
# Start a real Keystone (Debian bookworm = OpenStack Zed) on SQLite, served by uWSGI on
# 127.0.0.1:$OCTA_KEYSTONE_PORT (5000). Bootstraps admin/admin (password $OCTA_ADMIN_PASSWORD),
# region $OCTA_REGION and the identity endpoints. Writes STATE/env (OS_* variables).
#   usage: (inside the lab namespace, normally through up.sh)
# Idempotent: reuses the database/keys in STATE/keystone; a running server is left alone.
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
ensure_pkgs keystone uwsgi-plugin-python3 python3-openstackclient sqlite3

K=$STATE/keystone
mkdir -p "$K"/{fernet-keys,credential-keys} "$STATE/log"
CONF=$K/keystone.conf
t0=$(now)

if alive keystone && curl -sf -o /dev/null "$KEYSTONE_URL"; then
  log "keystone already running (pid $(cat "$(pidfile keystone)")) at $KEYSTONE_URL"
  write_env; exit 0
fi
port_busy "$OCTA_KEYSTONE_PORT" && die "port $OCTA_KEYSTONE_PORT is already in use"

# SQLite workarounds (see README): WAL journal + check_same_thread=false, 1 thread per worker.
cat > "$CONF" <<EOF
[DEFAULT]
log_dir = $STATE/log
log_file = keystone.log
[database]
connection = sqlite:///$K/keystone.sqlite?check_same_thread=false
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
mkdir -p "$K/policy.d"

KM=(keystone-manage --config-file "$CONF")
# keystone-manage prints a harmless eventlet/logging traceback at interpreter exit
# ("'NoneType' object has no attribute 'getcurrent'"); its output goes to the log.
if [[ ! -s $K/bootstrapped ]]; then
  t1=$(now)
  "${KM[@]}" db_sync >>"$STATE/log/keystone-manage.log" 2>&1
  sqlite3 "$K/keystone.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null
  "${KM[@]}" fernet_setup --keystone-user root --keystone-group root >>"$STATE/log/keystone-manage.log" 2>&1
  "${KM[@]}" credential_setup --keystone-user root --keystone-group root >>"$STATE/log/keystone-manage.log" 2>&1
  "${KM[@]}" bootstrap --bootstrap-password "$OCTA_ADMIN_PASSWORD" \
    --bootstrap-admin-url "$KEYSTONE_URL/" --bootstrap-internal-url "$KEYSTONE_URL/" \
    --bootstrap-public-url "$KEYSTONE_URL/" --bootstrap-region-id "$OCTA_REGION" \
    >>"$STATE/log/keystone-manage.log" 2>&1
  "${KM[@]}" db_version 2>/dev/null | head -1 > "$K/bootstrapped"
  [[ -s $K/bootstrapped ]] || die "keystone bootstrap failed, see $STATE/log/keystone-manage.log"
  timing keystone-db-bootstrap "$(since "$t1")s"
fi

cat > "$K/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = $OCTA_BIND:$OCTA_KEYSTONE_PORT
master = true
processes = 2
threads = 1
enable-threads = true
lazy-apps = true
die-on-term = true
need-app = true
buffer-size = 65535
; uwsgi's http-socket does no keep-alive; tell clients so they do not reuse sockets
add-header = Connection: close
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$CONF
chdir = $K
EOF
t2=$(now)
start_bg keystone "$STATE/log/keystone-uwsgi.log" uwsgi --ini "$K/uwsgi.ini"
wait_for "keystone at $KEYSTONE_URL" 60 curl -sf -o /dev/null "$KEYSTONE_URL" \
  || die "keystone did not come up, see $STATE/log/keystone-uwsgi.log and keystone.log"
# first token also warms up the second worker's lazy app load
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  "$KEYSTONE_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OCTA_ADMIN_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}")
[[ $code == 201 ]] || die "token request returned $code"
timing keystone-start "$(since "$t2")s"
write_env
timing keystone-up-total "$(since "$t0")s"
log "keystone ready at $KEYSTONE_URL (admin / \$OCTA_ADMIN_PASSWORD); tests/lab/run.sh loads $STATE/env"
