#!/bin/bash
# Generate the two-CA PKI Octavia uses for controller <-> amphora-agent mTLS.
#   usage: certs.sh [STATE_DIR] [AMPHORA_ID] [EXTRA_SAN ...]
# Writes STATE_DIR/certs/ (each piece only if missing, so it is idempotent):
#   server_ca.pem/.key   CA that signs agents' server certs (the controller trusts it)
#   client_ca.pem/.key   CA that signs the controller's client cert (agents trust it)
#   client.crt/.key      controller client cert (curl --cert/--key; octa's client identity)
#   client.pem           the same cert + key in one file (octavia's [haproxy_amphora] client_cert)
#   amp-<AMPHORA_ID>/server.pem   agent server cert + key in ONE file (amphora-agent has no
#                                 keyfile option), plus server.crt/.key split
# Server cert: CN=AMPHORA_ID (octavia's controller verifies the CN/SAN against the amphora id,
# not the IP), SAN DNS:AMPHORA_ID, IP:127.0.0.1 plus any EXTRA_SAN (e.g. IP:172.31.255.20).
# With curl use:  --resolve AMPHORA_ID:9443:IP https://AMPHORA_ID:9443/
set -euo pipefail
STATE=${1:-${OCTA_LAB_DIR:-/var/tmp/octa-lab}}
AMP_ID=${2:-${OCTA_AMPHORA_ID:-9a6f5c39-1a4c-4d7e-9b55-0c0ffee00001}}
if (($# > 2)); then shift 2; EXTRA=("$@"); else EXTRA=(); fi
D=$STATE/certs
mkdir -p "$D"
cd "$D"
umask 077
ossl() { openssl "$@" 2>/dev/null; }
for ca in server_ca client_ca; do
  [[ -s $ca.pem ]] && continue
  ossl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout $ca.key -out $ca.pem -subj "/O=octa-lab/CN=$ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 644 $ca.pem
done
if [[ ! -s client.pem ]]; then
  ossl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/O=octa-lab/CN=octa-controller"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > client.ext
  ossl x509 -req -in client.csr -CA client_ca.pem -CAkey client_ca.key -CAcreateserial -days 3650 -sha256 -extfile client.ext -out client.crt
  cat client.crt client.key > client.pem
  rm -f client.csr client.ext ./*.srl
  chmod 644 client.crt
  openssl verify -CAfile client_ca.pem client.crt >/dev/null
  echo "certs: client cert written to $D/client.{crt,key,pem}"
fi
S=$D/amp-$AMP_ID
if [[ ! -s $S/server.pem ]]; then
  mkdir -p "$S"
  san="DNS:$AMP_ID,IP:127.0.0.1"
  for e in "${EXTRA[@]}"; do san="$san,$e"; done
  ossl req -newkey rsa:2048 -nodes -keyout "$S/server.key" -out "$S/server.csr" -subj "/O=octa-lab/CN=$AMP_ID"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$S/server.ext"
  ossl x509 -req -in "$S/server.csr" -CA server_ca.pem -CAkey server_ca.key -CAcreateserial -days 3650 -sha256 -extfile "$S/server.ext" -out "$S/server.crt"
  cat "$S/server.crt" "$S/server.key" > "$S/server.pem"
  rm -f "$S/server.csr" "$S/server.ext" ./*.srl
  chmod 644 "$S/server.crt"
  openssl verify -CAfile server_ca.pem "$S/server.crt" >/dev/null
  echo "certs: server cert for amphora $AMP_ID written to $S (SAN=$san)"
fi
