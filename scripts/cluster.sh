#!/usr/bin/env bash
# `make cluster`: the portal clustered on this machine, beside the single-node stack of `make run`,
# on loopback ports of its own: three RabbitMQ nodes (quorum queues with three members), a
# PostgreSQL primary and its streaming replica, two Keycloak nodes on one database, two replicas
# of each service, two gateways, and HAProxy in front of the brokers, Keycloak and the gateways,
# with health checks.
#
#   scripts/cluster.sh start    start what does not run yet, load the demo, say what runs where
#   scripts/cluster.sh stop     stop, by pid, what this script started (data kept)
#   scripts/cluster.sh remove   stop, then delete the cluster's data (a fresh one next start)
#   scripts/cluster.sh status   what answers where
#
# Everything lives in $PORTAL_STATE_DIR/cluster: pids, logs, and cluster.env, the environment a
# client of the cluster (the fault tests in tests/faults/cluster) reads.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
single_state="$PORTAL_STATE_DIR"
cluster_dir="$single_state/cluster"
mkdir -p -m 700 "$cluster_dir"
PORTAL_STATE_DIR="$cluster_dir" # the helpers' pids and logs: the cluster's own
. "$here/processes.sh"
PORTAL_STATE_DIR="$single_state"
cd "$PORTAL_REPO_DIR"
python="$PORTAL_VENV/bin/python"
pg_bin=/usr/lib/postgresql/15/bin
is_root() { [ "$(id -u)" = 0 ]; }

# --- Ports (docs/conventions.md: the single-node stack holds 5672, 55432, 8000, 8100-8106...) ---
rabbit_nodes=(1 2 3)
rabbit_amqp_port() { echo $((5680 + $1)); }       # 5681-5683
rabbit_http_port() { echo $((15680 + $1)); }      # 15681-15683
rabbit_prometheus_port() { echo $((15780 + $1)); } # 15781-15783
rabbit_node() { echo "portal-cluster-$1@localhost"; }
amqp_balancer_port=5680
pg_primary_port=55442
pg_replica_port=55443
keycloak_nodes=(1 2)
keycloak_port() { echo $((8180 + $1)); }         # 8181, 8182
keycloak_mgmt_port() { echo $((9100 + $1)); }    # 9101, 9102
keycloak_cluster_port() { echo $((7800 + $1)); } # 7801, 7802 (Infinispan over JGroups)
keycloak_balancer_port=8190
smtp_port=8026
services=(identity linking attendance grades billing notices)
replicas=(a b)
ops_port() { # ops_port <service> <replica>
    local i
    for i in "${!services[@]}"; do [ "${services[$i]}" = "$1" ] && break; done
    if [ "$2" = a ]; then echo $((8201 + i)); else echo $((8211 + i)); fi
}
gateway_port() { if [ "$1" = a ]; then echo 8001; else echo 8002; fi }
gateway_ops_port() { if [ "$1" = a ]; then echo 8200; else echo 8210; fi } # beside the services' (ops_port)
gateway_balancer_port=8010
balancer_stats_port=8011

if is_root; then
    replica_data=/var/lib/postgresql/portail-parents-$pg_replica_port
else
    replica_data="$cluster_dir/postgres-replica"
fi
keycloak_home="$PORTAL_CACHE_DIR/keycloak/cluster-keycloak-$PORTAL_KEYCLOAK_VERSION"

