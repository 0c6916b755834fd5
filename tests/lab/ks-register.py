#!/usr/bin/python3
"""Idempotently register an OpenStack service in the lab Keystone.

usage: ks-register.py SERVICE_NAME SERVICE_TYPE ENDPOINT_URL [USER [PASSWORD [ROLE...]]]

Creates (if missing) project "service", the service user with role admin (plus any
extra ROLEs) on it, the service entry and public/internal/admin endpoints in $OS_REGION_NAME.
Reads the admin credentials from the OS_* environment (source STATE/env first).
One process with keystoneclient is ~10x faster than a series of `openstack` CLI calls.
"""
import os
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client


def main():
    name, stype, url = sys.argv[1:4]
    user = sys.argv[4] if len(sys.argv) > 4 else None
    password = sys.argv[5] if len(sys.argv) > 5 else None
    roles = ["admin"] + sys.argv[6:]
    region = os.environ.get("OS_REGION_NAME", "RegionOne")
    auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"],
                       username=os.environ["OS_USERNAME"],
                       password=os.environ["OS_PASSWORD"],
                       project_name=os.environ["OS_PROJECT_NAME"],
                       user_domain_name="Default", project_domain_name="Default")
    ks = client.Client(session=session.Session(auth=auth), interface="public")

    proj = next(iter(ks.projects.list(name="service")), None) or \
        ks.projects.create("service", "default", description="octa lab services")
    if user:
        u = next(iter(ks.users.list(name=user)), None) or \
            ks.users.create(user, domain="default", password=password)
        for rname in roles:
            role = next(iter(ks.roles.list(name=rname)), None) or ks.roles.create(rname)
            ks.roles.grant(role, user=u, project=proj)
    svc = next(iter(ks.services.list(type=stype)), None) or \
        ks.services.create(name, stype, description="octa lab %s" % name)
    have = {e.interface for e in ks.endpoints.list(service=svc, region=region)}
    for iface in ("public", "internal", "admin"):
        if iface not in have:
            ks.endpoints.create(svc, url, interface=iface, region=region)
    print("registered %s (%s) at %s" % (name, stype, url))


if __name__ == "__main__":
    main()
