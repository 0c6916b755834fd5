#!/bin/bash
# Optional: run the real neutron-openvswitch-agent against the harness OVS (userspace,
# datapath_type=netdev), so ML2 really binds ports (binding:vif_type=ovs) and a port goes
# ACTIVE once an OVS interface with external_ids:iface-id=<port id> appears on br-int.
# Needs oslo.messaging between server and agent, so this starts RabbitMQ (rabbitmq-up.sh)
# and (re)starts neutron-server with the rabbit transport if it was running on fake://.
#   usage: (inside the lab namespace, normally through up.sh)
# Side effects on OVS (by the agent, as in production): br-int gets fail_mode=secure and a
# controller tcp:127.0.0.1:6633 (the agent's os-ken OpenFlow controller); br-tun is created
# with patch ports. Without a bound neutron port, traffic on br-int is dropped.
source "$(dirname "$0")/lib.sh"
need_root
need_lab_netns
[[ -z $OCTA_OVS_NETNS ]] || die "OCTA_OVS_NETNS is set: ovs-vswitchd would look for the agent's OpenFlow
 controller on its own netns' 127.0.0.1 and the agent could not reach RabbitMQ. Run the whole
 harness inside one namespace instead (netns-run.sh), without OCTA_OVS_NETNS."
ensure_pkgs neutron-openvswitch-agent
"$LAB_SRC/ovs.sh" "$STATE"
"$LAB_SRC/rabbitmq.sh" "$STATE"
N=$STATE/neutron
if alive neutron && ! grep -q '^transport_url = rabbit://' "$N/neutron.conf"; then
  log "neutron-server runs with fake:// transport; restarting it on rabbit"
  stop_pid neutron
fi
"$LAB_SRC/neutron.sh" "$STATE"
: "${OCTA_OVS_BRIDGE:=br-int}"
: "${OCTA_OF_PORT:=6633}"

t0=$(now)
if alive neutron-ovs-agent; then
  log "neutron-openvswitch-agent already running (pgid $(cat "$(pidfile neutron-ovs-agent)"))"; exit 0
fi
cat > "$N/openvswitch_agent.ini" <<EOF
[ovs]
integration_bridge = $OCTA_OVS_BRIDGE
tunnel_bridge = br-tun
; VXLAN endpoint address; with a single host no tunnel port is ever created
local_ip = 127.0.0.1
datapath_type = netdev
ovsdb_connection = unix:$OCTA_OVS_RUNDIR/db.sock
of_listen_address = 127.0.0.1
of_listen_port = $OCTA_OF_PORT
[agent]
tunnel_types = vxlan
l2_population = false
[securitygroup]
; the openvswitch firewall would need conntrack in the userspace datapath; not tried
firewall_driver = noop
enable_security_group = true
EOF
(cd "$N" && start_bg neutron-ovs-agent "$STATE/log/neutron-ovs-agent.stdout" \
  neutron-openvswitch-agent --config-file "$N/neutron.conf" --config-file "$N/openvswitch_agent.ini" \
  --log-file "$STATE/log/neutron-ovs-agent.log")

# wait until the server lists the agent as alive
# shellcheck disable=SC1091
source "$STATE/env"
agent_alive() {
  local tok
  tok=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' "$OS_AUTH_URL/auth/tokens" \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
  curl -s -H "X-Auth-Token: $tok" "$OCTA_NEUTRON_URL/v2.0/agents?agent_type=Open+vSwitch+agent&host=$(hostname)" \
    | "$PY" -c 'import json,sys; a=json.load(sys.stdin)["agents"]; sys.exit(0 if a and a[0]["alive"] else 1)'
}
sleep 3
wait_for "neutron-openvswitch-agent to report alive" 90 agent_alive \
  || die "agent not alive, see $STATE/log/neutron-ovs-agent.log"
timing neutron-ovs-agent-start "$(since "$t0")s"
log "neutron-openvswitch-agent alive on host $(hostname); br-int is now fail_mode=secure"
