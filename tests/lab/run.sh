#!/bin/bash
# Run a command inside the lab: in the network namespace `octa-lab`, with the lab's env
# file ($OCTA_LAB_DIR/env) loaded. The exit code is the command's.
#   usage: tests/lab/run.sh CMD [ARGS...]
set -euo pipefail
STATE=${OCTA_LAB_DIR:-/var/tmp/octa-lab}
[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
[[ -f $STATE/env ]] || { echo "run.sh: $STATE/env is missing: bring the lab up with tests/lab/up.sh" >&2; exit 2; }
# shellcheck disable=SC1091
source "$STATE/env"
if [[ $(ip netns identify $$ 2>/dev/null) == "$OCTA_LAB_NETNS" ]]; then
  exec "$@"
fi
[[ -e /run/netns/$OCTA_LAB_NETNS ]] || { echo "run.sh: namespace $OCTA_LAB_NETNS is missing: run tests/lab/up.sh" >&2; exit 2; }
exec ip netns exec "$OCTA_LAB_NETNS" "$@"
