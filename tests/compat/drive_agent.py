#!/usr/bin/python3
"""Drive an amphora agent with stock Octavia's own controller client.

Uses python3-octavia's AmphoraAPIClient1_0 (the REST amphora driver's client, with its
retry logic, amphora-id hostname check and status-code mapping) configured through
oslo.config exactly as a controller's [haproxy_amphora] section would configure it, and
takes one load balancer through its life: version discovery, info, haproxy config
upload, reload (= start), listeners, real HTTP through haproxy, certificate upload /
md5 / delete, reload, delete. Prints one JSON document with what each step returned;
any refusal raises (exit 1) with Octavia's exception.

usage: drive_agent.py --port P --amphora-id ID --server-ca F --client-cert F
                      --lb-id LB --haproxy-config F --frontend-port P
"""
import argparse
import json
import sys
import time
import types
import urllib.request

from oslo_config import cfg

from octavia.amphorae.drivers.haproxy import rest_api_driver
from octavia.common import config


def http_through_haproxy(port):
    deadline = time.time() + 10
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/hello.txt" % port, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--port", "--frontend-port"):
        ap.add_argument(flag, type=int, required=True)
    for flag in ("--amphora-id", "--server-ca", "--client-cert", "--lb-id", "--haproxy-config"):
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
    with open(args.haproxy_config, "rb") as f:
        haproxy_cfg = f.read()
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    out = {}
    out["api_version"] = client.get_api_version(amp)
    # As the driver's _populate_amphora_api_version does with the answer.
    amp.api_version = out["api_version"]["api_version"]
    out["info"] = client.get_info(amp)
    client.upload_config(amp, lb, haproxy_cfg)
    client.reload_listener(amp, lb)
    out["listeners"] = client.get_all_listeners(amp)
    out["http"] = http_through_haproxy(args.frontend_port)
    client.upload_cert_pem(amp, lb, "0123abcd.pem", pem)
    out["md5"] = client.get_cert_md5sum(amp, lb, "0123abcd.pem")
    client.reload_listener(amp, lb)
    client.delete_cert_pem(amp, lb, "0123abcd.pem")
    client.delete_listener(amp, lb)
    out["listeners_after_delete"] = client.get_all_listeners(amp)
    # Octavia treats a missing certificate as "not there" (it ignores the 404 itself).
    out["md5_after_delete"] = client.get_cert_md5sum(amp, lb, "0123abcd.pem", ignore=(404,))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
