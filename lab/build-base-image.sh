#!/usr/bin/env bash
# Make sure a `debian:bookworm` image exists for the lab's Dockerfile.
# A workstation with registry access pulls it; a machine without one (CI, the
# build hosts) builds the same thing locally with debootstrap + docker import.
set -euo pipefail

IMAGE="${LAB_BASE_IMAGE:-debian:bookworm}"
MIRROR="${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Packages the lab Dockerfile needs anyway; baking them in keeps the offline path fast.
INCLUDE="systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,iputils-ping,procps,sudo,openssh-server,gnupg,curl,less"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE already present"
    exit 0
fi

if [ "${LAB_TRY_PULL:-1}" = 1 ] && timeout 60 docker pull "$IMAGE" >/dev/null 2>&1; then
    echo "pulled $IMAGE"
    exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root to build $IMAGE" >&2; exit 1; }

rootfs=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "building $IMAGE with debootstrap from $MIRROR (about a minute)"
debootstrap --variant=minbase --include="$INCLUDE" bookworm "$rootfs" "$MIRROR" >/tmp/lab-debootstrap.log 2>&1 || {
    tail -n 20 /tmp/lab-debootstrap.log >&2; exit 1; }
# Same apt sources as the official image, and no stale package lists in the layer.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
echo "built $IMAGE"
