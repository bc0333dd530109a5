#!/usr/bin/env bash
# Starts the services Rekindle's server tests talk to, and exports where they are:
#
#   REKINDLE_TEST_PG_URL         an admin database on PostgreSQL; the Rust test harness creates
#                                and drops a fresh database per test from it
#   REKINDLE_TEST_S3_ENDPOINT    s3s-fs on 127.0.0.1:8014 (REKINDLE_TEST_S3_PORT to move it),
#   REKINDLE_TEST_S3_BUCKET      an S3 server that checks SigV4 signatures and presigned URLs,
#   REKINDLE_TEST_S3_ACCESS_KEY  keeping its objects in a temporary folder
#   REKINDLE_TEST_S3_SECRET_KEY
#   REKINDLE_TEST_S3_REGION
#   REKINDLE_TEST_TMP            a temporary folder removed when the services stop
#
# Sourced (scripts/test.sh does), it starts the services and returns; s3s-fs is stopped by
# rekindle_stop_services, which it installs as the EXIT trap unless the caller has one (then
# the caller's trap must call it). Run directly, it starts them, prints the variables to export
# in another terminal, and keeps s3s-fs running until Ctrl-C.
#
# PostgreSQL: a server already accepting root on 127.0.0.1:5432 is used as it is. Otherwise the
# Debian cluster is started with pg_ctlcluster, a superuser role for the current user is created
# when missing, and, when TCP asks for a password (Debian's default), the URL uses the Unix
# socket with peer authentication instead; nothing in PostgreSQL's configuration is changed.
# A REKINDLE_TEST_PG_URL set beforehand is checked and used as it is.

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

rekindle_services_fail() {
    printf 'start-services.sh: error: %s\n' "$*" >&2
    return 1
}

rekindle_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

rekindle_as_postgres() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres -- "$@"
    fi
}

# -w: never prompt for a password (TCP on plain Debian asks for one, and would hang here).
rekindle_pg_works() {
    PGCONNECT_TIMEOUT=5 psql -w "$1" -Atqc 'select 1' >/dev/null 2>&1
}

rekindle_start_postgres() {
    local port=${REKINDLE_PG_PORT:-5432} cluster=${REKINDLE_PG_CLUSTER:-main}
    local user version i
    user=$(id -un)
    local tcp_url="postgres://$user@127.0.0.1:$port/postgres"
    local socket_url="postgres:///postgres?host=/var/run/postgresql&port=$port&user=$user"

    if [[ -n ${REKINDLE_TEST_PG_URL:-} ]]; then
        rekindle_pg_works "$REKINDLE_TEST_PG_URL" ||
            rekindle_services_fail "REKINDLE_TEST_PG_URL is set but psql cannot connect to it"
        return
    fi
    command -v psql >/dev/null ||
        rekindle_services_fail "psql not found; run scripts/install-tools.sh --test" || return

    if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
        version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null |
            sort -V | tail -n 1)
        [[ -n $version ]] || rekindle_services_fail \
            "PostgreSQL is neither running on port $port nor installed (no /etc/postgresql);" \
            "run scripts/install-tools.sh --test" || return
        echo "    starting PostgreSQL $version cluster '$cluster' (it stays running afterwards)"
        if [[ $EUID -eq 0 ]]; then
            pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
        else
            sudo pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
        fi || rekindle_services_fail "pg_ctlcluster could not start PostgreSQL $version/$cluster" ||
            return
        for ((i = 0; i < 30; i++)); do
            pg_isready -q -h 127.0.0.1 -p "$port" && break
            sleep 1
        done
        pg_isready -q -h 127.0.0.1 -p "$port" ||
            rekindle_services_fail "PostgreSQL did not accept connections within 30 s" || return
    fi

    if ! rekindle_pg_works "$tcp_url" && ! rekindle_pg_works "$socket_url"; then
        if ! rekindle_as_postgres psql -p "$port" -Atqc \
            "select 1 from pg_roles where rolname = '$user'" | grep -qx 1; then
            echo "    creating the PostgreSQL superuser role '$user'"
            rekindle_as_postgres createuser -p "$port" --superuser "$user" ||
                rekindle_services_fail "createuser $user failed" || return
        fi
    fi

    if rekindle_pg_works "$tcp_url"; then
        REKINDLE_TEST_PG_URL=$tcp_url
    elif rekindle_pg_works "$socket_url"; then
        # TCP wants a password here (Debian's default pg_hba.conf); the socket's peer
        # authentication needs none.
        REKINDLE_TEST_PG_URL=$socket_url
    else
        rekindle_services_fail "cannot connect to PostgreSQL as '$user' by $tcp_url" \
            "nor by $socket_url; set REKINDLE_TEST_PG_URL to an admin database URL" || return
    fi
    export REKINDLE_TEST_PG_URL
    local server_version
    server_version=$(psql -w "$REKINDLE_TEST_PG_URL" -Atqc 'show server_version')
    echo "    PostgreSQL $server_version at $REKINDLE_TEST_PG_URL"
}

