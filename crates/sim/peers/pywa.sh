#!/usr/bin/env bash
# The peer column of `confab bench ingest`: pywa (a Python WhatsApp framework) on
# FastAPI/uvicorn with 2 workers, checking the signature and parsing each update, storing
# nothing. Makes a venv under ~/.cache/confab/pywa-venv (pywa, fastapi, uvicorn from pip),
# writes the app there, and serves it on 127.0.0.1:${PORT:-8090}. Then, from another shell:
#
#   confab bench ingest --url http://127.0.0.1:8090 --app-secret bench-secret \
#       --phone-number-id 100000000000001 --duration-secs 10 --connections 64
#
# (no pywa code is kept in this repository: the app is made here, at run time).
set -euo pipefail
VENV="${VENV:-$HOME/.cache/confab/pywa-venv}"
PORT="${PORT:-8090}"
if [ ! -x "$VENV/bin/uvicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet pywa fastapi uvicorn
fi
mkdir -p "$VENV/app"
cat > "$VENV/app/pywa_peer.py" <<'PY'
"""A pywa webhook receiver: signature checked, update parsed, nothing stored."""
import os

from fastapi import FastAPI
from pywa_async import WhatsApp, types

app = FastAPI()
wa = WhatsApp(
    phone_id=os.environ.get("PYWA_PHONE_ID", "100000000000001"),
    token="bench",
    server=app,
    webhook_endpoint="/webhooks/whatsapp",
    verify_token="bench",
    app_secret=os.environ.get("PYWA_APP_SECRET", "bench-secret"),
    validate_updates=True,
)


@wa.on_message()
async def on_message(_: WhatsApp, msg: types.Message) -> None:
    # parsed into pywa's types; read what a real handler would, then drop it
    _ = (msg.id, msg.from_user.wa_id, msg.type, msg.text or msg.caption)
PY
cd "$VENV/app"
exec "$VENV/bin/uvicorn" pywa_peer:app --host 127.0.0.1 --port "$PORT" --workers 2 --log-level warning --no-access-log
