# Helpers for the scripts that start and stop processes by pid; sourced after env.sh.

pid_dir="$PORTAL_STATE_DIR/pids"
log_dir="$PORTAL_STATE_DIR/logs"
mkdir -p "$pid_dir" "$log_dir"
script_name=$(basename "$0" .sh)

say() { echo "$script_name: $*"; }
die() { echo "$script_name: ERROR: $*" >&2; exit 1; }

# The pid recorded for <name>, when that process is still alive and still runs <program>
# (a recycled pid must never be signalled).
recorded_pid() {
    local name=$1 program=$2 pid
    pid=$(cat "$pid_dir/$name.pid" 2>/dev/null) || return 1
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$program"; then
        echo "$pid"
    else
        rm -f "$pid_dir/$name.pid"
        return 1
    fi
}

# stop_recorded <name> <program> <signal> <seconds>: signal, wait, then kill what is left.
stop_recorded() {
    local name=$1 program=$2 signal=$3 seconds=$4 pid deadline
    pid=$(recorded_pid "$name" "$program") || return 0
    say "stopping $name (pid $pid)"
    kill "-$signal" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) still running after ${seconds}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_dir/$name.pid"
}

# wait_until <what> <seconds> <log> <pid> <command...>: poll the command; fail early if pid died.
wait_until() {
    local what=$1 seconds=$2 log=$3 pid=$4 deadline
    shift 4
    deadline=$((SECONDS + seconds))
    until "$@"; do
        kill -0 "$pid" 2>/dev/null || die "$what stopped while starting; see $log"
        [ $SECONDS -lt $deadline ] || die "$what did not answer within ${seconds}s; see $log"
        sleep 0.5
    done
}

port_answers() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers_http() { curl -sf -o /dev/null "$1"; }

# migrate_all <log suffix> <database url command> <service...>: `servicekit migrate` of every
# service at once (each creates its database when missing, then applies its migrations), logged
# to $log_dir/<service><log suffix>.log, on the database `<database url command> <service>` prints
# (with "": the settings' own); dies naming the first that failed. Needs $python.
migrate_all() {
    local suffix=$1 url_of=$2 service i pids=()
    shift 2
    local services=("$@")
    for service in "${services[@]}"; do
        (
            [ -z "$url_of" ] || export PORTAL_DATABASE_URL="$("$url_of" "$service")"
            exec "$python" -m servicekit migrate "$service"
        ) >>"$log_dir/$service$suffix.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!services[@]}"; do
        wait "${pids[$i]}" || die "migrating ${services[$i]} failed; see $log_dir/${services[$i]}$suffix.log"
    done
}
