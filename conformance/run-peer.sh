#!/usr/bin/env bash
# Runs the conformance suite against an independent SCIM implementation: the Python
# `scim2-server` package (PyPI, version 0.8.3), installed in a throw-away virtualenv and started
# on 127.0.0.1 with a free port.
#
# Writes conformance/peer-results.json (the JSON report) and prints the text report.
# Exits 0 even when checks fail (the results are data); exits non-zero only when the peer
# could not be installed or started. Failures are explained in conformance/PEERS.md.
#
# Usage: conformance/run-peer.sh [scim-conformance arguments; default: --profile rfc,entra,okta]
set -euo pipefail
if [ "$#" -eq 0 ]; then
    set -- --profile rfc,entra,okta
fi
cd "$(dirname "$0")/.."

PEER_VERSION="0.8.3"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "installing scim2-server==$PEER_VERSION into $WORK/venv" >&2
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$PEER_VERSION"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
TOKEN="conformance-peer-token"
"$WORK/venv/bin/scim2-server" --hostname 127.0.0.1 --port "$PORT" --bearer-token "$TOKEN" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

URL="http://127.0.0.1:$PORT"
ready=""
for _ in $(seq 1 100); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        break
    fi
    if python3 -c "import sys, urllib.request; r = urllib.request.Request('$URL/ServiceProviderConfig', headers={'Authorization': 'Bearer $TOKEN'}); sys.exit(0 if urllib.request.urlopen(r, timeout=1).status == 200 else 1)" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
if [ -z "$ready" ]; then
    echo "scim2-server did not start; its log:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
echo "scim2-server $PEER_VERSION is listening on $URL" >&2

cargo build --quiet -p conformance --bin scim-conformance
set +e
./target/debug/scim-conformance --url "$URL" --token "$TOKEN" --format json \
    --output conformance/peer-results.json "$@"
status=$?
set -e
if [ "$status" -ge 2 ]; then
    echo "scim-conformance could not run against the peer (exit $status); server log:" >&2
    tail -n 50 "$WORK/server.log" >&2
    exit "$status"
fi
echo "results written to conformance/peer-results.json (exit $status: 0 = all passed, 1 = some failed)" >&2
exit 0
