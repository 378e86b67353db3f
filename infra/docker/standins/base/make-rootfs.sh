#!/usr/bin/env bash
# make-rootfs.sh DIR — a minimal Debian bookworm root file system in DIR (root only), for
# `docker import` as tracker-standin/debian:bookworm (infra/docker/standins.sh runs it).
#
# debootstrap --variant=minbase (essential packages + apt), the point-release and security
# updates applied, apt set up for containers (no recommends, no docs, no caches), then
# everything a container does not need is removed: apt lists and caches, logs, docs, the
# host's resolv.conf/hostname (Docker provides its own), /dev, /proc, /sys contents.
# Variables: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

DIR="${1:?usage: make-rootfs.sh DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

(($(id -u) == 0)) || { echo "make-rootfs.sh: debootstrap needs root" >&2; exit 1; }
[[ ! -e "$DIR" ]] || { echo "make-rootfs.sh: $DIR exists already" >&2; exit 1; }

debootstrap --variant=minbase bookworm "$DIR" "$MIRROR"

install -m 0644 "$HERE/sources.list" "$DIR/etc/apt/sources.list"
install -m 0644 "$HERE/dpkg-nodoc" "$DIR/etc/dpkg/dpkg.cfg.d/90-nodoc"
install -m 0644 "$HERE/apt-minimal" "$DIR/etc/apt/apt.conf.d/90-container"
# Package scripts must never start services while an image is being built.
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 0755 "$DIR/usr/sbin/policy-rc.d"

# Updates from bookworm-updates and bookworm-security, inside the new system.
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
mount -t proc proc "$DIR/proc"
trap 'umount "$DIR/proc" 2>/dev/null || true' EXIT
chroot "$DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  bash -c 'apt-get update -qq && apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade && apt-get clean'
umount "$DIR/proc"
trap - EXIT

# What the dpkg excludes would have kept out had they been there from the start.
find "$DIR/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$DIR/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$DIR"/usr/share/{man,groff,info,lintian,linda,locale}/*
# Caches, logs and host-specific files.
rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/* "$DIR"/var/cache/debconf/*-old \
  "$DIR"/var/lib/dpkg/*-old "$DIR"/var/log/apt/* "$DIR"/var/log/*.log "$DIR"/var/log/bootstrap.log \
  "$DIR"/tmp/* "$DIR"/var/tmp/* "$DIR"/root/.bash_history
rm -f "$DIR/etc/resolv.conf" "$DIR/etc/hostname"
: >"$DIR/etc/machine-id"
echo "make-rootfs.sh: $(du -sh --exclude=proc --exclude=sys --exclude=dev "$DIR" | cut -f1) in $DIR" >&2
