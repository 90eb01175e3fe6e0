"""OCPP charger of a hosted micro-CPO party, for tests/e2e_microcpo.rs.

Uses the PyPI `ocpp` 2.1.0 ChargePoint (1.6 or 2.0.1) over `websockets`. Connects to the hub's
OCPP gateway with HTTP Basic auth, boots, sends a Heartbeat, one StatusNotification for
connector (1.6) / EVSE (2.0.1) `--number` with the OCPP status `--status`, and a DataTransfer.
Prints one JSON object per line on stdout; a refused websocket upgrade prints {"rejected": HTTP
status}. Exit status 0 unless something unexpected happened ({"error": ...} is printed).
"""

import argparse
import asyncio
import base64
import datetime
import json
import logging
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

TIMEOUT = 10


def emit(**obj):
    print(json.dumps(obj), flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


async def run(args):
    token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
    subprotocol = "ocpp1.6" if args.version == "1.6" else "ocpp2.0.1"
    try:
        ws = await connect(
            args.url,
            subprotocols=[subprotocol],
            additional_headers={"Authorization": f"Basic {token}"},
            proxy=None,
            open_timeout=TIMEOUT,
            ping_interval=None,
            compression=None,
        )
    except InvalidStatus as e:
        emit(rejected=e.response.status_code)
        return
    emit(subprotocol=ws.subprotocol)
    v16 = args.version == "1.6"
    cp = (ChargePoint16 if v16 else ChargePoint201)(args.id, ws, response_timeout=TIMEOUT)
    task = asyncio.create_task(cp.start())
    if v16:
        r = await cp.call(call16.BootNotification(charge_point_vendor="PyVendor", charge_point_model="PyModel"))
    else:
        r = await cp.call(
            call201.BootNotification(charging_station={"model": "PyModel", "vendor_name": "PyVendor"}, reason="PowerUp")
        )
    emit(boot={"status": r.status, "interval": r.interval, "current_time": r.current_time})
    r = await cp.call(call16.Heartbeat() if v16 else call201.Heartbeat())
    emit(heartbeat=r.current_time)
    if v16:
        await cp.call(call16.StatusNotification(connector_id=args.number, error_code="NoError", status=args.status))
    else:
        await cp.call(
            call201.StatusNotification(
                timestamp=now(), connector_status=args.status, evse_id=args.number, connector_id=1
            )
        )
    emit(status_notification="answered")
    if v16:
        r = await cp.call(call16.DataTransfer(vendor_id="PyVendor", message_id="hello"))
    else:
        r = await cp.call(call201.DataTransfer(vendor_id="PyVendor", message_id="hello"))
    emit(data_transfer=r.status)
    task.cancel()
    await ws.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="the charger's ws_url (ws://host:port/ocpp/ID)")
    p.add_argument("--id", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--version", choices=["1.6", "2.0.1"], required=True)
    p.add_argument("--status", required=True, help="OCPP connector status to report")
    p.add_argument("--number", type=int, default=1, help="connector (1.6) / EVSE (2.0.1) number")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(asyncio.wait_for(run(args), 40))
    except Exception as e:  # noqa: BLE001 - reported to the Rust test
        emit(error=f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
