#!/usr/bin/env bash
# `make stop`: stops, by pid, what scripts/run.sh and scripts/servers.sh started: the gateway and
# the services first (they still drain their work through the broker and the database), then the
# servers.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
. "$here/env.sh"
. "$here/processes.sh"

stop_recorded gateway "-m gateway" TERM 30
for service in notices billing grades attendance linking identity; do
    stop_recorded "$service" "-m servicekit run $service" TERM 30
done
bash "$here/servers.sh" stop
