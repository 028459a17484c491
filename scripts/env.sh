# Portail Parents — local environment, sourced by every script (and read by the tests).
#
#   . scripts/env.sh            export every PORTAL_* value (a value already set wins)
#   bash scripts/env.sh --print  print them as KEY=VALUE lines
#
# Local passwords are generated on first use into $PORTAL_STATE_DIR/secrets.env (mode 600);
# they never live in the repository.

PORTAL_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PORTAL_REPO_DIR

: "${PORTAL_STATE_DIR:=${XDG_STATE_HOME:-$HOME/.local/state}/portail-parents}"
: "${PORTAL_CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/portail-parents}"
export PORTAL_STATE_DIR PORTAL_CACHE_DIR

# Fixed loopback ports (docs/conventions.md).
: "${PORTAL_PG_PORT:=55432}"
# Each service process pools about a dozen connections, and a test session starts many of them.
: "${PORTAL_PG_MAX_CONNECTIONS:=500}"
: "${PORTAL_AMQP_PORT:=5672}"
: "${PORTAL_RABBIT_HTTP_PORT:=15672}"
: "${PORTAL_RABBIT_PROMETHEUS_PORT:=15692}"
: "${PORTAL_RABBIT_DIST_PORT:=$((PORTAL_AMQP_PORT + 20000))}"
: "${PORTAL_KEYCLOAK_PORT:=8180}"
: "${PORTAL_KEYCLOAK_MGMT_PORT:=9100}"
: "${PORTAL_SMTP_PORT:=8025}"
: "${PORTAL_GATEWAY_PORT:=8000}"
: "${PORTAL_OPS_PORT_GATEWAY:=8100}"
: "${PORTAL_OPS_PORT_IDENTITY:=8101}"
: "${PORTAL_OPS_PORT_LINKING:=8102}"
: "${PORTAL_OPS_PORT_ATTENDANCE:=8103}"
: "${PORTAL_OPS_PORT_GRADES:=8104}"
: "${PORTAL_OPS_PORT_BILLING:=8105}"
: "${PORTAL_OPS_PORT_NOTICES:=8106}"
export PORTAL_PG_PORT PORTAL_PG_MAX_CONNECTIONS PORTAL_AMQP_PORT PORTAL_RABBIT_HTTP_PORT PORTAL_RABBIT_PROMETHEUS_PORT \
    PORTAL_RABBIT_DIST_PORT PORTAL_KEYCLOAK_PORT PORTAL_KEYCLOAK_MGMT_PORT PORTAL_SMTP_PORT \
    PORTAL_GATEWAY_PORT PORTAL_OPS_PORT_GATEWAY PORTAL_OPS_PORT_IDENTITY PORTAL_OPS_PORT_LINKING \
    PORTAL_OPS_PORT_ATTENDANCE PORTAL_OPS_PORT_GRADES PORTAL_OPS_PORT_BILLING PORTAL_OPS_PORT_NOTICES

: "${PORTAL_KEYCLOAK_VERSION:=26.5.6}"
: "${PORTAL_KEYCLOAK_HOME:=$PORTAL_CACHE_DIR/keycloak/keycloak-$PORTAL_KEYCLOAK_VERSION}"
: "${PORTAL_MAIL_DIR:=$PORTAL_STATE_DIR/mail}"
export PORTAL_KEYCLOAK_VERSION PORTAL_KEYCLOAK_HOME PORTAL_MAIL_DIR

# The servers run as their own system users when we are root, so their data cannot sit under a
# private home directory; for a normal user everything stays in the state dir.
if [ "$(id -u)" = 0 ]; then
    : "${PORTAL_PG_DATA_DIR:=/var/lib/postgresql/portail-parents-$PORTAL_PG_PORT}"
    : "${PORTAL_RABBIT_DATA_DIR:=/var/lib/rabbitmq/portail-parents-$PORTAL_AMQP_PORT}"
else
    : "${PORTAL_PG_DATA_DIR:=$PORTAL_STATE_DIR/postgres}"
    : "${PORTAL_RABBIT_DATA_DIR:=$PORTAL_STATE_DIR/rabbitmq}"
fi
export PORTAL_PG_DATA_DIR PORTAL_RABBIT_DATA_DIR

# The Python environment is keyed by the requirements, so a change of pins builds a new one.
if [ -z "${PORTAL_VENV:-}" ]; then
    PORTAL_VENV="$PORTAL_CACHE_DIR/venv-$(sha256sum "$PORTAL_REPO_DIR/requirements.txt" | cut -c1-12)"
fi
export PORTAL_VENV

