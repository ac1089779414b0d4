#!/usr/bin/env bash
# kill -9 durability of ingest (BENCHMARKS.md): every webhook confab acknowledged must be
# stored. Seeds a fresh database with `confab bench seed` (which configures the WhatsApp number
# 109000000000001), starts `confab serve` on it, loads it with `confab bench ingest --url …
# --duplicates 0`, kills the server with SIGKILL after KILL_AFTER seconds (default 3), then
# counts the customer messages stored against the posts acknowledged.
#
#   crates/sim/scripts/kill9.sh target/release/confab                      # SQLite
#   crates/sim/scripts/kill9.sh target/release/confab postgres://postgres@127.0.0.1:5432/postgres
#
# Needs curl, python3, and sqlite3 (SQLite) or psql (PostgreSQL) on the PATH.
set -euo pipefail
BIN="$(realpath "${1:?usage: kill9.sh CONFAB_BINARY [POSTGRES_URL]}")"
PG="${2:-}"
PORT="${PORT:-18090}"
SECRET=kill9-secret
KILL_AFTER="${KILL_AFTER:-3}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
if [ -n "$PG" ]; then
    NAME="confab_kill9_$(date +%s)_$$"
    psql -q "$PG" -c "CREATE DATABASE $NAME"
    DB="${PG%/*}/$NAME"
    count() { psql -tA "$DB" -c "SELECT COUNT(*) FROM messages WHERE role = 'user'"; }
else
    DB="sqlite://$DIR/kill9.db"
    count() { sqlite3 "$DIR/kill9.db" "SELECT COUNT(*) FROM messages WHERE role = 'user'"; }
fi
"$BIN" bench seed --conversations 10 --database-url "$DB" > /dev/null
BEFORE="$(count)"
CONFAB_BIND="127.0.0.1:$PORT" CONFAB_DATABASE_URL="$DB" CONFAB_WHATSAPP_APP_SECRET="$SECRET" \
    "$BIN" serve > "$DIR/serve.log" 2>&1 &
SERVER=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null; do sleep 0.1; done
"$BIN" bench ingest --url "http://127.0.0.1:$PORT" --app-secret "$SECRET" --phone-number-id 109000000000001 \
    --duration-secs $((KILL_AFTER + 5)) --connections 64 --duplicates 0 --json "$DIR/ingest.json" > /dev/null 2>&1 &
LOAD=$!
sleep "$KILL_AFTER"
kill -9 "$SERVER"
wait "$LOAD" || true
# a restart recovers the database as a real one would, then stops again
CONFAB_BIND="127.0.0.1:$PORT" CONFAB_DATABASE_URL="$DB" CONFAB_WHATSAPP_APP_SECRET="$SECRET" \
    "$BIN" serve >> "$DIR/serve.log" 2>&1 &
SERVER=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null; do sleep 0.1; done
kill "$SERVER"
wait "$SERVER" || true
ACKED="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["acknowledged_unique_messages"])' "$DIR/ingest.json")"
STORED=$(( $(count) - BEFORE ))
echo "acknowledged $ACKED, stored $STORED"
if [ -n "$PG" ]; then psql -q "$PG" -c "DROP DATABASE $NAME"; fi
[ "$ACKED" -le "$STORED" ]
