#!/bin/sh
# install.sh: install what Reflection needs, build it, install it and launch
# it. Safe to run again: it reconfigures and reinstalls over the old copy and
# never touches your data.
#
#   installer/install.sh [--prefix DIR | --user] [--no-launch] [--no-deps]
#
#   --prefix DIR   install under DIR (default /usr/local)
#   --user         install under ~/.local, no root needed after dependencies
#   --no-launch    do not start Reflection at the end
#   --no-deps      do not install system packages (they must be present)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
launch=1
deps=1

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix)
      [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
      shift; prefix="$1" ;;
    --prefix=*) prefix="${1#--prefix=}" ;;
    --user) prefix="$HOME/.local" ;;
    --no-launch) launch=0 ;;
    --no-deps) deps=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac

n=0
step() { n=$((n + 1)); printf '\n[%d] %s\n' "$n" "$*"; }
run() {
  printf '    $ %s\n' "$*"
  "$@" || { printf '\ninstall.sh: step %d failed: the command "%s" exited with an error.\n' "$n" "$*" >&2; exit 1; }
}

as_root() {
  if [ "$(id -u)" = 0 ]; then run "$@"
  elif command -v sudo >/dev/null 2>&1; then run sudo "$@"
  else printf 'install.sh: step %d needs root for "%s" and sudo is not installed.\n' "$n" "$*" >&2; exit 1
  fi
}

apt_packages="meson ninja-build pkg-config gcc libgtk-4-dev libadwaita-1-dev \
libsqlite3-dev libcurl4-openssl-dev libjson-glib-dev libsecret-1-dev \
libsoup-3.0-dev libsodium-dev libcmark-dev gettext appstream \
desktop-file-utils libglib2.0-bin libglib2.0-dev-bin gnome-keyring"
dnf_packages="meson ninja-build gcc pkgconf-pkg-config gtk4-devel libadwaita-devel \
sqlite-devel libcurl-devel json-glib-devel libsecret-devel libsoup3-devel \
libsodium-devel cmark-devel gettext appstream desktop-file-utils glib2-devel \
gnome-keyring"

step "Detecting the distribution"
id=unknown; like=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  id="${ID:-unknown}"; like="${ID_LIKE:-}"
fi
case " $id $like " in
  *" debian "*|*" ubuntu "*) manager=apt ;;
  *" fedora "*|*" rhel "*) manager=dnf ;;
  *) manager=none ;;
esac
echo "    ${PRETTY_NAME:-$id} (packages: $manager)"

if [ $deps = 1 ]; then
  step "Installing build and runtime dependencies"
  case $manager in
    apt)
      export DEBIAN_FRONTEND=noninteractive
      as_root apt-get update -q
      # shellcheck disable=SC2086
      as_root apt-get install -y -q -o DPkg::Lock::Timeout=300 $apt_packages ;;
    dnf)
      # shellcheck disable=SC2086
      as_root dnf install -y $dnf_packages ;;
    *)
      echo "    This distribution is not known to the installer. Install these"
      echo "    packages (Debian names; use your distribution's equivalents), then"
      echo "    run installer/install.sh --no-deps:"
      echo "      $apt_packages"
      exit 1 ;;
  esac
fi

builddir="$top/build-install"
step "Configuring the build in $builddir (prefix $prefix)"
if [ -f "$builddir/build.ninja" ]; then
  run meson configure "$builddir" --prefix "$prefix" --buildtype release
else
  run meson setup "$builddir" "$top" --prefix "$prefix" --buildtype release
fi

step "Building"
run ninja -C "$builddir"

step "Installing into $prefix"
if mkdir -p "$prefix" 2>/dev/null && [ -w "$prefix" ]; then
  run meson install -C "$builddir" --no-rebuild
else
  as_root meson install -C "$builddir" --no-rebuild
fi

step "Refreshing schemas, icons and the application list"
share="$prefix/share"
if [ -w "$share" ]; then sudo_if=""; else sudo_if=as_root; fi
${sudo_if:-run} glib-compile-schemas "$share/glib-2.0/schemas"
if command -v gtk4-update-icon-cache >/dev/null 2>&1; then
  ${sudo_if:-run} gtk4-update-icon-cache -q -t -f "$share/icons/hicolor"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
  ${sudo_if:-run} update-desktop-database -q "$share/applications"
fi

# GLib finds schemas, icons and desktop files under XDG_DATA_DIRS and
# XDG_DATA_HOME; a custom prefix outside those needs telling.
env_note=""
case ":${XDG_DATA_DIRS:-/usr/local/share:/usr/share}:$HOME/.local/share:" in
  *":$share:"*) ;;
  *) env_note="XDG_DATA_DIRS=$share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}" ;;
esac

step "Done"
echo "    Reflection is installed as $prefix/bin/reflection"
[ -z "$env_note" ] || echo "    This prefix is not searched by default: start it with  env $env_note $prefix/bin/reflection"

if [ $launch = 1 ]; then
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    step "Launching Reflection"
    if [ -n "$env_note" ]; then
      env "$env_note" setsid "$prefix/bin/reflection" >/dev/null 2>&1 &
    else
      setsid "$prefix/bin/reflection" >/dev/null 2>&1 &
    fi
    echo "    started (process $!)"
  else
    echo "    No display is available here, so Reflection was not started."
    echo "    Start it from your desktop's application list or run: reflection"
  fi
fi
