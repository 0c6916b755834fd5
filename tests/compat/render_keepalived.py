#!/usr/bin/python3
"""Render the keepalived configurations a stock controller uploads, with Octavia's own code.

`vrrp`: the Active/Standby VRRP configuration from python3-octavia's
KeepalivedJinjaTemplater (`keepalived_base.template`), for one amphora of a load balancer
whose VIP is VIP on SUBNET, this amphora's VRRP address VRRP_IP on interface IFACE, its
peer PEER_IP (allowed to be absent from the network), role ROLE.

`lvs`: one UDP listener's keepalived LVS configuration from python3-octavia's
LvsJinjaTemplater (`octavia/common/jinja/lvs/`): VIP:PORT, one pool (round robin), one
member MEMBER:MEMBER_PORT with a UDP-CONNECT health monitor; with --disabled the listener is
disabled (administratively down), which the template renders without a virtual server.

Octavia's options are set through oslo.config as a controller's octavia.conf would set
them (`[haproxy_amphora] base_path`, `[keepalived_vrrp]`). The namespace keepalived is
told to enter (`net_namespace` in the LVS file) is Octavia's constant
AMPHORA_NAMESPACE, overridden with NETNS so the test's namespace stands in for the
amphora's. Prints the rendered text.

usage: render_keepalived.py vrrp --base-path DIR --vip IP --subnet CIDR --vrrp-ip IP
                                 --peer-ip IP --iface NAME --role MASTER|BACKUP
                                 [--check-interval S]
       render_keepalived.py lvs --base-path DIR --netns NS --lb-id ID --listener-id ID
                                --pool-id ID --member-id ID --hm-id ID --vip IP
                                --port P --member IP --member-port P [--disabled]
"""
import argparse
import sys
import types

from oslo_config import cfg

from octavia.common import config
from octavia.common import constants
from octavia.common import data_models as dm


def vrrp(args):
    from octavia.amphorae.drivers.keepalived.jinja import jinja_cfg
    if args.check_interval:
        cfg.CONF.set_override("vrrp_check_interval", args.check_interval, group="keepalived_vrrp")
    priority = 100 if args.role == constants.ROLE_MASTER else 90
    me = dm.Amphora(id="amp-1", status=constants.AMPHORA_ALLOCATED, role=args.role,
                    vrrp_ip=args.vrrp_ip, vrrp_interface=args.iface, vrrp_id=1,
                    vrrp_priority=priority)
    peer = dm.Amphora(id="amp-2", status=constants.AMPHORA_ALLOCATED, role="BACKUP",
                      vrrp_ip=args.peer_ip, vrrp_id=1, vrrp_priority=90)
    lb = dm.LoadBalancer(id="lb-1", amphorae=[me, peer], topology=constants.TOPOLOGY_ACTIVE_STANDBY,
                         vip=dm.Vip(ip_address=args.vip, load_balancer_id="lb-1"),
                         vrrp_group=dm.VRRPGroup(vrrp_group_name="lb1", vrrp_auth_type="PASS",
                                                 vrrp_auth_pass="s3cr3tpw", advert_int=1))
    # amphorav2 hands the templater a dict per amphora (AmphoraeNetworkConfig as dict).
    net = {"vip_subnet": {"cidr": args.subnet, "gateway_ip": None, "host_routes": []},
           "additional_vip_data": []}
    return jinja_cfg.KeepalivedJinjaTemplater().build_keepalived_config(lb, me, net)


def lvs(args):
    constants.AMPHORA_NAMESPACE = args.netns
    from octavia.common.jinja.lvs import jinja_cfg
    lb = dm.LoadBalancer(id=args.lb_id, enabled=True, additional_vips=[],
                         vip=dm.Vip(ip_address=args.vip, load_balancer_id=args.lb_id))
    hm = dm.HealthMonitor(id=args.hm_id, type=constants.HEALTH_MONITOR_UDP_CONNECT, delay=5,
                          timeout=2, fall_threshold=2, rise_threshold=2, enabled=True,
                          provisioning_status="ACTIVE")
    member = dm.Member(id=args.member_id, ip_address=args.member, protocol_port=args.member_port,
                       weight=1, enabled=True, provisioning_status="ACTIVE",
                       monitor_address=None, monitor_port=None)
    pool = dm.Pool(id=args.pool_id, protocol=constants.PROTOCOL_UDP,
                   lb_algorithm=constants.LB_ALGORITHM_ROUND_ROBIN, members=[member],
                   health_monitor=hm, enabled=True, provisioning_status="ACTIVE",
                   session_persistence=None)
    listener = dm.Listener(id=args.listener_id, protocol=constants.PROTOCOL_UDP,
                           protocol_port=args.port, default_pool=pool, load_balancer=lb,
                           enabled=not args.disabled, connection_limit=-1)
    return jinja_cfg.LvsJinjaTemplater().build_config(listener)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="kind", required=True)
    v = sub.add_parser("vrrp")
    for flag in ("--base-path", "--vip", "--subnet", "--vrrp-ip", "--peer-ip", "--iface",
                 "--role"):
        v.add_argument(flag, required=True)
    v.add_argument("--check-interval", type=int)
    lv = sub.add_parser("lvs")
    for flag in ("--base-path", "--netns", "--lb-id", "--listener-id", "--pool-id",
                 "--member-id", "--hm-id", "--vip", "--member"):
        lv.add_argument(flag, required=True)
    for flag in ("--port", "--member-port"):
        lv.add_argument(flag, type=int, required=True)
    lv.add_argument("--disabled", action="store_true")
    args = ap.parse_args()
    config.init([])
    cfg.CONF.set_override("base_path", args.base_path, group="haproxy_amphora")
    sys.stdout.write(vrrp(args) if args.kind == "vrrp" else lvs(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
