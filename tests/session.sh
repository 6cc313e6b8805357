#!/bin/sh
# session.sh: inside a private D-Bus session, give the tests a temporary home
# with an unlocked gnome-keyring, then run the command given.
set -eu

tmp=$(mktemp -d /tmp/rfl-session.XXXXXX)
trap 'kill "$keyring_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
export XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime"

# gnome-keyring needs a non-empty password to create the login collection.
keyring_pid=""
if command -v gnome-keyring-daemon >/dev/null 2>&1; then
  eval "$(printf 'rfl-test-pw' | gnome-keyring-daemon --unlock --components=secrets)"
  keyring_pid="${GNOME_KEYRING_PID:-}"
  i=0
  while [ $i -lt 50 ]; do
    if gdbus call --session --dest org.freedesktop.DBus \
         --object-path /org/freedesktop/DBus \
         --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets \
         2>/dev/null | grep -q true; then
      export RFL_TEST_REQUIRE_KEYRING=1
      break
    fi
    sleep 0.1
    i=$((i + 1))
  done
fi
[ -n "${RFL_TEST_REQUIRE_KEYRING:-}" ] || echo "session.sh: no Secret Service: keyring tests will skip" >&2

"$@"
