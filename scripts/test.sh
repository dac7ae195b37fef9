#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests of every crate, the storage
# backend suite against a real PostgreSQL server included.
#
# This is the README's test command; .ci/run calls exactly this after its lint steps.
# PostgreSQL: when SCIM_TEST_POSTGRES_URL is not set, a throwaway cluster is started on a free
# loopback port in a temporary directory (initdb/pg_ctl of the installed PostgreSQL, run as the
# `postgres` OS user when this script runs as root) and stopped again on exit. It has TLS on
# (ssl=on, a certificate for localhost/127.0.0.1 from a throwaway CA made with `openssl`;
# SCIM_TEST_POSTGRES_CA names the CA's PEM file) and still accepts plain connections.
# When you set SCIM_TEST_POSTGRES_URL yourself, also set SCIM_TEST_POSTGRES_CA to the CA of
# that server's certificate: the TLS tests (scim-server/tests/postgres_tls.rs) are required.
#
# SMTP: the gateway's mail tests talk to a real SMTP server on loopback, aiosmtpd from PyPI, in a
# virtualenv at target/smtp-venv (created once, reused; SCIM_TEST_SMTP_PYTHON names its Python).
# SCIM_REQUIRE_SMTP=1 makes those tests fail instead of skipping without it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version of aiosmtpd the mail tests run against.
AIOSMTPD_VERSION=1.4.6

setup_smtp() {
    local venv=target/smtp-venv
    if ! "$venv/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" \
        >/dev/null 2>&1; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
    fi
    export SCIM_TEST_SMTP_PYTHON="$PWD/$venv/bin/python"
    echo "scripts/test.sh: aiosmtpd $AIOSMTPD_VERSION in $venv"
}

pg_dir=""
pg_bin=""

stop_postgres() {
    if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
        $as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    [ -n "$pg_dir" ] && rm -rf "$pg_dir"
}

# A throwaway CA (ca.crt) and a server certificate it signed for localhost and 127.0.0.1
# (server.crt, server.key), P-256 keys, in $pg_dir, owned by the server's user (the key mode
# 0600, which the server demands).
make_certificates() {
    if ! command -v openssl >/dev/null 2>&1; then
        echo "scripts/test.sh: openssl is not installed (apt-get install openssl)" >&2
        exit 1
    fi
    (
        cd "$pg_dir"
        $as_pg openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 2 -subj "/CN=scim-toolkit test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        $as_pg openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj "/CN=localhost"
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
            "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$pg_dir/server.ext"
        $as_pg openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 2 -extfile server.ext
        $as_pg chmod 0600 ca.key server.key
    ) >"$pg_dir/openssl.log" 2>&1 || { cat "$pg_dir/openssl.log" >&2; exit 1; }
}

start_postgres() {
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
        echo "scripts/test.sh: the PostgreSQL server is not installed (apt-get install postgresql)," \
             "or set SCIM_TEST_POSTGRES_URL to a database the tests may use" >&2
        exit 1
    fi
    pg_dir=$(mktemp -d /tmp/scim-pg.XXXXXX)
    as_pg=""
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$pg_dir"
        as_pg="runuser -u postgres --"
    fi
    trap stop_postgres EXIT
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U scim --no-sync >"$pg_dir/initdb.log" 2>&1 \
        || { cat "$pg_dir/initdb.log" >&2; exit 1; }
    make_certificates
    # fsync=off: a throwaway test cluster; durability is the production configuration's business.
    $as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
        -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 \
            -c ssl=on -c ssl_cert_file=$pg_dir/server.crt -c ssl_key_file=$pg_dir/server.key" \
        start >/dev/null || { cat "$pg_dir/server.log" >&2; exit 1; }
    "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U scim scim_test
    export SCIM_TEST_POSTGRES_URL="postgres://scim@127.0.0.1:$port/scim_test"
    export SCIM_TEST_POSTGRES_CA="$pg_dir/ca.crt"
    echo "scripts/test.sh: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

as_pg=""
if [ -z "${SCIM_TEST_POSTGRES_URL:-}" ]; then
    start_postgres
fi
# The PostgreSQL tests fail instead of skipping when no database is given.
export SCIM_REQUIRE_POSTGRES=1
if [ -z "${SCIM_TEST_SMTP_PYTHON:-}" ]; then
    setup_smtp
fi
# Likewise the SMTP tests.
export SCIM_REQUIRE_SMTP=1
# The browser tests (Chromium + chromedriver, from .ci/run or apt) fail instead of skipping.
export SCIM_REQUIRE_BROWSER=1

# The output is kept in target/test-output.log; on a failure the failing tests' own output
# (the "failures:" sections of libtest and rustdoc) is printed again at the end, where a CI
# log that shows only its tail still shows it.
mkdir -p target
log=target/test-output.log
set +e
cargo test --workspace --all-features --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "scripts/test.sh: cargo test failed (exit $status); the failures again, from $log:" >&2
    awk '/^failures:$/,/^test result:/' "$log" | tail -n 150 >&2
    exit "$status"
fi
