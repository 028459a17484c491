#!/usr/bin/env bash
# The local servers of the portal: PostgreSQL, RabbitMQ, the SMTP sink and Keycloak, all on loopback.
#
#   scripts/servers.sh start    start each server that does not already answer, wait until it does
#   scripts/servers.sh stop     stop, by pid, the servers this script started
#   scripts/servers.sh status   what answers where
#
# start and stop may name some servers only (postgresql, rabbitmq, smtp-sink, keycloak), e.g. a
# private RabbitMQ and PostgreSQL on other ports, with their own state dir, for fault tests.
#
# Pids in $PORTAL_STATE_DIR/pids/, logs in $PORTAL_STATE_DIR/logs/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
. "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

mkdir -p "$PORTAL_MAIL_DIR"
pg_bin=/usr/lib/postgresql/15/bin
keycloak_state="$PORTAL_STATE_DIR/keycloak"
# A second node on the machine needs its own name (and PORTAL_RABBIT_DIST_PORT).
rabbitmq_node="${PORTAL_RABBIT_NODE:-portal@localhost}"
is_root() { [ "$(id -u)" = 0 ]; }

# --- PostgreSQL ------------------------------------------------------------------------------
# As root the cluster belongs to the postgres user, as Debian's own clusters do (run from /, since
# the current directory may be private to us).
as_postgres() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

postgres_answers() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PORTAL_PG_PORT"; }

postgres_portal_login() {
    PGPASSWORD="$PORTAL_PG_PASSWORD" "$pg_bin/psql" -X -q -tA -h 127.0.0.1 -p "$PORTAL_PG_PORT" \
        -U "$PORTAL_PG_USER" -d postgres -c 'select 1' >/dev/null 2>&1
}

start_postgres() {
    local log="$log_dir/postgresql.log" data="$PORTAL_PG_DATA_DIR"
    if ! postgres_answers; then
        if [ ! -f "$data/PG_VERSION" ]; then
            say "creating a PostgreSQL cluster in $data"
            if is_root; then install -d -o postgres -g postgres -m 700 "$data"; else mkdir -p -m 700 "$data"; fi
            as_postgres "$pg_bin/initdb" -D "$data" --auth-local=peer --auth-host=scram-sha-256 \
                --encoding=UTF8 --locale=C.UTF-8 >>"$log" 2>&1 || die "initdb failed; see $log"
        fi
        say "starting PostgreSQL on 127.0.0.1:$PORTAL_PG_PORT"
        # Without -l the server writes to pg_ctl's stdout: the log file opened here, by us.
        as_postgres "$pg_bin/pg_ctl" start -D "$data" -w -t 60 -s \
            -o "-c listen_addresses=127.0.0.1 -p $PORTAL_PG_PORT -k $data -c max_connections=$PORTAL_PG_MAX_CONNECTIONS" \
            >>"$log" 2>&1 9>&- \
            || die "PostgreSQL did not start; see $log"
        head -1 "$data/postmaster.pid" >"$pid_dir/postgresql.pid"
    fi
    # On our own cluster (its socket is in the data dir), make sure the role matches secrets.env.
    if [ -S "$data/.s.PGSQL.$PORTAL_PG_PORT" ]; then
        as_postgres "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$PORTAL_PG_PORT" -d postgres \
            >/dev/null <<SQL || die "could not set up the PostgreSQL role $PORTAL_PG_USER; see $log"
SELECT 'CREATE ROLE $PORTAL_PG_USER' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PORTAL_PG_USER')
\gexec
ALTER ROLE $PORTAL_PG_USER LOGIN CREATEDB PASSWORD '$PORTAL_PG_PASSWORD';
SQL
    fi
    postgres_portal_login || die "PostgreSQL on 127.0.0.1:$PORTAL_PG_PORT refuses role $PORTAL_PG_USER with the \
password in $PORTAL_STATE_DIR/secrets.env: another server holds that port? (set PORTAL_PG_PORT)"
}

# --- RabbitMQ --------------------------------------------------------------------------------
rabbitmq_env() {
    env RABBITMQ_NODENAME="$rabbitmq_node" \
        RABBITMQ_DIST_PORT="$PORTAL_RABBIT_DIST_PORT" \
        RABBITMQ_CONFIG_FILE="$PORTAL_RABBIT_DATA_DIR/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$PORTAL_RABBIT_DATA_DIR/advanced.config" \
        RABBITMQ_CONF_ENV_FILE="$PORTAL_RABBIT_DATA_DIR/rabbitmq-env.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$PORTAL_RABBIT_DATA_DIR/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$PORTAL_RABBIT_DATA_DIR/mnesia" \
        RABBITMQ_LOG_BASE="$PORTAL_RABBIT_DATA_DIR/log" \
        RABBITMQ_PID_FILE="$PORTAL_RABBIT_DATA_DIR/rabbitmq.pid" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        "$@"
}

