#!/usr/bin/env bash
# Builds the portal's one image (the six services, their migrations, the gateway and the built web
# client) on this machine from Debian packages, without any container registry:
#
#   bash deploy/container/build-image.sh [tag]      (default tag: the git commit, "-dirty" if changed)
#
# 1. base layer, cached by its inputs: `mmdebstrap` makes a Debian 12 root filesystem with Python
#    3.11, then the runtime pins of requirements.txt go into /opt/portal (wheels downloaded once
#    into the project's cache), and the user `portal` (10001); `podman import` turns it into
#    localhost/portail-parents-base:<inputs' hash>;
# 2. app layer: `buildah` adds the code and web/dist (built first when stale), byte-compiled,
#    and sets a non-root user, the environment and the default command;
# 3. push: to the local registry (Debian's docker-registry on 127.0.0.1:5005, started if needed),
#    and the pinned reference <registry>/portail-parents/portal@sha256:... is printed last.
#
# Needs root (mmdebstrap --mode=root, podman's root storage) and the Debian packages mmdebstrap,
# podman, buildah, runc, docker-registry (scripts/setup.sh installs them). PORTAL_REGISTRY changes
# where it pushes (e.g. a real registry, with PORTAL_REGISTRY_TLS_VERIFY=true).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/env.sh
. "$repo/scripts/env.sh"
export CONTAINERS_CONF="$repo/deploy/container/containers.conf"

