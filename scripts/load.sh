#!/usr/bin/env bash
# Measures example-standalone (and scim-gateway) from outside: builds them and the harness in release, then runs
# scim-load (wrk against the real binary and against bare-hyper, each its own process).
# Needs wrk (Debian: apt-get install wrk). Arguments go to scim-load; see `--help`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is not installed: apt-get install wrk" >&2
    exit 1
fi
cargo build --release --locked -p example-standalone -p gateway-reference -p scim-loadtest
exec target/release/scim-load "$@"
