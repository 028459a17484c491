#!/usr/bin/env bash
# `make run`: sets up this machine, starts the local servers, migrates and starts every service and
# the gateway, loads the demo data once, and says what runs where. Idempotent: what already runs
# is left running. `make stop` (scripts/stop.sh) stops it all.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/setup.sh"
bash "$here/servers.sh" start
. "$here/env.sh"
. "$here/processes.sh"
cd "$PORTAL_REPO_DIR"

services=(identity linking attendance grades billing notices)
demo_events="scripts/demo/events.jsonl"
python="$PORTAL_VENV/bin/python"

ops_port() { local var="PORTAL_OPS_PORT_${1^^}"; echo "${!var}"; }
answers_http() { curl -sf -o /dev/null "$1"; }

# start_process <name> <ready url> <python -m arguments...>: in the background, pid and log
# recorded like the servers; wait until its ready endpoint answers.
start_process() {
    local name=$1 ready=$2 pid
    shift 2
    if recorded_pid "$name" "-m $*" >/dev/null; then
        return 0
    fi
    answers_http "$ready" && die "$ready already answers, but not for a $name started here; \
stop that process or change its port"
    say "starting $name"
    setsid "$python" -m "$@" >>"$log_dir/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pid_dir/$name.pid"
    wait_until "$name" 60 "$log_dir/$name.log" "$pid" answers_http "$ready"
}

# --- Services: database, migrations, process (a service whose code is not there yet is skipped) --
running=()
for service in "${services[@]}"; do
    [ -f "services/$service/service.py" ] || continue
    "$python" -m servicekit migrate "$service" >>"$log_dir/$service.log" 2>&1 \
        || die "migrating $service failed; see $log_dir/$service.log"
    start_process "$service" "http://127.0.0.1:$(ops_port "$service")/readyz" servicekit run "$service"
    running+=("$service")
done

# --- Gateway and web client (skipped until the gateway exists) ---------------------------------
gateway_running=no
if [ -f gateway/__main__.py ]; then
    start_process gateway "$PORTAL_GATEWAY_URL/readyz" gateway
    gateway_running=yes
fi

# --- Demo data: published once per version of the demo file ------------------------------------
if [ -f "$demo_events" ]; then
    loaded="$PORTAL_STATE_DIR/demo-loaded-$(sha256sum "$demo_events" | cut -c1-16)"
    if [ ! -f "$loaded" ]; then
        say "loading the demo data ($demo_events)"
        "$python" -m contracts.publish "$demo_events" --amqp-url "$PORTAL_AMQP_URL_BASE/$PORTAL_AMQP_VHOST" \
            >>"$log_dir/demo.log" 2>&1 || die "loading the demo data failed; see $log_dir/demo.log"
        touch "$loaded"
    fi
fi

# --- What runs where ---------------------------------------------------------------------------
echo
echo "Portail Parents runs on this machine:"
if [ $gateway_running = yes ]; then
    echo "  portal (web + API)   $PORTAL_GATEWAY_URL"
else
    echo "  portal (web + API)   not yet: there is no gateway/ to start"
fi
for service in "${running[@]}"; do
    printf '  %-20s http://127.0.0.1:%s/metrics, /healthz, /readyz\n' "$service" "$(ops_port "$service")"
done
[ ${#running[@]} -gt 0 ] || echo "  services             none yet: no services/<name>/service.py"
echo "  Keycloak             $PORTAL_KEYCLOAK_URL/admin (user $PORTAL_KEYCLOAK_ADMIN)"
echo "  RabbitMQ             amqp://127.0.0.1:$PORTAL_AMQP_PORT/$PORTAL_AMQP_VHOST, $PORTAL_RABBIT_HTTP_URL (user $PORTAL_AMQP_USER)"
echo "  PostgreSQL           127.0.0.1:$PORTAL_PG_PORT (role $PORTAL_PG_USER, one database per service)"
echo "  mail (SMTP sink)     127.0.0.1:$PORTAL_SMTP_PORT, each message as a file in $PORTAL_MAIL_DIR"
echo "  passwords            $PORTAL_STATE_DIR/secrets.env"
echo "  logs                 $log_dir"
if [ -f "$demo_events" ]; then
    echo "  log in as            a demo parent (see $demo_events)"
fi
echo "Stop everything: make stop"