say() { echo "build-image: $*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root and podman's storage need it)"
for tool in mmdebstrap podman buildah runc docker-registry; do
    command -v "$tool" >/dev/null || die "$tool missing (apt-get install mmdebstrap podman buildah runc docker-registry)"
done

cd "$repo"
revision="$(git rev-parse --short=12 HEAD)"
[ -z "$(git status --porcelain -- contracts servicekit services gateway web/src requirements.txt)" ] || revision="$revision-dirty"
tag="${1:-${PORTAL_IMAGE_TAG:-$revision}}"
registry="${PORTAL_REGISTRY:-127.0.0.1:5005}"
repository="${PORTAL_IMAGE_REPOSITORY:-portail-parents/portal}"
cache="$PORTAL_CACHE_DIR/image"
mkdir -p "$cache/wheels"
started=$SECONDS

# --- 1. base layer -------------------------------------------------------------------------------
suite=bookworm
# What the processes need at run time besides the venv; the font is embedded in the gateway's PDFs.
packages=python3,python3-venv,ca-certificates,tzdata,fonts-dejavu-core
# Only the runtime part of the pins: the test and benchmark tools stay out of the image.
sed -n '/^# Runtime/,/^# Tests/p' requirements.txt | grep -v '^# Tests' >"$cache/runtime-requirements.txt"
base_key="$( (echo "$suite $packages"; cat "$cache/runtime-requirements.txt"; sed -n '/^# --- 1/,/^# --- 2/p' "$0") \
    | sha256sum | cut -c1-16)"
base="localhost/portail-parents-base:$base_key"
if podman image exists "$base"; then
    say "base layer $base (cached)"
else
    say "base layer $base: mmdebstrap $suite, then the Python pins"
    # Wheels for CPython 3.11 on x86_64 Linux, fetched once with this machine's pip (the same
    # Python as Debian 12's); inside the root filesystem pip installs them without the network.
    env -u PIP_FIND_LINKS "$PORTAL_VENV/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --python-version 3.11 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform linux_x86_64 --implementation cp \
        -d "$cache/wheels" -r "$cache/runtime-requirements.txt" \
        || env -u PIP_FIND_LINKS "$PORTAL_VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
            -d "$cache/wheels" -r "$cache/runtime-requirements.txt"
    rootfs="$cache/base-$base_key.tar"
    # The .deb files are kept in the cache too: a rebuild downloads only what changed.
    mkdir -p "$cache/debs"
    mmdebstrap --mode=root --variant=apt --quiet --include="$packages" \
        --skip=download/empty --skip=essential/unlink \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
        --setup-hook="sync-in $cache/debs /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives $cache/debs" \
        --customize-hook='mkdir -p "$1/tmp/wheels"' \
        --customize-hook="sync-in $cache/wheels /tmp/wheels" \
        --customize-hook="copy-in $cache/runtime-requirements.txt /tmp" \
        --customize-hook='chroot "$1" python3 -m venv /opt/portal' \
        --customize-hook='chroot "$1" /opt/portal/bin/pip install --quiet --no-index --find-links /tmp/wheels --no-cache-dir --disable-pip-version-check -r /tmp/runtime-requirements.txt' \
        --customize-hook='chroot "$1" /opt/portal/bin/python -m compileall -q /opt/portal' \
        --customize-hook='chroot "$1" groupadd --gid 10001 portal' \
        --customize-hook='chroot "$1" useradd --uid 10001 --gid portal --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin portal' \
        --customize-hook='rm -rf "$1/tmp/wheels" "$1/tmp/runtime-requirements.txt" "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
        "$suite" "$rootfs" >&2
    podman import --quiet "$rootfs" "$base" >/dev/null
    rm -f "$rootfs"
    # Older bases (other pins) are of no further use here.
    podman images --format '{{.Repository}}:{{.Tag}}' localhost/portail-parents-base | grep -vxF "$base" \
        | xargs -r podman rmi --force >/dev/null 2>&1 || true
    say "base layer built in $((SECONDS - started)) s"
fi

# --- 2. app layer --------------------------------------------------------------------------------
if [ ! -f web/dist/index.html ] || [ -n "$(find web \( -path web/node_modules -o -path web/dist \) -prune \
        -o -type f -newer web/dist/index.html -print -quit)" ]; then
    say "building the web client (npm run build)"
    (cd web && npm run build) >&2
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/app/web"
tar -c --exclude='__pycache__' --exclude='*.pyc' --exclude='tests' contracts servicekit services gateway | tar -x -C "$stage/app"
cp -r web/dist "$stage/app/web/dist"
# Byte-compiled here (the same Python 3.11): the running root filesystem is read-only.
python3 -m compileall -q -d /app --invalidation-mode unchecked-hash "$stage/app"
chmod -R a+rX,go-w "$stage/app"

container="$(buildah from --pull-never "$base")"
trap 'rm -rf "$stage"; buildah rm "$container" >/dev/null 2>&1 || true' EXIT
buildah copy --quiet --chown 0:0 "$container" "$stage/app" /app >/dev/null
buildah config \
    --user 10001:10001 --workingdir /app \
    --env PATH=/opt/portal/bin:/usr/local/bin:/usr/bin:/bin \
    --env PYTHONPATH=/app --env PYTHONDONTWRITEBYTECODE=1 --env PYTHONUNBUFFERED=1 \
    --env PSYCOPG_WAIT_FUNC=wait_selector --env PORTAL_WEB_DIST=/app/web/dist \
    --env PORTAL_OPS_PORT=8080 --env PORTAL_OPS_HOST=0.0.0.0 \
    --env PORTAL_GATEWAY_HOST=0.0.0.0 --env PORTAL_GATEWAY_PORT=8000 \
    --port 8000 --port 8080 \
    --entrypoint '[]' --cmd '["python", "-m", "gateway"]' \
    --label org.opencontainers.image.title="Portail Parents" \
    --label org.opencontainers.image.revision="$revision" \
    --label org.opencontainers.image.base.name="debian:$suite (mmdebstrap)" \
    "$container"
image="localhost/portail-parents:$tag"
previous="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
buildah commit --quiet --rm "$container" "$image" >/dev/null
# The image this tag named before (also named by its pushed digest): no longer of use here.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
    podman rmi --force "$previous" >/dev/null 2>&1 || true
fi
podman image prune --force >/dev/null 2>&1 || true
trap 'rm -rf "$stage"' EXIT
say "image $image built in $((SECONDS - started)) s"

# --- 3. push -------------------------------------------------------------------------------------
if [ "$registry" = 127.0.0.1:5005 ] && ! curl -fs -o /dev/null "http://$registry/v2/"; then
    mkdir -p "$PORTAL_STATE_DIR/registry" "$PORTAL_STATE_DIR/logs"
    say "starting the local registry on $registry (data in $PORTAL_STATE_DIR/registry)"
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$PORTAL_STATE_DIR/registry" \
        setsid docker-registry serve "$repo/deploy/container/registry.yml" \
        >>"$PORTAL_STATE_DIR/logs/registry.log" 2>&1 </dev/null &
    echo $! >"$PORTAL_STATE_DIR/registry.pid"
    for _ in $(seq 50); do curl -fs -o /dev/null "http://$registry/v2/" && break; sleep 0.2; done
    curl -fs -o /dev/null "http://$registry/v2/" || die "the registry did not start (see $PORTAL_STATE_DIR/logs/registry.log)"
fi
digestfile="$stage/digest"
podman push --quiet --tls-verify="${PORTAL_REGISTRY_TLS_VERIFY:-false}" --digestfile "$digestfile" \
    "$image" "docker://$registry/$repository:$tag" >&2
digest="$(cat "$digestfile")"
say "pushed $registry/$repository:$tag in $((SECONDS - started)) s"
# The pinned reference, for the overlay's `images:` (digest) — the last line, alone.
echo "$registry/$repository@$digest"
