#!/usr/bin/python3
"""The pool part of a stock amphora's heartbeat for one LVS listener, with Octavia's code.

Runs python3-octavia's `keepalivedlvs_query.get_lvs_listener_pool_status` (what the stock
health daemon puts under `pools` for a UDP/SCTP listener) on the listener's keepalived
configuration and pid files under BASE_PATH (`[haproxy_amphora] base_path`), and prints
its result as JSON.

Stock reads the kernel's IPVS table with `ip netns exec NS cat /proc/net/ip_vs`, which
fails outright on a kernel without IPVS; here that one read is given the table of the
namespace when the kernel has one and an empty table (what an IPVS kernel shows before
keepalived programs it) when it has none.

usage: lvs_pool_status.py --base-path DIR --listener-id ID
"""
import argparse
import json
import os
import sys

from oslo_config import cfg

from octavia.common import config  # noqa: F401 (registers Octavia's options)
from octavia.amphorae.backends.utils import keepalivedlvs_query


STOCK_READ = keepalivedlvs_query.read_kernel_file


def kernel_table(ns_name, file_path):
    # IPVS is a kernel module: present here means present in every namespace.
    if not os.path.exists(file_path):
        return ""
    return STOCK_READ(ns_name, file_path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-path", required=True)
    parser.add_argument("--listener-id", required=True)
    args = parser.parse_args()
    cfg.CONF([], project="octavia", default_config_files=[])
    cfg.CONF.set_override("base_path", args.base_path, group="haproxy_amphora")
    keepalivedlvs_query.read_kernel_file = kernel_table
    status = keepalivedlvs_query.get_lvs_listener_pool_status(args.listener_id)
    json.dump(status, sys.stdout)


if __name__ == "__main__":
    main()