rekindle_start_s3s() {
    local port=${REKINDLE_TEST_S3_PORT:-8014} i status
    export REKINDLE_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export REKINDLE_TEST_S3_BUCKET=rekindle-test
    export REKINDLE_TEST_S3_ACCESS_KEY=rekindle-test
    export REKINDLE_TEST_S3_SECRET_KEY=rekindle-test-secret
    export REKINDLE_TEST_S3_REGION=us-east-1

    command -v s3s-fs >/dev/null ||
        rekindle_services_fail "s3s-fs not found; run scripts/install-tools.sh --test" || return
    ! rekindle_port_open "$port" || rekindle_services_fail \
        "port $port is already taken (an s3s-fs left over from an earlier run?);" \
        "stop it or set REKINDLE_TEST_S3_PORT" || return

    local data="$REKINDLE_TEST_TMP/s3"
    mkdir -p "$data/$REKINDLE_TEST_S3_BUCKET"
    s3s-fs --host 127.0.0.1 --port "$port" \
        --access-key "$REKINDLE_TEST_S3_ACCESS_KEY" --secret-key "$REKINDLE_TEST_S3_SECRET_KEY" \
        "$data" >"$REKINDLE_TEST_TMP/s3s-fs.log" 2>&1 &
    REKINDLE_S3S_PID=$!

    for ((i = 0; i < 60; i++)); do
        kill -0 "$REKINDLE_S3S_PID" 2>/dev/null || {
            cat "$REKINDLE_TEST_TMP/s3s-fs.log" >&2
            rekindle_services_fail "s3s-fs exited at start-up (its log is above)"
            return
        }
        rekindle_port_open "$port" && break
        sleep 0.5
    done
    rekindle_port_open "$port" ||
        rekindle_services_fail "s3s-fs did not listen on port $port within 30 s" || return

    # Signed requests must work, and unsigned ones or ones signed with the wrong secret must
    # not: this proves s3s-fs checks signatures at all. curl signs with --aws-sigv4, but S3
    # also wants the x-amz-content-sha256 header, which curl then signs too.
    local object="$REKINDLE_TEST_S3_ENDPOINT/$REKINDLE_TEST_S3_BUCKET/start-services-check.txt"
    local -a signed=(--aws-sigv4 "aws:amz:$REKINDLE_TEST_S3_REGION:s3"
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --max-time 10)
    local -a good=("${signed[@]}"
        --user "$REKINDLE_TEST_S3_ACCESS_KEY:$REKINDLE_TEST_S3_SECRET_KEY")
    local -a bad=("${signed[@]}" --user "$REKINDLE_TEST_S3_ACCESS_KEY:not-the-secret")
    curl -fsS "${good[@]}" -X PUT --data-binary 'rekindle' "$object" >/dev/null &&
        [[ $(curl -fsS "${good[@]}" "$object") == rekindle ]] ||
        rekindle_services_fail "a signed PUT and GET through s3s-fs failed" || return
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$object" || true)
    [[ $status == 403 ]] ||
        rekindle_services_fail "s3s-fs answered $status to an unsigned GET, not 403" || return
    status=$(curl -s -o /dev/null -w '%{http_code}' "${bad[@]}" "$object" || true)
    [[ $status == 403 ]] ||
        rekindle_services_fail "s3s-fs answered $status to a wrongly signed GET, not 403" ||
        return
    curl -fsS "${good[@]}" -X DELETE "$object" >/dev/null ||
        rekindle_services_fail "a signed DELETE through s3s-fs failed" || return

    echo "    s3s-fs: pid $REKINDLE_S3S_PID at $REKINDLE_TEST_S3_ENDPOINT, bucket" \
        "$REKINDLE_TEST_S3_BUCKET (signed round trip ok; unsigned and wrong secret: 403)"
}

rekindle_stop_services() {
    if [[ -n ${REKINDLE_S3S_PID:-} ]] && kill -0 "$REKINDLE_S3S_PID" 2>/dev/null; then
        kill "$REKINDLE_S3S_PID" 2>/dev/null || true
        wait "$REKINDLE_S3S_PID" 2>/dev/null || true
    fi
    REKINDLE_S3S_PID=
    if [[ -n ${REKINDLE_TEST_TMP:-} && -d $REKINDLE_TEST_TMP ]]; then
        rm -rf -- "$REKINDLE_TEST_TMP"
    fi
    REKINDLE_TEST_TMP=
}

rekindle_start_services() {
    echo "==> services: PostgreSQL and s3s-fs"
    REKINDLE_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rekindle-test.XXXXXX")
    export REKINDLE_TEST_TMP
    rekindle_start_postgres || return
    rekindle_start_s3s || return
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    trap rekindle_stop_services EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    rekindle_start_services
    echo "==> services are up; in another terminal:"
    for name in REKINDLE_TEST_PG_URL REKINDLE_TEST_S3_ENDPOINT REKINDLE_TEST_S3_BUCKET \
        REKINDLE_TEST_S3_ACCESS_KEY REKINDLE_TEST_S3_SECRET_KEY REKINDLE_TEST_S3_REGION; do
        printf "export %s='%s'\n" "$name" "${!name}"
    done
    echo "==> press Ctrl-C to stop s3s-fs"
    wait "$REKINDLE_S3S_PID"
else
    [[ -n $(trap -p EXIT) ]] || trap rekindle_stop_services EXIT
    rekindle_start_services
fi