# Keycloak 26.5 needs Java 21 or newer: honour JAVA_HOME when it is recent enough, otherwise take
# the newest JDK installed under /usr/lib/jvm. Only Keycloak runs on it (PORTAL_JAVA_HOME).
portal_java_major() {
    local release="$1/release" v
    [ -x "$1/bin/java" ] && [ -r "$release" ] || { echo 0; return; }
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
    echo "${v:-0}"
}
if [ -z "${PORTAL_JAVA_HOME:-}" ]; then
    if [ -n "${JAVA_HOME:-}" ] && [ "$(portal_java_major "$JAVA_HOME")" -ge 21 ]; then
        PORTAL_JAVA_HOME="$JAVA_HOME"
    else
        _best=0
        for _jdk in /usr/lib/jvm/*/; do
            _jdk="${_jdk%/}"
            _major=$(portal_java_major "$_jdk")
            if [ "$_major" -ge 21 ] && [ "$_major" -gt "$_best" ]; then
                _best=$_major
                PORTAL_JAVA_HOME="$_jdk"
            fi
        done
        unset _best _jdk _major
    fi
fi
export PORTAL_JAVA_HOME="${PORTAL_JAVA_HOME:-}"

# Local secrets: created once, under a lock so that two first runs agree on them.
portal_ensure_secrets() {
    local file="$PORTAL_STATE_DIR/secrets.env"
    # Private: it holds the secrets and the mails (verification codes) of the local portal.
    mkdir -p -m 700 "$PORTAL_STATE_DIR"
    (
        flock 9
        umask 077
        touch "$file"
        chmod 600 "$file"
        for key in PORTAL_PG_PASSWORD PORTAL_AMQP_PASSWORD PORTAL_KEYCLOAK_ADMIN_PASSWORD PORTAL_IDENTITY_CLIENT_SECRET \
                   PORTAL_UNSUBSCRIBE_SECRET PORTAL_PIN_SECRET PORTAL_ACCESS_LOG_SECRET; do
            if ! grep -q "^$key=" "$file"; then
                # Letters and digits only, so the values sit in URLs without escaping.
                echo "$key=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)" >>"$file"
            fi
        done
        grep -q '^PORTAL_KEYCLOAK_ADMIN=' "$file" || echo "PORTAL_KEYCLOAK_ADMIN=portal-admin" >>"$file"
    ) 9>"$PORTAL_STATE_DIR/.secrets.lock"
    # A value already in the environment wins, like every other setting here.
    local line key
    while IFS= read -r line; do
        key="${line%%=*}"
        [ -n "${!key:-}" ] || export "$line"
    done <"$file"
}
portal_ensure_secrets

# A social login is offered only once its client is configured (environment or secrets.env);
# the portal realm's providers read these flags at import.
for _provider in GOOGLE FACEBOOK MICROSOFT LINKEDIN; do
    _secret="PORTAL_${_provider}_CLIENT_SECRET" _enabled="PORTAL_${_provider}_LOGIN_ENABLED"
    if [ -n "${!_secret:-}" ] && [ -z "${!_enabled:-}" ]; then export "$_enabled=true"; fi
done
unset _provider _secret _enabled

export PORTAL_PG_USER=portal PORTAL_AMQP_USER=portal
export PORTAL_AMQP_VHOST="${PORTAL_AMQP_VHOST:-portal}"
export PORTAL_PG_URL_BASE="postgresql+psycopg://$PORTAL_PG_USER:$PORTAL_PG_PASSWORD@127.0.0.1:$PORTAL_PG_PORT"
export PORTAL_AMQP_URL_BASE="amqp://$PORTAL_AMQP_USER:$PORTAL_AMQP_PASSWORD@127.0.0.1:$PORTAL_AMQP_PORT"
# Each service, the gateway and each school board has a broker user of its own; on one machine
# their passwords derive from this secret (servicekit.config.as_user, scripts/broker_users.py).
export PORTAL_AMQP_USERS_SECRET="${PORTAL_AMQP_USERS_SECRET:-$PORTAL_AMQP_PASSWORD}"
export PORTAL_RABBIT_HTTP_URL="http://127.0.0.1:$PORTAL_RABBIT_HTTP_PORT"
export PORTAL_KEYCLOAK_URL="http://127.0.0.1:$PORTAL_KEYCLOAK_PORT"
export PORTAL_KEYCLOAK_MGMT_URL="http://127.0.0.1:$PORTAL_KEYCLOAK_MGMT_PORT"
export PORTAL_SMTP_HOST=127.0.0.1
export PORTAL_GATEWAY_URL="http://127.0.0.1:$PORTAL_GATEWAY_PORT"
# The portal's address as parents reach it: the links in mails start with it.
export PORTAL_PUBLIC_URL="${PORTAL_PUBLIC_URL:-$PORTAL_GATEWAY_URL}"
# Proxies in front of the gateway that append to X-Forwarded-For: none on one machine.
export PORTAL_TRUSTED_PROXIES="${PORTAL_TRUSTED_PROXIES:-0}"

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = "--print" ]; then
    env | grep '^PORTAL_' | sort
fi
