#!/usr/bin/python3
"""Sign an amphora server certificate with stock Octavia's own certificate generator.

usage: /usr/bin/python3 stock-certgen.py --ca-cert F --ca-key F --passphrase-file F
                                         --cn AMPHORA_ID --out FILE [--validity SECONDS]

Checks that a server CA (e.g. made by `octa pki`) is usable by a stock Octavia
controller: python3-octavia's octavia.certificates.generator.local.LocalCertGenerator,
configured the way an operator configures octavia-worker (an octavia.conf whose
[certificates] section names the CA certificate, the CA key and its passphrase, read
by oslo.config), must open the (passphrase-encrypted) CA key and sign. This is the
controller's own call: generate_cert_key_pair(cn=<amphora id>, validity=...), with no
CA passed in, so everything comes from the configuration.

Writes the certificate then the private key (the agent's server.pem layout) to FILE.
Exits 1 with Octavia's exception text when it refuses the CA (wrong passphrase,
unsupported key, ...), 2 on bad arguments.

Run it with Debian's /usr/bin/python3: python3-octavia lives in its dist-packages.
"""
import argparse
import os
import sys
import tempfile

from oslo_config import cfg

from octavia.certificates.generator import local
from octavia.common import config  # registers octavia.conf's options ([certificates] ...)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ca-cert", required=True)
    ap.add_argument("--ca-key", required=True)
    ap.add_argument("--passphrase-file", required=True)
    ap.add_argument("--cn", required=True, help="the amphora id")
    ap.add_argument("--out", required=True)
    ap.add_argument("--validity", type=int, default=None,
                    help="seconds (default: octavia's [certificates] cert_validity_time)")
    args = ap.parse_args()
    with open(args.passphrase_file) as f:
        passphrase = f.read().rstrip("\r\n")

    fd, conf = tempfile.mkstemp(prefix="stock-certgen-", suffix=".conf")
    try:
        with os.fdopen(fd, "w") as f:
            # What an operator writes into octavia.conf. oslo.config substitutes
            # "$name" in values, so a literal "$" must be written "$$".
            f.write("[certificates]\n"
                    "cert_generator = local_cert_generator\n"
                    "ca_certificate = %s\n"
                    "ca_private_key = %s\n"
                    "ca_private_key_passphrase = %s\n"
                    % (os.path.abspath(args.ca_cert), os.path.abspath(args.ca_key),
                       passphrase.replace("$", "$$")))
        # default_config_files=[]: never read /etc/octavia/octavia.conf of this machine
        config.init(["--config-file", conf], default_config_files=[])
    finally:
        os.unlink(conf)

    validity = args.validity or cfg.CONF.certificates.cert_validity_time
    try:
        pair = local.LocalCertGenerator.generate_cert_key_pair(cn=args.cn, validity=validity)
    except Exception as e:  # Octavia wraps most failures in its own exception types
        print("octavia refused the CA: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    old = os.umask(0o077)
    try:
        with open(args.out, "wb") as f:
            f.write(pair.certificate + pair.private_key)
    finally:
        os.umask(old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