# --- The cluster's environment: what its processes and its clients read --------------------------
database_url() { # the multi-host URL of a service's database: whichever of the two is the primary
    echo "postgresql+psycopg://$PORTAL_PG_USER:$PORTAL_PG_PASSWORD@/$1?host=127.0.0.1:$pg_primary_port&host=127.0.0.1:$pg_replica_port&target_session_attrs=read-write"
}
write_cluster_env() {
    local node service replica
    entry() { printf '%s="%s"\n' "$1" "$2"; } # sourced by the shell, read by the tests
    (
        umask 077
        {
            entry PORTAL_CLUSTER_DIR "$cluster_dir"
            entry PORTAL_AMQP_URL "amqp://$PORTAL_AMQP_USER:$PORTAL_AMQP_PASSWORD@127.0.0.1:$amqp_balancer_port/$PORTAL_AMQP_VHOST"
            entry PORTAL_AMQP_URL_BASE "amqp://$PORTAL_AMQP_USER:$PORTAL_AMQP_PASSWORD@127.0.0.1:$amqp_balancer_port"
            entry PORTAL_RABBIT_HTTP_URL "http://127.0.0.1:$(rabbit_http_port 1)"
            entry PORTAL_CLUSTER_RABBIT_NODES "$(for node in "${rabbit_nodes[@]}"; do
                printf '%s ' "$(rabbit_node "$node"),$(rabbit_amqp_port "$node"),$(rabbit_http_port "$node")"; done)"
            entry PORTAL_PG_URL_BASE "postgresql+psycopg://$PORTAL_PG_USER:$PORTAL_PG_PASSWORD@127.0.0.1:$pg_primary_port"
            for service in "${services[@]}"; do entry "PORTAL_CLUSTER_DATABASE_URL_${service^^}" "$(database_url "$service")"; done
            entry PORTAL_CLUSTER_OPS_URLS "$(for replica in "${replicas[@]}"; do for service in "${services[@]}"; do
                printf '%s=http://127.0.0.1:%s ' "$service-$replica" "$(ops_port "$service" "$replica")"; done
                printf 'gateway-%s=http://127.0.0.1:%s ' "$replica" "$(gateway_ops_port "$replica")"; done)"
            entry PORTAL_CLUSTER_PG_PORTS "$pg_primary_port $pg_replica_port"
            entry PORTAL_CLUSTER_PG_DATA_DIRS "$(pg_primary_data) $replica_data"
            entry PORTAL_KEYCLOAK_URL "http://127.0.0.1:$keycloak_balancer_port"
            entry PORTAL_KEYCLOAK_PORT "$keycloak_balancer_port"
            entry PORTAL_CLUSTER_KEYCLOAK_URLS "$(for node in "${keycloak_nodes[@]}"; do
                printf 'http://127.0.0.1:%s ' "$(keycloak_port "$node")"; done)"
            entry PORTAL_SMTP_PORT "$smtp_port"
            entry PORTAL_MAIL_DIR "$cluster_dir/mail"
            entry PORTAL_GATEWAY_URL "http://127.0.0.1:$gateway_balancer_port"
            entry PORTAL_PUBLIC_URL "http://127.0.0.1:$gateway_balancer_port"
            entry PORTAL_CLUSTER_GATEWAY_URLS "http://127.0.0.1:$(gateway_port a) http://127.0.0.1:$(gateway_port b)"
            # HAProxy appends the client's address to X-Forwarded-For.
            entry PORTAL_TRUSTED_PROXIES "1"
        } >"$cluster_dir/cluster.env"
    )
    set -a
    . "$cluster_dir/cluster.env"
    set +a
}

# servers.sh for one server of the cluster, with a state dir, ports and data of its own (the
# passwords stay the single stack's: the same users, made by the same script).
servers_as() { # servers_as <state name> <start|stop> <server> [VAR=value...]
    local name=$1 action=$2 server=$3
    shift 3
    mkdir -p "$cluster_dir/$name"
    env -u PORTAL_PG_DATA_DIR -u PORTAL_RABBIT_DATA_DIR -u PORTAL_RABBIT_DIST_PORT -u PORTAL_MAIL_DIR \
        -u PORTAL_RABBIT_NODE PORTAL_STATE_DIR="$cluster_dir/$name" "$@" \
        bash "$here/servers.sh" "$action" "$server" >>"$log_dir/servers.log" 2>&1 \
        || die "servers.sh $action $server ($name) failed; see $log_dir/servers.log"
}

