#!/usr/bin/env bash
# A private Postfix + Dovecot (SASL only) on loopback high ports, for the
# end-to-end test test/e2e/postfix.test.ts. Needs root and Debian's
# `postfix` and `dovecot-core` (installed with apt-get when missing and
# PROSCAI_MTA_INSTALL=1). Touches nothing of the machine's own mail system:
# every file lives under $PROSCAI_MTA_DIR (default /tmp/proscai-mailer-mta),
# the instance has its own configuration, queue and master process, and only
# the ports below are opened, on 127.0.0.1.
#
#   scripts/mta/start.sh     # starts it (again: stops a previous one first)
#   scripts/mta/stop.sh      # stops it
#
# What the instance does (ports overridable with PROSCAI_MTA_*_PORT):
#   submission  127.0.0.1:$SUBMISSION (10587): STARTTLS required before AUTH,
#               AUTH PLAIN/LOGIN through Dovecot, the login may only use the
#               sender addresses it owns (reject_sender_login_mismatch: a
#               foreign sender gets 553 5.7.1 at RCPT), unauthenticated relay
#               refused, messages over message_size_limit (64 KB) get 552;
#   smtps       127.0.0.1:$SMTPS (10465): the same behind implicit TLS (the
#               server speaks TLS first and says nothing to a plain client);
#   mail for @mta.test is delivered to Maildirs under $PROSCAI_MTA_DIR/mail/.
# It writes $PROSCAI_MTA_DIR/state.json: ports, user, password, addresses,
# mail folder, certificate; the test reads it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${PROSCAI_MTA_DIR:-/tmp/proscai-mailer-mta}
SUBMISSION=${PROSCAI_MTA_SUBMISSION_PORT:-10587}
SMTPS=${PROSCAI_MTA_SMTPS_PORT:-10465}
AUTH_PORT=${PROSCAI_MTA_AUTH_PORT:-10012}
USER_NAME=mailer@mta.test
PASSWORD=${PROSCAI_MTA_PASSWORD:-Clave-De-Prueba-7391}
SIZE_LIMIT=65536

say() { printf 'mta: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then say "needs root (postfix and dovecot start as root)"; exit 1; fi
if ! command -v postfix >/dev/null 2>&1 || ! command -v dovecot >/dev/null 2>&1; then
  if [ "${PROSCAI_MTA_INSTALL:-0}" != 1 ]; then
    say "postfix and dovecot-core are not installed: apt-get install -y postfix dovecot-core (or PROSCAI_MTA_INSTALL=1)"
    exit 1
  fi
  say "installing postfix and dovecot-core (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services must not start (only the private instance runs):
  # a policy-rc.d that refuses, for the install only, unless one is there already.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq postfix dovecot-core >/dev/null
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

"$here/stop.sh" >/dev/null 2>&1 || true
rm -rf "$dir"
mkdir -p "$dir"/{postfix,queue,data,mail,dovecot/run}
chmod 755 "$dir"
cp "$repo/test/fixtures/tls/cert.pem" "$repo/test/fixtures/tls/key.pem" "$dir/"
chmod 644 "$dir/cert.pem"; chmod 600 "$dir/key.pem"
chown -R nobody:nogroup "$dir/mail"
chown postfix "$dir/data"
nobody_uid=$(id -u nobody); nobody_gid=$(id -g nobody)

# --- Dovecot: authentication only, over a loopback TCP listener Postfix asks.
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" > "$dir/dovecot/users"
chmod 640 "$dir/dovecot/users"; chgrp dovecot "$dir/dovecot/users"
sed -e "s|@DIR@|$dir|g" -e "s|@AUTH_PORT@|$AUTH_PORT|g" "$here/dovecot.conf.in" > "$dir/dovecot/dovecot.conf"
# The daemons must not hold the caller's output open (a caller reading it to the end would wait for ever).
dovecot -c "$dir/dovecot/dovecot.conf" </dev/null >>"$dir/daemons.out" 2>&1

# --- Postfix: its own configuration directory, queue and data directory.
sed -e "s|@DIR@|$dir|g" -e "s|@AUTH_PORT@|$AUTH_PORT|g" -e "s|@SIZE_LIMIT@|$SIZE_LIMIT|g" \
    -e "s|@UID@|$nobody_uid|g" -e "s|@GID@|$nobody_gid|g" "$here/main.cf.in" > "$dir/postfix/main.cf"
sed -e "s|@SUBMISSION@|$SUBMISSION|g" -e "s|@SMTPS@|$SMTPS|g" "$here/master.cf.in" > "$dir/postfix/master.cf"
# Who may send as whom: the login owns its own address only.
printf '%s %s\n' "$USER_NAME" "$USER_NAME" > "$dir/postfix/senders"
printf '%s mailer/\nfacturas@mta.test facturas/\nerrores@mta.test errores/\n' "$USER_NAME" > "$dir/postfix/mailboxes"
postfix -c "$dir/postfix" check
postfix -c "$dir/postfix" start </dev/null >>"$dir/daemons.out" 2>&1

# Ready when both ports answer (Postfix's smtpd starts on the first connection).
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$SMTPS") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ "${ready:-0}" = 1 ] || { say "postfix did not open its ports; see $dir/maillog"; exit 1; }

cat > "$dir/state.json" <<JSON
{
  "host": "127.0.0.1",
  "submissionPort": $SUBMISSION,
  "smtpsPort": $SMTPS,
  "user": "$USER_NAME",
  "password": "$PASSWORD",
  "ownSender": "$USER_NAME",
  "mailboxes": { "facturas@mta.test": "facturas", "errores@mta.test": "errores", "$USER_NAME": "mailer" },
  "mailDir": "$dir/mail",
  "sizeLimit": $SIZE_LIMIT,
  "ca": "$dir/cert.pem",
  "log": "$dir/maillog"
}
JSON
say "postfix listens on 127.0.0.1:$SUBMISSION (submission, STARTTLS) and 127.0.0.1:$SMTPS (implicit TLS); state in $dir/state.json"