# Debian's wrappers in /usr/sbin switch from root to the rabbitmq user themselves; a normal user
# runs the real scripts directly, with everything in the state dir.
rabbitmq_program() { if is_root; then echo "/usr/sbin/$1"; else echo "/usr/lib/rabbitmq/bin/$1"; fi; }

rabbitmq_api() { # rabbitmq_api <method> <path>: prints the HTTP status
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -u "$PORTAL_AMQP_USER:$PORTAL_AMQP_PASSWORD" \
        -H 'content-type: application/json' ${3:+--data "$3"} "$PORTAL_RABBIT_HTTP_URL$2" || true
}

rabbitmq_write_config() {
    local dir="$PORTAL_RABBIT_DATA_DIR"
    if is_root; then install -d -o rabbitmq -g rabbitmq -m 750 "$dir"; else mkdir -p -m 700 "$dir"; fi
    # The first boot creates the user portal and the vhost portal, and never creates guest.
    (
        umask 027
        cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$PORTAL_AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $PORTAL_RABBIT_HTTP_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $PORTAL_RABBIT_PROMETHEUS_PORT
log.console = true
log.console.level = info
log.file = false
default_vhost = $PORTAL_AMQP_VHOST
default_user = $PORTAL_AMQP_USER
default_pass = $PORTAL_AMQP_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
CONF
        echo '[rabbitmq_management,rabbitmq_prometheus].' >"$dir/enabled_plugins"
    )
    if is_root; then chgrp rabbitmq "$dir/rabbitmq.conf" "$dir/enabled_plugins"; fi
}

rabbitmq_ready() { [ "$(rabbitmq_api GET /api/overview)" != 000 ] && port_answers "$PORTAL_AMQP_PORT"; }

start_rabbitmq() {
    local log="$log_dir/rabbitmq.log" launcher epmd_was_up=0
    if ! port_answers "$PORTAL_AMQP_PORT"; then
        rabbitmq_write_config
        rm -f "$PORTAL_RABBIT_DATA_DIR/rabbitmq.pid"
        epmd -names >/dev/null 2>&1 && epmd_was_up=1
        say "starting RabbitMQ on 127.0.0.1:$PORTAL_AMQP_PORT (management $PORTAL_RABBIT_HTTP_PORT)"
        rabbitmq_env setsid "$(rabbitmq_program rabbitmq-server)" >>"$log" 2>&1 </dev/null 9>&- &
        launcher=$!
        wait_until RabbitMQ 120 "$log" "$launcher" rabbitmq_ready
        cp "$PORTAL_RABBIT_DATA_DIR/rabbitmq.pid" "$pid_dir/rabbitmq.pid"
        # The Erlang port mapper comes up with the first node; it is ours to stop only if we started it.
        if [ $epmd_was_up = 0 ]; then pgrep -n -x epmd >"$pid_dir/epmd.pid" || rm -f "$pid_dir/epmd.pid"; fi
    fi
    if [ "$(rabbitmq_api GET /api/whoami)" != 200 ]; then
        # A node whose data predates secrets.env: set the user again through rabbitmqctl (slow, rare).
        [ -d "$PORTAL_RABBIT_DATA_DIR/mnesia" ] || die "RabbitMQ on 127.0.0.1:$PORTAL_AMQP_PORT refuses user \
$PORTAL_AMQP_USER: another server holds that port? (stop it or set PORTAL_AMQP_PORT)"
        say "setting RabbitMQ user $PORTAL_AMQP_USER"
        local ctl
        ctl=$(rabbitmq_program rabbitmqctl)
        rabbitmq_env "$ctl" -q add_user "$PORTAL_AMQP_USER" "$PORTAL_AMQP_PASSWORD" >/dev/null 2>&1 \
            || rabbitmq_env "$ctl" -q change_password "$PORTAL_AMQP_USER" "$PORTAL_AMQP_PASSWORD" >>"$log" 2>&1 \
            || die "could not set RabbitMQ user $PORTAL_AMQP_USER; see $log"
        rabbitmq_env "$ctl" -q set_user_tags "$PORTAL_AMQP_USER" administrator >>"$log" 2>&1
    fi
    case $(rabbitmq_api PUT "/api/vhosts/$PORTAL_AMQP_VHOST") in
        201 | 204) ;;
        *) die "could not create RabbitMQ vhost $PORTAL_AMQP_VHOST" ;;
    esac
    case $(rabbitmq_api PUT "/api/permissions/$PORTAL_AMQP_VHOST/$PORTAL_AMQP_USER" \
        '{"configure":".*","write":".*","read":".*"}') in
        201 | 204) ;;
        *) die "could not grant user $PORTAL_AMQP_USER the vhost $PORTAL_AMQP_VHOST" ;;
    esac
    # guest/guest is a well-known password: it must not exist, even on loopback.
    case $(rabbitmq_api DELETE /api/users/guest) in
        204 | 404) ;;
        *) die "could not remove RabbitMQ's guest user" ;;
    esac
    # Each service, the gateway and each of the demo's school boards speaks in its own name, with
    # permissions on its own exchanges and queues only (docs/security.md).
    "$PORTAL_VENV/bin/python" "$PORTAL_REPO_DIR/scripts/broker_users.py" >>"$log" 2>&1 \
        || die "could not set RabbitMQ's users of the portal; see $log"
}

