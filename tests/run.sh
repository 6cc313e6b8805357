#!/bin/sh
# run.sh: install what the tests need, build, and run the whole suite on a
# virtual display inside a private D-Bus session with an unlocked keyring.
#
#   tests/run.sh [--sanitize] [--no-install] [--builddir DIR] [-- MESON-TEST-ARGS]
#
# --sanitize builds with -Db_sanitize=address,undefined (in build-sanitize
# unless --builddir is given). The last line is "N passed, M failed".
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=""
sanitize=0
install=1

while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --no-install) install=0 ;;
    --builddir) shift; builddir="$1" ;;
    --) shift; break ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$builddir" ]; then
  if [ $sanitize = 1 ]; then builddir="$top/build-sanitize"; else builddir="$top/build"; fi
fi

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'run.sh: step "%s" failed: %s\n' "$1" "$2" >&2; exit 1; }

packages="meson ninja-build pkg-config gcc libgtk-4-dev libadwaita-1-dev \
libsqlite3-dev libcurl4-openssl-dev libjson-glib-dev libsecret-1-dev \
libsoup-3.0-dev libsodium-dev libcmark-dev gettext appstream \
desktop-file-utils libglib2.0-bin libglib2.0-dev-bin xvfb xauth dbus dbus-x11 \
gnome-keyring libxml2-utils python3 flatpak-builder"

if [ $install = 1 ]; then
  step "Installing test dependencies"
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null || fail "install" "apt-get update"
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q -o DPkg::Lock::Timeout=300 $packages >/dev/null \
      || fail "install" "apt-get install $packages"
  else
    echo "No apt-get here: install these packages (or your distribution's equivalents) by hand:"
    echo "  $packages"
  fi
fi

step "Configuring $builddir"
if [ ! -f "$builddir/build.ninja" ]; then
  opts=""
  [ $sanitize = 1 ] && opts="-Db_sanitize=address,undefined -Db_lundef=false"
  # shellcheck disable=SC2086
  meson setup "$builddir" "$top" $opts || fail "configure" "meson setup $builddir"
fi

step "Building"
ninja -C "$builddir" || fail "build" "ninja -C $builddir"

step "Running the suite"
# A private session bus, a throw-away home with an unlocked keyring, and one
# virtual display for every UI test.
set +e
dbus-run-session -- "$top/tests/session.sh" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@"
status=$?
set -e

python3 "$top/tests/summarize.py" "$builddir/meson-logs/testlog.json"
exit $status