# --- RabbitMQ: three nodes joined into one cluster -------------------------------------------
rabbit_vars() { # the servers.sh settings of node <n>
    echo PORTAL_AMQP_PORT="$(rabbit_amqp_port "$1")" PORTAL_RABBIT_HTTP_PORT="$(rabbit_http_port "$1")" \
        PORTAL_RABBIT_PROMETHEUS_PORT="$(rabbit_prometheus_port "$1")" PORTAL_RABBIT_NODE="$(rabbit_node "$1")"
}
rabbit_data() { if is_root; then echo "/var/lib/rabbitmq/portail-parents-$(rabbit_amqp_port "$1")"; else echo "$cluster_dir/rabbit$1/rabbitmq"; fi; }
rabbitmqctl_on() { # rabbitmqctl_on <n> <arguments...>
    local n=$1 ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
    shift
    is_root && ctl=/usr/sbin/rabbitmqctl
    env ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="$(rabbit_node "$n")" "$ctl" -q -n "$(rabbit_node "$n")" "$@"
}
rabbit_api() { # rabbit_api <method> <path> [body]: prints the HTTP status (node 1's API)
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -u "$PORTAL_AMQP_USER:$PORTAL_AMQP_PASSWORD" \
        -H 'content-type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$(rabbit_http_port 1)/api$2" || true
}

start_rabbitmq() {
    local n launched=()
    for n in "${rabbit_nodes[@]}"; do
        # shellcheck disable=SC2046
        servers_as "rabbit$n" start rabbitmq $(rabbit_vars "$n") &
        launched+=($!)
    done
    for n in "${launched[@]}"; do wait "$n" || exit 1; done
    for n in "${rabbit_nodes[@]:1}"; do
        if ! rabbitmqctl_on "$n" cluster_status --formatter json 2>/dev/null | grep -q "$(rabbit_node 1)"; then
            say "joining RabbitMQ node $n to node 1"
            { rabbitmqctl_on "$n" stop_app && rabbitmqctl_on "$n" join_cluster "$(rabbit_node 1)" \
                && rabbitmqctl_on "$n" start_app; } >>"$log_dir/servers.log" 2>&1 \
                || die "RabbitMQ node $n could not join node 1; see $log_dir/servers.log"
        fi
    done
    # Classic queues (nameko's RPC queues, the retry queues) mirrored on every node, so that
    # losing a node loses none. (A quorum queue's leader is the node its declaring client is
    # connected to: the balancer spreads the services' connections, so it spreads the leaders; a
    # policy that also names a leader locator is not applied to classic queues by RabbitMQ 3.10.)
    case $(rabbit_api PUT "/policies/$PORTAL_AMQP_VHOST/cluster" '{"pattern":".*","apply-to":"queues","priority":0,
            "definition":{"ha-mode":"all","ha-sync-mode":"automatic"}}') in
        201 | 204) ;;
        *) die "could not set the cluster's queue policy" ;;
    esac
}

# --- PostgreSQL: a primary and its streaming replica ------------------------------------------
pg_primary_data() { if is_root; then echo "/var/lib/postgresql/portail-parents-$pg_primary_port"; else echo "$cluster_dir/pg-primary/postgres"; fi; }
as_postgres() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pg_answers() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1"; }

start_replica() {
    say "starting the PostgreSQL replica on 127.0.0.1:$pg_replica_port"
    as_postgres "$pg_bin/pg_ctl" start -D "$replica_data" -w -t 60 -s \
        -o "-c listen_addresses=127.0.0.1 -p $pg_replica_port -k $replica_data -c max_connections=$PORTAL_PG_MAX_CONNECTIONS" \
        >>"$log_dir/postgres-replica.log" 2>&1 9>&- || die "the PostgreSQL replica did not start; see $log_dir/postgres-replica.log"
    head -1 "$replica_data/postmaster.pid" >"$pid_dir/postgres-replica.pid"
}

