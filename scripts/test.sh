#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests of every crate.
# This is the README's test command; .ci/run calls exactly this after its lint steps.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked "$@"
