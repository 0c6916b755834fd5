#!/usr/bin/python3
"""Stock Octavia's controller plugs networks into an amphora agent, with its own code.

python3-octavia's REST amphora driver (HaproxyAmphoraLoadBalancerDriver) runs
post_vip_plug for a load balancer whose VIP port has MAC VIP_MAC, then post_network_plug
for a member port with MAC MEMBER_MAC, then get_interface_from_ip for the VRRP address -
the calls the controller's v2 flows make after Nova has hot-plugged the ports. The
objects are Octavia's own data models (Amphora, LoadBalancer, Vip) and network models
(Port, Network, Subnet, FixedIP, HostRoute), filled as the network driver would fill them.
The agent listens on 127.0.0.1:PORT; [haproxy_amphora] is set through oslo.config as a
controller's octavia.conf sets it. Prints a JSON object of what the driver returned.

usage: drive_plug.py --port P --server-ca F --client-cert F --amphora-id ID
                     --vip-mac MAC --member-mac MAC
"""
import argparse
import json
import sys

from oslo_config import cfg

from octavia.amphorae.drivers.haproxy import rest_api_driver
from octavia.common import config
from octavia.common import data_models
from octavia.network import data_models as network_models

VIP = "203.0.113.10"
VRRP_IP = "203.0.113.5"
MEMBER_IP = "198.51.100.7"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    for flag in ("--server-ca", "--client-cert", "--amphora-id", "--vip-mac", "--member-mac"):
        ap.add_argument(flag, required=True)
    args = ap.parse_args()
    config.init([])
    for key, value in (("bind_port", args.port), ("client_cert", args.client_cert),
                       ("server_ca", args.server_ca), ("connection_max_retries", 3),
                       ("connection_retry_interval", 1)):
        cfg.CONF.set_override(key, value, group="haproxy_amphora")
    # No Barbican here: the driver loads a certificate manager it never uses for plugging.
    cfg.CONF.set_override("cert_manager", "local_cert_manager", group="certificates")
    driver = rest_api_driver.HaproxyAmphoraLoadBalancerDriver()

    vip_subnet = network_models.Subnet(
        id="vip-subnet", cidr="203.0.113.0/24", gateway_ip="203.0.113.1",
        host_routes=[network_models.HostRoute(nexthop="203.0.113.254",
                                              destination="192.0.2.0/24")])
    # The v2 flow hands post_vip_plug the VRRP port with its network as a dict (it reads
    # port.network['mtu']); post_network_plug gets a Network model (port.network.mtu).
    vrrp_port = network_models.Port(
        id="vrrp-port", mac_address=args.vip_mac, network={"mtu": 1450},
        fixed_ips=[network_models.FixedIP(subnet_id="vip-subnet", ip_address=VRRP_IP)])
    amphora = data_models.Amphora(
        id=args.amphora_id, lb_network_ip="127.0.0.1", vrrp_ip=VRRP_IP, ha_ip=VIP,
        vrrp_port_id="vrrp-port", status="ALLOCATED")
    lb = data_models.LoadBalancer(id="lb", vip=data_models.Vip(ip_address=VIP))
    out = {}
    driver.post_vip_plug(amphora, lb, None, vrrp_port=vrrp_port, vip_subnet=vip_subnet,
                         additional_vip_data=[])
    # Plugging the same port again is what a retried flow does: the driver swallows 409.
    driver.post_vip_plug(amphora, lb, None, vrrp_port=vrrp_port, vip_subnet=vip_subnet,
                         additional_vip_data=[])

    member_subnet = network_models.Subnet(id="member-subnet", cidr="198.51.100.0/24",
                                          gateway_ip="198.51.100.1", host_routes=[])
    member_port = network_models.Port(
        id="member-port", mac_address=args.member_mac,
        network=network_models.Network(mtu=1450),
        fixed_ips=[network_models.FixedIP(subnet_id="member-subnet", ip_address=MEMBER_IP,
                                          subnet=member_subnet)])
    driver.post_network_plug(amphora, member_port, None)
    out["vrrp_interface"] = driver.get_interface_from_ip(amphora, VRRP_IP)
    out["member_interface"] = driver.get_interface_from_ip(amphora, MEMBER_IP)
    out["unknown_interface"] = driver.get_interface_from_ip(amphora, "192.0.2.99")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