start_postgres() {
    local log="$log_dir/postgres-replica.log"
    if [ -f "$replica_data/PG_VERSION" ] && [ ! -f "$replica_data/standby.signal" ]; then
        # Promoted by a failover: the former primary is behind it and must never serve again.
        pg_answers "$pg_replica_port" || start_replica
        say "note: the replica was promoted and runs alone; scripts/cluster.sh remove, then start, for a new pair"
        return 0
    fi
    servers_as pg-primary start postgresql PORTAL_PG_PORT="$pg_primary_port"
    pg_answers "$pg_replica_port" && return 0
    if [ ! -f "$replica_data/PG_VERSION" ]; then
        say "making the streaming replica of PostgreSQL in $replica_data"
        if is_root; then install -d -o postgres -g postgres -m 700 "$replica_data"; else mkdir -p -m 700 "$replica_data"; fi
        # Over the primary's socket as the superuser; -R writes primary_conninfo and standby.signal.
        as_postgres "$pg_bin/psql" -X -q -h "$(pg_primary_data)" -p "$pg_primary_port" -d postgres \
            -c "SELECT pg_drop_replication_slot('cluster_replica') FROM pg_replication_slots WHERE slot_name = 'cluster_replica'" \
            >>"$log" 2>&1
        as_postgres "$pg_bin/pg_basebackup" -h "$(pg_primary_data)" -p "$pg_primary_port" -D "$replica_data" \
            -R -X stream -c fast -C -S cluster_replica >>"$log" 2>&1 \
            || die "pg_basebackup failed; see $log"
    fi
    start_replica
}

# --- Keycloak: two nodes on the cluster's database, one Infinispan cluster (JDBC-ping) ----------
keycloak_ready_on() { curl -sf -o /dev/null "http://127.0.0.1:$(keycloak_mgmt_port "$1")/health/ready"; }

build_keycloak() {
    # A copy of the installed Keycloak built for PostgreSQL: the single node's build (dev-file)
    # stays as it is.
    local build=(--db=postgres --health-enabled=true --metrics-enabled=true)
    [ -x "$PORTAL_KEYCLOAK_HOME/bin/kc.sh" ] || die "Keycloak is not installed in $PORTAL_KEYCLOAK_HOME; run make servers"
    [ "$(cat "$keycloak_home/.portal-build" 2>/dev/null)" = "${build[*]}" ] && return 0
    say "building the cluster's Keycloak (${build[*]})"
    rm -rf "$keycloak_home"
    cp -a "$PORTAL_KEYCLOAK_HOME" "$keycloak_home"
    rm -f "$keycloak_home/.portal-build"
    JAVA_HOME="$PORTAL_JAVA_HOME" "$keycloak_home/bin/kc.sh" build "${build[@]}" >>"$log_dir/keycloak-build.log" 2>&1 \
        || die "kc.sh build failed; see $log_dir/keycloak-build.log"
    echo "${build[*]}" >"$keycloak_home/.portal-build"
}

