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
python="$PORTAL_VENV/bin/python"

# launch <name> <ready url> <python -m arguments...>: start it in the background, pid and log
# recorded like the servers, unless it already runs; ready <name> <url>: wait until it answers.
launch() {
    local name=$1 ready=$2
    shift 2
    recorded_pid "$name" "-m $*" >/dev/null && return 0
    answers_http "$ready" && die "$ready already answers, but not for a $name started here; \
stop that process or change its port"
    say "starting $name"
    setsid "$python" -m "$@" >>"$log_dir/$name.log" 2>&1 </dev/null &
    echo $! >"$pid_dir/$name.pid"
}
ready() {
    local pid
    pid=$(cat "$pid_dir/$1.pid")
    wait_until "$1" 90 "$log_dir/$1.log" "$pid" answers_http "$2"
}
ops_url() { local var="PORTAL_OPS_PORT_${1^^}"; echo "http://127.0.0.1:${!var}"; }

# --- Services: database and migrations, then the processes --------------------------------------
# A service whose code is not there yet is skipped; one that already runs is left alone (to take
# a new migration, `make stop` then `make run`).
present=() to_start=()
for service in "${services[@]}"; do
    [ -f "services/$service/service.py" ] || continue
    present+=("$service")
    recorded_pid "$service" "-m servicekit run $service" >/dev/null || to_start+=("$service")
done
migrate_all "" "" "${to_start[@]}"
for service in "${to_start[@]}"; do
    launch "$service" "$(ops_url "$service")/readyz" servicekit run "$service"
done
for service in "${to_start[@]}"; do
    ready "$service" "$(ops_url "$service")/readyz"
done

# --- Gateway and web client (skipped until the gateway exists) ---------------------------------
gateway_running=no
if [ -f gateway/__main__.py ]; then
    launch gateway "$(ops_url gateway)/readyz" gateway
    ready gateway "$(ops_url gateway)/readyz"
    gateway_running=yes
fi

# --- Demo data: the demo school's events, demo parents' accounts and links (scripts/demo.py) ----
demo_help=""
if [ ${#present[@]} -eq ${#services[@]} ]; then
    say "loading the demo school and the demo parents' accounts"
    demo_help=$("$python" scripts/demo.py "$PORTAL_STATE_DIR" 2>>"$log_dir/demo.log") \
        || die "loading the demo failed; see $log_dir/demo.log"
fi

# --- What runs where ---------------------------------------------------------------------------
echo
echo "Portail Parents runs on this machine:"
if [ $gateway_running = yes ]; then
    echo "  portal (web + API)   $PORTAL_GATEWAY_URL"
    printf '  %-20s %s/metrics, /healthz, /readyz\n' gateway "$(ops_url gateway)"
else
    echo "  portal (web + API)   not yet: there is no gateway/ to start"
fi
for service in "${present[@]}"; do
    printf '  %-20s %s/metrics, /healthz, /readyz\n' "$service" "$(ops_url "$service")"
done
[ ${#present[@]} -gt 0 ] || echo "  services             none yet: no services/<name>/service.py"
echo "  Keycloak             $PORTAL_KEYCLOAK_URL/admin (user $PORTAL_KEYCLOAK_ADMIN)"
echo "  RabbitMQ             amqp://127.0.0.1:$PORTAL_AMQP_PORT/$PORTAL_AMQP_VHOST, $PORTAL_RABBIT_HTTP_URL (user $PORTAL_AMQP_USER)"
echo "  PostgreSQL           127.0.0.1:$PORTAL_PG_PORT (role $PORTAL_PG_USER, one database per service)"
echo "  mail (SMTP sink)     127.0.0.1:$PORTAL_SMTP_PORT, each message as a file in $PORTAL_MAIL_DIR"
echo "  passwords            $PORTAL_STATE_DIR/secrets.env"
echo "  logs                 $log_dir"
if [ -n "$demo_help" ]; then
    echo "Log in at $PORTAL_GATEWAY_URL as a demo parent (email, password, what they see):"
    echo "$demo_help"
fi
echo "Stop everything: make stop"
