#!/usr/bin/env bash
# Stops the private Postfix and Dovecot that scripts/mta/start.sh started
# (through their own configuration and pid files; nothing else is touched),
# and waits until they are gone, so that their ports are free again. Its
# state.json goes first: the tests take that file as "an instance is up".
set -uo pipefail
dir=${PROSCAI_MTA_DIR:-/tmp/proscai-mailer-mta}
pids=()
[ -f "$dir/queue/pid/master.pid" ] && pids+=("$(tr -d ' ' < "$dir/queue/pid/master.pid")")
[ -f "$dir/dovecot/run/master.pid" ] && pids+=("$(cat "$dir/dovecot/run/master.pid")")
[ -f "$dir/postfix/main.cf" ] && postfix -c "$dir/postfix" stop >/dev/null 2>&1
[ -f "$dir/dovecot/run/master.pid" ] && kill "$(cat "$dir/dovecot/run/master.pid")" 2>/dev/null
# Without its state file the tests know no instance is up (the Windows lane looks for it).
rm -f "$dir/state.json"
for pid in "${pids[@]}"; do
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
exit 0
