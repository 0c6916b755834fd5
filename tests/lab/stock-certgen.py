#!/usr/bin/python3
"""Sign an amphora server certificate with stock Octavia's own certificate generator.

Proves that a server CA made by `octa pki` is usable by a stock Octavia controller:
python3-octavia's `local_cert_generator` must open the (encrypted) CA key with the
passphrase, as `[certificates] ca_private_key_passphrase` makes it do, and sign.

usage: stock-certgen.py --ca-cert F --ca-key F --passphrase-file F --cn AMPHORA_ID --out F
The CA is configured the way an operator configures a stock controller: an octavia.conf
whose [certificates] section names the files and the passphrase, read by oslo.config.
Writes the certificate then the key (Octavia's server.pem layout) to --out; exits 1 with
Octavia's own error text when it refuses the CA.
"""
import argparse
import os
import sys
import tempfile

from octavia.certificates.generator import local
from octavia.common import config  # registers every octavia.conf option


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--ca-cert", "--ca-key", "--passphrase-file", "--cn", "--out"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--validity", type=int, default=30 * 86400, help="seconds")
    args = ap.parse_args()
    with open(args.passphrase_file) as f:
        passphrase = f.read().strip()
    fd, conf = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("[certificates]\ncert_generator = local_cert_generator\n"
                "ca_certificate = %s\nca_private_key = %s\n"
                "ca_private_key_passphrase = %s\n"
                % (args.ca_cert, args.ca_key, passphrase))
    try:
        config.init(["--config-file", conf])
        pair = local.LocalCertGenerator.generate_cert_key_pair(
            cn=args.cn, validity=args.validity)
    except Exception as e:  # Octavia raises its own exception types; report and fail.
        print("octavia refused the CA: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        os.unlink(conf)
    with open(args.out, "wb") as f:
        f.write(pair.certificate + pair.private_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
