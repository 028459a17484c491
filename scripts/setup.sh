#!/usr/bin/env bash
# Installs what the portal needs on this machine: Debian packages, the Python environment,
# Keycloak, the ops tools and the web client. Idempotent; quiet and quick when all is there.
# Downloads are kept outside the checkout, in $PORTAL_CACHE_DIR (and Maven's ~/.m2).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PORTAL_REPO_DIR"

say() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
mkdir -p "$PORTAL_CACHE_DIR" "$PORTAL_STATE_DIR/logs"

# --- Debian packages -------------------------------------------------------------------------
# fonts-dejavu-core: the font embedded in the PDFs the gateway makes (gateway/documents.py).
# mmdebstrap, podman, buildah, runc, docker-registry: the image built here (deploy/container/build-image.sh).
# haproxy: the balancer of `make cluster` (scripts/cluster.sh).
packages=(rabbitmq-server postgresql-15 chromium prometheus maven python3-venv curl unzip fonts-dejavu-core
          mmdebstrap podman buildah runc docker-registry haproxy)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    # A developer who is not root needs sudo for this step only.
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    say "installing Debian packages: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    if [[ " ${missing[*]} " == *" rabbitmq-server "* ]]; then
        # The package starts the distribution's own node on the default AMQP port; the portal runs
        # its own node (scripts/servers.sh), so stop that one rather than collide with it.
        "${as_root[@]}" service rabbitmq-server stop >/dev/null 2>&1 || true
    fi
fi

# --- Python environment ----------------------------------------------------------------------
python_bin="${PORTAL_PYTHON:-$(command -v python3.11 || command -v python3)}"
"$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is needed ($python_bin is older); set PORTAL_PYTHON"
# The marker is written last, so an interrupted build is thrown away and redone.
if [ ! -f "$PORTAL_VENV/.portal-complete" ]; then
    say "building the Python environment in $PORTAL_VENV"
    rm -rf "$PORTAL_VENV"
    "$python_bin" -m venv "$PORTAL_VENV"
    PIP_CACHE_DIR="$PORTAL_CACHE_DIR/pip" "$PORTAL_VENV/bin/pip" install -q --disable-pip-version-check \
        -r requirements.txt || die "pip could not install requirements.txt (see above)"
    touch "$PORTAL_VENV/.portal-complete"
fi
if [ -e .venv ] && [ ! -L .venv ]; then
    die ".venv exists and is not a link to $PORTAL_VENV; remove it and run again"
fi
[ "$(readlink .venv 2>/dev/null)" = "$PORTAL_VENV" ] || ln -sfn "$PORTAL_VENV" .venv

# --- Keycloak --------------------------------------------------------------------------------
[ -n "$PORTAL_JAVA_HOME" ] || die "Keycloak $PORTAL_KEYCLOAK_VERSION needs a JDK 21 or newer, and none was \
found (JAVA_HOME, /usr/lib/jvm). Install one and point JAVA_HOME at it."
keycloak_zip="$PORTAL_CACHE_DIR/keycloak/keycloak-quarkus-dist-$PORTAL_KEYCLOAK_VERSION.zip"
if [ ! -f "$keycloak_zip" ]; then
    say "fetching Keycloak $PORTAL_KEYCLOAK_VERSION from Maven Central"
    mvn -B dependency:copy \
        "-Dartifact=org.keycloak:keycloak-quarkus-dist:$PORTAL_KEYCLOAK_VERSION:zip" \
        "-DoutputDirectory=$PORTAL_CACHE_DIR/keycloak" >"$PORTAL_STATE_DIR/logs/keycloak-fetch.log" 2>&1 \
        || die "could not fetch org.keycloak:keycloak-quarkus-dist:$PORTAL_KEYCLOAK_VERSION:zip with mvn; \
see $PORTAL_STATE_DIR/logs/keycloak-fetch.log"
fi
if [ ! -x "$PORTAL_KEYCLOAK_HOME/bin/kc.sh" ]; then
    say "unpacking Keycloak into $PORTAL_KEYCLOAK_HOME"
    unpack="$PORTAL_CACHE_DIR/keycloak/unpack.$$"
    rm -rf "$unpack"
    unzip -q "$keycloak_zip" -d "$unpack" || die "could not unpack $keycloak_zip"
    rm -rf "$PORTAL_KEYCLOAK_HOME"
    mv "$unpack/keycloak-$PORTAL_KEYCLOAK_VERSION" "$PORTAL_KEYCLOAK_HOME"
    rm -rf "$unpack"
fi
# Build-time options; a change of them rebuilds.
keycloak_build=(--db=dev-file --health-enabled=true --metrics-enabled=true)
if [ "$(cat "$PORTAL_KEYCLOAK_HOME/.portal-build" 2>/dev/null)" != "${keycloak_build[*]}" ]; then
    say "building Keycloak (${keycloak_build[*]})"
    JAVA_HOME="$PORTAL_JAVA_HOME" "$PORTAL_KEYCLOAK_HOME/bin/kc.sh" build "${keycloak_build[@]}" \
        >"$PORTAL_STATE_DIR/logs/keycloak-build.log" 2>&1 \
        || die "kc.sh build failed; see $PORTAL_STATE_DIR/logs/keycloak-build.log"
    echo "${keycloak_build[*]}" >"$PORTAL_KEYCLOAK_HOME/.portal-build"
fi

# --- Ops tools (kustomize and others), when that script exists --------------------------------
if [ -f scripts/setup_tools.sh ]; then
    bash scripts/setup_tools.sh
fi

# --- Web client build (web/), when it exists ---------------------------------------------------
if [ -f web/package.json ]; then
    export npm_config_cache="$PORTAL_CACHE_DIR/npm"
    dependencies_hash=$(cat web/package.json web/package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
    if [ "$(cat web/node_modules/.portal-installed 2>/dev/null)" != "$dependencies_hash" ]; then
        say "installing the web client's npm packages"
        # Not `npm ci`: npm 11 records no entry for rollup's optional packages of other platforms
        # in the lock file and then refuses it as out of sync; `install --no-save` keeps every
        # version the lock file pins and leaves the file as it is.
        (cd web && npm install --no-save --prefer-offline --no-audit --no-fund) \
            >"$PORTAL_STATE_DIR/logs/web-install.log" 2>&1 \
            || die "npm install failed in web/; see $PORTAL_STATE_DIR/logs/web-install.log"
        echo "$dependencies_hash" >web/node_modules/.portal-installed
    fi
    # Rebuild only when a source file is newer than the last build.
    if [ ! -f web/dist/index.html ] || [ -n "$(find web \( -path web/node_modules -o -path web/dist \) -prune \
        -o -type f -newer web/dist/index.html -print -quit)" ]; then
        say "building the web client"
        (cd web && npm run build) >"$PORTAL_STATE_DIR/logs/web-build.log" 2>&1 \
            || die "npm run build failed in web/; see $PORTAL_STATE_DIR/logs/web-build.log"
    fi
fi
