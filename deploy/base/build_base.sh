#!/usr/bin/env bash
# The Debian bookworm base of every image in the stack, made with debootstrap from the Debian
# mirror apt already uses: no image registry needed. The tag carries a hash of this recipe (and
# of the host's extra CA certificates it copies in), so the base is rebuilt only when they change.
# Prints the tag. With a registry, skip it: `make image BASE=python:3.11-slim`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
suite=bookworm

# The mirror apt uses on this machine (deb822 or one-line sources), else Debian's own.
mirror="$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources \
  2>/dev/null | head -1)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
  /etc/apt/sources.list 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
mirror="${mirror%/}"

# CAs added on this host (a TLS-inspecting proxy's, for example): the images' pip and apt
# must trust what the host trusts to reach the same package index.
shopt -s nullglob
extra_cas=(/usr/local/share/ca-certificates/*.crt)
tag="churn-base:${suite}-$(cat "$0" ${extra_cas[@]+"${extra_cas[@]}"} | sha1sum | cut -c1-12)"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

root="$(mktemp -d /tmp/churn-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "building $tag with debootstrap from $mirror (about a minute)" >&2
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >&2
security="${mirror%/debian}/debian-security"
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
for ca in ${extra_cas[@]+"${extra_cas[@]}"}; do
  cp "$ca" "$root/usr/local/share/ca-certificates/"
done
chroot "$root" update-ca-certificates >/dev/null
# Smaller layers, here and in every image built on it (as Debian's official images do): apt
# keeps no downloaded packages, dpkg installs no docs, man pages or translations.
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT
cat > "$root/etc/dpkg/dpkg.cfg.d/docker-minimal" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
DPKG
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "$tag"
