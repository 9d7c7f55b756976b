#!/usr/bin/env bash
# Runs a command as the canary image would: PID 1 of its own PID namespace, in a root filesystem
# that is read-only but for the image's volumes, as the image's unprivileged user.
# Usage (as root, inside `unshare --mount --pid --fork`):
#   rootfs.sh ROOT BINARY CANARIES STATE ARTIFACTS USER WORKDIR -- ENV=… … -- COMMAND…
# ROOT is an empty folder to build the root in; BINARY is copied to /usr/local/bin/canary;
# CANARIES is mounted read-only at /canaries; STATE and ARTIFACTS are mounted writable at /state
# and /artifacts; /tmp is a fresh tmpfs (a volume in the image).
set -euo pipefail
root=$1 binary=$2 canaries=$3 state=$4 artifacts=$5 user=$6 workdir=$7
shift 7
[ "$1" = -- ] && shift
envs=()
while [ "$1" != -- ]; do envs+=("$1"); shift; done
shift

mount --make-rprivate /
mount -t tmpfs -o mode=0755 rootfs "$root"
for d in usr etc; do
    mkdir -p "$root/$d"
done
mount --rbind /usr "$root/usr"
mount -o remount,bind,ro "$root/usr"
cp -a /etc/. "$root/etc/"
echo "canary:x:${user%%:*}:${user##*:}:canary:/nonexistent:/usr/sbin/nologin" >>"$root/etc/passwd"
echo "canary:x:${user##*:}:" >>"$root/etc/group"
for link in bin sbin lib lib64; do
    if [ -L "/$link" ]; then ln -s "$(readlink "/$link")" "$root/$link"; elif [ -d "/$link" ]; then
        mkdir -p "$root/$link"; mount --rbind "/$link" "$root/$link"; mount -o remount,bind,ro "$root/$link"; fi
done
mkdir -p "$root/dev" "$root/proc" "$root/tmp" "$root/canaries" "$root/state" "$root/artifacts" "$root$workdir"
# The image's binary: a tmpfs over the (read-only) /usr/local, as the image's own layer.
mount -t tmpfs -o mode=0755 usrlocal "$root/usr/local"
mkdir -p "$root/usr/local/bin"
cp "$binary" "$root/usr/local/bin/canary"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
mount --bind "$canaries" "$root/canaries"
mount -o remount,bind,ro "$root/canaries"
mount --bind "$state" "$root/state"
mount --bind "$artifacts" "$root/artifacts"
mount -o remount,ro "$root"
cd "$root$workdir"
exec chroot --userspec="$user" "$root" /usr/bin/env -i "${envs[@]}" "$@"