launch_keycloak() { # launch_keycloak <n>
    local n=$1
    recorded_pid "keycloak-$n" kc.sh >/dev/null && return 0
    # The realms, with the web client's addresses those of the cluster's balancer.
    rm -rf "$keycloak_home/data/import"
    mkdir -p "$keycloak_home/data/import"
    for realm in deploy/keycloak/*.json; do
        sed "s|127.0.0.1:8000|127.0.0.1:$gateway_balancer_port|g; s|localhost:8000|localhost:$gateway_balancer_port|g" \
            "$realm" >"$keycloak_home/data/import/$(basename "$realm")"
    done
    say "starting Keycloak node $n on 127.0.0.1:$(keycloak_port "$n")"
    KC_BOOTSTRAP_ADMIN_USERNAME="$PORTAL_KEYCLOAK_ADMIN" KC_BOOTSTRAP_ADMIN_PASSWORD="$PORTAL_KEYCLOAK_ADMIN_PASSWORD" \
        JAVA_HOME="$PORTAL_JAVA_HOME" \
        setsid "$keycloak_home/bin/kc.sh" start --optimized --import-realm \
        --http-enabled=true --http-host=127.0.0.1 --http-port="$(keycloak_port "$n")" \
        --http-management-port="$(keycloak_mgmt_port "$n")" --hostname-strict=false --cache=ispn \
        --db-url="jdbc:postgresql://127.0.0.1:$pg_primary_port,127.0.0.1:$pg_replica_port/keycloak?targetServerType=primary" \
        --db-username="$PORTAL_PG_USER" --db-password="$PORTAL_PG_PASSWORD" \
        --cache-embedded-network-bind-address=127.0.0.1 --cache-embedded-network-bind-port="$(keycloak_cluster_port "$n")" \
        --spi-theme--folder--dir="$PORTAL_REPO_DIR/deploy/keycloak/themes" \
        >>"$log_dir/keycloak-$n.log" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_dir/keycloak-$n.pid"
}

wait_keycloak() { # wait_keycloak <n>
    wait_until "Keycloak node $1" 600 "$log_dir/keycloak-$1.log" "$(cat "$pid_dir/keycloak-$1.pid")" keycloak_ready_on "$1"
}

start_keycloak() {
    build_keycloak
    # On whichever server is the primary (the replica, once promoted).
    local primary=(env PGPASSWORD="$PORTAL_PG_PASSWORD" PGTARGETSESSIONATTRS=read-write PGHOST=127.0.0.1,127.0.0.1
                   PGPORT="$pg_primary_port,$pg_replica_port" PGUSER="$PORTAL_PG_USER")
    "${primary[@]}" "$pg_bin/psql" -X -q -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = 'keycloak'" \
        | grep -q 1 || "${primary[@]}" "$pg_bin/createdb" keycloak
    # One after the other: the first imports the realms, the second finds them there.
    local n
    for n in "${keycloak_nodes[@]}"; do
        keycloak_ready_on "$n" && continue
        launch_keycloak "$n"
        wait_keycloak "$n"
    done
}

# --- Services and gateways -------------------------------------------------------------------
launch() { # launch <name> <ready url> <VAR=value...> -- <python -m arguments...>
    local name=$1 ready=$2 vars=()
    shift 2
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    recorded_pid "$name" "-m $*" >/dev/null && return 0
    answers_http "$ready" && die "$ready already answers, but not for a $name started here"
    say "starting $name"
    env "${vars[@]}" setsid "$python" -m "$@" >>"$log_dir/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_dir/$name.pid"
}
ready() { wait_until "$1" 120 "$log_dir/$1.log" "$(cat "$pid_dir/$1.pid")" answers_http "$2"; }

start_services() {
    local service replica
    migrate_all -migrate database_url "${services[@]}"
    for replica in "${replicas[@]}"; do
        for service in "${services[@]}"; do
            launch "$service-$replica" "http://127.0.0.1:$(ops_port "$service" "$replica")/readyz" \
                PORTAL_DATABASE_URL="$(database_url "$service")" PORTAL_OPS_PORT="$(ops_port "$service" "$replica")" \
                -- servicekit run "$service"
        done
    done
    for replica in "${replicas[@]}"; do
        for service in "${services[@]}"; do
            ready "$service-$replica" "http://127.0.0.1:$(ops_port "$service" "$replica")/readyz"
        done
    done
    for replica in "${replicas[@]}"; do
        launch "gateway-$replica" "http://127.0.0.1:$(gateway_ops_port "$replica")/readyz" \
            PORTAL_GATEWAY_PORT="$(gateway_port "$replica")" PORTAL_OPS_PORT="$(gateway_ops_port "$replica")" -- gateway
    done
    for replica in "${replicas[@]}"; do ready "gateway-$replica" "http://127.0.0.1:$(gateway_ops_port "$replica")/readyz"; done
}

# --- HAProxy: the one address of the brokers, of Keycloak and of the gateways ------------------
start_balancer() {
    local cfg="$cluster_dir/haproxy.cfg" n replica
    command -v haproxy >/dev/null || die "haproxy is not installed; run scripts/setup.sh"
    {
        cat <<CFG
global
    # Within the open-files limit of a usual shell (two descriptors a connection).
    maxconn 8000
defaults
    timeout connect 2s
    # Long-lived: AMQP connections (30 s heartbeats) and the gateways' event streams.
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    retries 3
    option redispatch
    # A request that meets a node that just died is sent again to the other (the balancer
    # holds the request until the answer starts).
    retry-on conn-failure empty-response response-timeout 502 503
listen stats
    bind 127.0.0.1:$balancer_stats_port
    mode http
    stats enable
    stats uri /
# A broker node that stops answering loses its connections at once: its clients reconnect to
# the others.
listen amqp
    bind 127.0.0.1:$amqp_balancer_port
    mode tcp
    balance roundrobin
    default-server check inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
CFG
        for n in "${rabbit_nodes[@]}"; do echo "    server rabbit$n 127.0.0.1:$(rabbit_amqp_port "$n")"; done
        cat <<CFG
listen keycloak
    bind 127.0.0.1:$keycloak_balancer_port
    mode http
    balance roundrobin
    option httpchk GET /health/ready
    default-server inter 1s fall 2 rise 2
CFG
        for n in "${keycloak_nodes[@]}"; do
            echo "    server keycloak$n 127.0.0.1:$(keycloak_port "$n") check port $(keycloak_mgmt_port "$n")"
        done
        cat <<CFG
listen gateway
    bind 127.0.0.1:$gateway_balancer_port
    mode http
    balance roundrobin
    option forwardfor
    option httpchk GET /readyz
    default-server check inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
CFG
        # Checked on its ops port, where its /readyz is.
        for replica in "${replicas[@]}"; do
            echo "    server gateway-$replica 127.0.0.1:$(gateway_port "$replica") port $(gateway_ops_port "$replica")"
        done
    } >"$cfg"
    recorded_pid haproxy haproxy >/dev/null && { kill -USR2 "$(cat "$pid_dir/haproxy.pid")" 2>/dev/null || true; return 0; }
    haproxy -c -q -f "$cfg" >>"$log_dir/haproxy.log" 2>&1 || die "haproxy refuses $cfg; see $log_dir/haproxy.log"
    say "starting HAProxy (AMQP $amqp_balancer_port, Keycloak $keycloak_balancer_port, portal $gateway_balancer_port)"
    # Master-worker in the foreground: the recorded pid is the master; USR2 reloads the file.
    setsid haproxy -W -db -f "$cfg" >>"$log_dir/haproxy.log" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_dir/haproxy.pid"
    wait_until HAProxy 20 "$log_dir/haproxy.log" "$(cat "$pid_dir/haproxy.pid")" port_answers "$amqp_balancer_port"
}

# --- commands --------------------------------------------------------------------------------
start() {
    write_cluster_env
    servers_as smtp start smtp-sink PORTAL_SMTP_PORT="$smtp_port" PORTAL_MAIL_DIR="$cluster_dir/mail"
    start_postgres
    start_rabbitmq
    start_balancer
    start_keycloak
    start_services
    say "loading the demo school and the demo parents' accounts"
    local demo_help
    demo_help=$("$python" scripts/demo.py "$cluster_dir" 2>>"$log_dir/demo.log") \
        || die "loading the demo failed; see $log_dir/demo.log"
    echo
    echo "Portail Parents runs clustered on this machine:"
    echo "  portal (web + API)   $PORTAL_GATEWAY_URL (HAProxy; gateways $PORTAL_CLUSTER_GATEWAY_URLS)"
    echo "  balancer statistics  http://127.0.0.1:$balancer_stats_port/"
    echo "  services             two replicas each, ops ports 8201-8206 and 8211-8216 (gateways' 8200, 8210)"
    echo "  Keycloak             $PORTAL_KEYCLOAK_URL/admin (user $PORTAL_KEYCLOAK_ADMIN; nodes $PORTAL_CLUSTER_KEYCLOAK_URLS)"
    echo "  RabbitMQ             amqp://127.0.0.1:$amqp_balancer_port/$PORTAL_AMQP_VHOST (HAProxy), nodes on 5681-5683," \
        "management $PORTAL_RABBIT_HTTP_URL (user $PORTAL_AMQP_USER)"
    echo "  PostgreSQL           primary 127.0.0.1:$pg_primary_port, streaming replica 127.0.0.1:$pg_replica_port"
    echo "  mail (SMTP sink)     127.0.0.1:$smtp_port, each message as a file in $PORTAL_MAIL_DIR"
    echo "  passwords            $single_state/secrets.env (the single-node stack's)"
    echo "  logs                 $log_dir"
    echo "Log in at $PORTAL_GATEWAY_URL as a demo parent (email, password, what they see):"
    echo "$demo_help"
    echo "Stop it: make stop (or scripts/cluster.sh stop)"
}

stop() {
    local n service replica
    for replica in "${replicas[@]}"; do stop_recorded "gateway-$replica" "-m gateway" TERM 30; done
    for replica in "${replicas[@]}"; do
        for service in "${services[@]}"; do stop_recorded "$service-$replica" "-m servicekit run $service" TERM 30; done
    done
    for n in "${keycloak_nodes[@]}"; do stop_recorded "keycloak-$n" kc.sh TERM 60; done
    stop_recorded haproxy haproxy TERM 10
    for n in "${rabbit_nodes[@]}"; do
        [ -d "$cluster_dir/rabbit$n" ] || continue
        # shellcheck disable=SC2046
        servers_as "rabbit$n" stop rabbitmq $(rabbit_vars "$n")
    done
    stop_recorded postgres-replica postgres INT 60
    [ -d "$cluster_dir/pg-primary" ] && servers_as pg-primary stop postgresql PORTAL_PG_PORT="$pg_primary_port"
    [ -d "$cluster_dir/smtp" ] && servers_as smtp stop smtp-sink PORTAL_SMTP_PORT="$smtp_port"
    return 0
}

remove() {
    stop
    local n
    for n in "${rabbit_nodes[@]}"; do rm -rf "$(rabbit_data "$n")"; done
    rm -rf "$(pg_primary_data)" "$replica_data"
    # The state dir without its log of what happened.
    find "$cluster_dir" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
    say "removed the cluster's data"
}

status() {
    local n service replica
    line() { printf '  %-22s %-26s %s\n' "$1" "$2" "$(if "${@:3}"; then echo answers; else echo DOWN; fi)"; }
    for n in "${rabbit_nodes[@]}"; do line "rabbitmq $n" "127.0.0.1:$(rabbit_amqp_port "$n")" port_answers "$(rabbit_amqp_port "$n")"; done
    line "postgresql primary" "127.0.0.1:$pg_primary_port" pg_answers "$pg_primary_port"
    line "postgresql replica" "127.0.0.1:$pg_replica_port" pg_answers "$pg_replica_port"
    for n in "${keycloak_nodes[@]}"; do line "keycloak $n" "127.0.0.1:$(keycloak_port "$n")" keycloak_ready_on "$n"; done
    for replica in "${replicas[@]}"; do
        for service in "${services[@]}"; do
            line "$service $replica" "127.0.0.1:$(ops_port "$service" "$replica")" answers_http "http://127.0.0.1:$(ops_port "$service" "$replica")/readyz"
        done
    done
    for replica in "${replicas[@]}"; do
        line "gateway $replica" "127.0.0.1:$(gateway_port "$replica")" answers_http "http://127.0.0.1:$(gateway_ops_port "$replica")/readyz"
    done
    # Through the balancer, which sends only to a gateway whose /readyz answers.
    line balancer "127.0.0.1:$gateway_balancer_port" answers_http "http://127.0.0.1:$gateway_balancer_port/api/v1/config"
    line "smtp sink" "127.0.0.1:$smtp_port" port_answers "$smtp_port"
}

exec 9>"$cluster_dir/.cluster.lock"
case "${1:-}" in
    start) flock 9; start ;;
    stop) flock 9; stop ;;
    remove) flock 9; remove ;;
    status) status ;;
    *) echo "usage: $0 start|stop|remove|status" >&2; exit 2 ;;
esac