# --- SMTP sink -------------------------------------------------------------------------------
start_smtp_sink() {
    local log="$log_dir/smtp-sink.log" pid
    port_answers "$PORTAL_SMTP_PORT" && return 0
    say "starting the SMTP sink on 127.0.0.1:$PORTAL_SMTP_PORT (mail in $PORTAL_MAIL_DIR)"
    setsid "$PORTAL_VENV/bin/python" "$PORTAL_REPO_DIR/scripts/smtp_sink.py" --host 127.0.0.1 \
        --port "$PORTAL_SMTP_PORT" --dir "$PORTAL_MAIL_DIR" >>"$log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$pid_dir/smtp-sink.pid"
    wait_until "the SMTP sink" 20 "$log" "$pid" port_answers "$PORTAL_SMTP_PORT"
}

# --- Keycloak --------------------------------------------------------------------------------
keycloak_ready() { curl -sf -o /dev/null "$PORTAL_KEYCLOAK_MGMT_URL/health/ready"; }

# The realms are code: when their files, or the values of the ${VARIABLES} they take from the
# environment at import, change, Keycloak starts again from an empty database and imports them
# (import skips a realm that already exists). So does a change of the login theme (Keycloak keeps
# it in memory) or of the portal's address that its links lead to.
realms_fingerprint() {
    local name
    {
        cat "$PORTAL_REPO_DIR"/deploy/keycloak/*.json
        (cd "$PORTAL_REPO_DIR/deploy/keycloak/themes" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        echo "PORTAL_PUBLIC_URL=${PORTAL_PUBLIC_URL:-}"
        for name in $(grep -oh '\${[A-Z_][A-Z0-9_]*' "$PORTAL_REPO_DIR"/deploy/keycloak/*.json | sort -u); do
            name=${name#??}
            echo "$name=${!name:-}"
        done
    } | sha256sum | cut -c1-16
}

launch_keycloak() {
    local log="$log_dir/keycloak.log" fingerprint
    fingerprint="$PORTAL_KEYCLOAK_VERSION-$(realms_fingerprint) $PORTAL_REPO_DIR"
    if keycloak_ready; then
        local imported
        imported=$(cat "$keycloak_state/realms.imported" 2>/dev/null || true)
        if ! recorded_pid keycloak kc.sh >/dev/null || [ "$imported" = "$fingerprint" ]; then
            return 0
        fi
        # Two checkouts sharing these servers would otherwise restart Keycloak in turn under each
        # other's tests: only the checkout whose realms are loaded restarts it.
        if [[ "$imported" == *" "* ]] && [ "${imported#* }" != "$PORTAL_REPO_DIR" ]; then
            say "note: Keycloak runs with the realms of ${imported#* }; \`make stop\` to load this checkout's"
            return 0
        fi
        say "the realm files changed: restarting Keycloak to import them"
        stop_recorded keycloak kc.sh TERM 60
    fi
    [ -x "$PORTAL_KEYCLOAK_HOME/bin/kc.sh" ] || die "Keycloak is not installed in $PORTAL_KEYCLOAK_HOME; \
run scripts/setup.sh"
    if [ "$(cat "$keycloak_state/realms.imported" 2>/dev/null)" != "$fingerprint" ]; then
        rm -rf "$keycloak_state/db" "$keycloak_state/realms.imported"
    fi
    mkdir -p "$keycloak_state/db"
    rm -rf "$PORTAL_KEYCLOAK_HOME/data/import"
    mkdir -p "$PORTAL_KEYCLOAK_HOME/data/import"
    cp "$PORTAL_REPO_DIR"/deploy/keycloak/*.json "$PORTAL_KEYCLOAK_HOME/data/import/"
    say "starting Keycloak on 127.0.0.1:$PORTAL_KEYCLOAK_PORT (management $PORTAL_KEYCLOAK_MGMT_PORT)"
    # Production mode over plain HTTP, bound to loopback, one node with local caches (no clustering
    # ports); the bootstrap admin is created on first start. The login theme is read from this
    # checkout (a theme folder needs no kc.sh build).
    KC_BOOTSTRAP_ADMIN_USERNAME="$PORTAL_KEYCLOAK_ADMIN" \
        KC_BOOTSTRAP_ADMIN_PASSWORD="$PORTAL_KEYCLOAK_ADMIN_PASSWORD" \
        JAVA_HOME="$PORTAL_JAVA_HOME" \
        setsid "$PORTAL_KEYCLOAK_HOME/bin/kc.sh" start --optimized --import-realm \
        --http-enabled=true --http-host=127.0.0.1 --http-port="$PORTAL_KEYCLOAK_PORT" \
        --http-management-port="$PORTAL_KEYCLOAK_MGMT_PORT" --hostname-strict=false --cache=local \
        --db-url="jdbc:h2:file:$keycloak_state/db/keycloakdb;NON_KEYWORDS=VALUE" \
        --spi-theme--folder--dir="$PORTAL_REPO_DIR/deploy/keycloak/themes" \
        >>"$log" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_dir/keycloak.pid"
    echo "$fingerprint" >"$keycloak_state/realms.pending"
}

wait_keycloak() {
    local pid
    pid=$(recorded_pid keycloak kc.sh) || { keycloak_ready && return 0; die "Keycloak is not running; see \
$log_dir/keycloak.log"; }
    wait_until Keycloak 240 "$log_dir/keycloak.log" "$pid" keycloak_ready
    if [ -f "$keycloak_state/realms.pending" ]; then
        mv "$keycloak_state/realms.pending" "$keycloak_state/realms.imported"
    fi
}

# --- commands --------------------------------------------------------------------------------
selected=() # the servers named on the command line; none means all
wants() { [ ${#selected[@]} = 0 ] || [[ " ${selected[*]} " == *" $1 "* ]]; }

start() {
    # Keycloak is the slowest: launch it first and wait for it last.
    if wants keycloak; then launch_keycloak; fi
    if wants postgresql; then start_postgres; fi
    if wants rabbitmq; then start_rabbitmq; fi
    if wants smtp-sink; then start_smtp_sink; fi
    if wants keycloak; then wait_keycloak; fi
}

stop() {
    if wants keycloak; then stop_recorded keycloak kc.sh TERM 60; fi
    if wants smtp-sink; then stop_recorded smtp-sink smtp_sink.py TERM 10; fi
    if wants rabbitmq; then stop_recorded rabbitmq beam TERM 60; fi
    # epmd serves every Erlang node of the machine: stopped with all servers only.
    if [ ${#selected[@]} = 0 ]; then stop_recorded epmd epmd TERM 10; fi
    # Fast shutdown: roll back open transactions, then a clean checkpoint.
    if wants postgresql; then stop_recorded postgresql postgres INT 60; fi
}

status() {
    local line
    report() { # report <name> <address> <answers?> <pid name> <program>
        local pid
        if pid=$(recorded_pid "$4" "$5"); then pid="started here, pid $pid"; else pid="not started here"; fi
        if "$3"; then line="answers"; else line="DOWN"; fi
        printf '  %-12s %-28s %-8s (%s)\n' "$1" "$2" "$line" "$pid"
    }
    pg_up() { postgres_answers; }
    amqp_up() { port_answers "$PORTAL_AMQP_PORT"; }
    smtp_up() { port_answers "$PORTAL_SMTP_PORT"; }
    report postgresql "127.0.0.1:$PORTAL_PG_PORT" pg_up postgresql postgres
    report rabbitmq "127.0.0.1:$PORTAL_AMQP_PORT" amqp_up rabbitmq beam
    report keycloak "$PORTAL_KEYCLOAK_URL" keycloak_ready keycloak kc.sh
    report smtp-sink "127.0.0.1:$PORTAL_SMTP_PORT" smtp_up smtp-sink smtp_sink.py
}

# One start or stop at a time: a test session and `make run` may ask together. Every server is
# launched with fd 9 closed, or it would hold the lock for as long as it runs.
exec 9>"$PORTAL_STATE_DIR/.servers.lock"
for name in "${@:2}"; do
    case $name in
        postgresql | rabbitmq | smtp-sink | keycloak) selected+=("$name") ;;
        *) echo "$0: unknown server $name (postgresql, rabbitmq, smtp-sink, keycloak)" >&2; exit 2 ;;
    esac
done
case "${1:-}" in
    start) flock 9; start ;;
    stop) flock 9; stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop [server...] | status" >&2; exit 2 ;;
esac
