#!/usr/bin/python3
"""Drive an amphora agent with stock Octavia's own controller code.

The haproxy configuration is rendered by Octavia's own Jinja template (python3-octavia's
combined_listeners JinjaTemplater, the one the controller uses) from Octavia data models
of one load balancer: a HTTP listener on 127.0.0.1:FRONTEND, one pool, one member on
127.0.0.1:BACKEND. The agent is driven by AmphoraAPIClient1_0 (the REST amphora driver's
client, with its retry logic, amphora-id hostname check and status-code mapping),
configured through oslo.config as a controller's [haproxy_amphora] section would be:
version discovery, info, details, config upload, reload (= start), listeners, real HTTP
through haproxy inside the namespace NETNS, certificate upload / md5 / delete, reload,
delete. Prints one JSON document with what each step returned; any refusal raises
(exit 1) with Octavia's exception.

usage: drive_agent.py --port P --amphora-id ID --server-ca F --client-cert F --lb-id LB
                      --listener-id L --pool-id P --member-id M --base-path DIR
                      --frontend-port P --backend-port P --netns NS
"""
import argparse
import json
import subprocess
import sys
import time
import types

from oslo_config import cfg

from octavia.amphorae.drivers.haproxy import rest_api_driver
from octavia.common import config
from octavia.common import constants
from octavia.common import data_models as dm
from octavia.common.jinja.haproxy.combined_listeners import jinja_cfg

FETCH = ("import sys, urllib.request\n"
         "print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode(), end='')\n")


def http_through_haproxy(netns, port):
    """GET /hello.txt through haproxy from inside the namespace, polling up to 10 s."""
    deadline = time.time() + 10
    url = "http://127.0.0.1:%d/hello.txt" % port
    while True:
        run = subprocess.run(["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", FETCH, url],
                             capture_output=True, text=True)
        if run.returncode == 0:
            return run.stdout
        if time.time() > deadline:
            raise RuntimeError("no HTTP through haproxy: %s" % run.stderr)
        time.sleep(0.1)


def render(args):
    """The configuration a stock controller would upload for this load balancer."""
    amp = dm.Amphora(id=args.amphora_id, lb_network_ip="127.0.0.1", vrrp_ip="127.0.0.1",
                     status="ALLOCATED", role=constants.ROLE_STANDALONE)
    lb = dm.LoadBalancer(id=args.lb_id, project_id="octa-tests", amphorae=[amp], enabled=True,
                         topology=constants.TOPOLOGY_SINGLE,
                         vip=dm.Vip(ip_address="127.0.0.1", load_balancer_id=args.lb_id))
    member = dm.Member(id=args.member_id, ip_address="127.0.0.1", protocol_port=args.backend_port,
                       weight=1, enabled=True, provisioning_status="ACTIVE",
                       operating_status="ONLINE", backup=False)
    pool = dm.Pool(id=args.pool_id, protocol="HTTP", lb_algorithm="ROUND_ROBIN", members=[member],
                   enabled=True, provisioning_status="ACTIVE", load_balancer=lb,
                   tls_enabled=False)
    member.pool = pool
    listener = dm.Listener(id=args.listener_id, protocol="HTTP", protocol_port=args.frontend_port,
                           default_pool=pool, pools=[pool], load_balancer=lb, enabled=True,
                           # The template's default (50000) needs ~125000 open files; test
                           # machines may cap them lower (20000 here) than an amphora does.
                           connection_limit=5000, provisioning_status="ACTIVE", insert_headers={},
                           l7policies=[], timeout_client_data=50000,
                           timeout_member_connect=5000, timeout_member_data=50000,
                           timeout_tcp_inspect=0, tags=[], allowed_cidrs=[])
    pool.listeners = [listener]
    lb.listeners = [listener]
    lb.pools = [pool]
    templater = jinja_cfg.JinjaTemplater(base_amp_path=args.base_path,
                                         base_crt_dir=args.base_path + "/certs",
                                         haproxy_template=None, log_http=None, log_server=None,
                                         connection_logging=True)
    return templater.build_config(amp, [listener], {}, haproxy_versions=("2", "6"))


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--port", "--frontend-port", "--backend-port"):
        ap.add_argument(flag, type=int, required=True)
    for flag in ("--amphora-id", "--server-ca", "--client-cert", "--lb-id", "--listener-id",
                 "--pool-id", "--member-id", "--base-path", "--netns"):
        ap.add_argument(flag, required=True)
    args = ap.parse_args()
    config.init([])
    for key, value in (("bind_port", args.port), ("client_cert", args.client_cert),
                       ("server_ca", args.server_ca), ("connection_max_retries", 3),
                       ("connection_retry_interval", 1)):
        cfg.CONF.set_override(key, value, group="haproxy_amphora")
    amp = types.SimpleNamespace(id=args.amphora_id, lb_network_ip="127.0.0.1", api_version="1.0")
    client = rest_api_driver.AmphoraAPIClient1_0()
    lb = args.lb_id
    haproxy_cfg = render(args)
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    out = {"rendered": haproxy_cfg}
    out["api_version"] = client.get_api_version(amp)
    # As the driver's _populate_amphora_api_version does with the answer.
    amp.api_version = out["api_version"]["api_version"]
    out["info"] = client.get_info(amp)
    client.upload_config(amp, lb, haproxy_cfg.encode())
    client.reload_listener(amp, lb)
    out["listeners"] = client.get_all_listeners(amp)
    out["details"] = client.get_details(amp)
    out["http"] = http_through_haproxy(args.netns, args.frontend_port)
    client.upload_cert_pem(amp, lb, "0123abcd.pem", pem)
    out["md5"] = client.get_cert_md5sum(amp, lb, "0123abcd.pem")
    client.reload_listener(amp, lb)
    out["http_after_reload"] = http_through_haproxy(args.netns, args.frontend_port)
    client.delete_cert_pem(amp, lb, "0123abcd.pem")
    client.delete_listener(amp, lb)
    out["listeners_after_delete"] = client.get_all_listeners(amp)
    # Octavia treats a missing certificate as "not there" (it ignores the 404 itself).
    out["md5_after_delete"] = client.get_cert_md5sum(amp, lb, "0123abcd.pem", ignore=(404,))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
