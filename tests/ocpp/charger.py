"""OCPP charger simulator for the gateway integration tests (crates/ocpp-gateway/tests/python_chargers.rs).

Uses the PyPI `ocpp` 2.1.0 ChargePoint for OCPP 1.6 and 2.0.1 over `websockets`. Each scenario
prints JSON objects, one per line, on stdout; the Rust test reads and checks them. Exit status 0
unless something unexpected happened (an exception is printed as {"error": ...}).
"""

import argparse
import asyncio
import base64
import json
import logging
import ssl
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

TIMEOUT = 10


def emit(**obj):
    print(json.dumps(obj), flush=True)


class Charger16(ChargePoint16):
    handled = None

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag, **kwargs):
        self.handled = {"action": "RemoteStartTransaction", "id_tag": id_tag}
        return result16.RemoteStartTransaction(status="Accepted")


class Charger201(ChargePoint201):
    handled = None

    @on("RequestStartTransaction")
    async def on_request_start(self, id_token, remote_start_id, **kwargs):
        self.handled = {"action": "RequestStartTransaction", "id_token": id_token["id_token"], "remote_start_id": remote_start_id}
        return result201.RequestStartTransaction(status="Accepted")


def subprotocol(version):
    return "ocpp1.6" if version == "1.6" else "ocpp2.0.1"


async def open_ws(args, password=None):
    headers = {}
    password = args.password if password is None else password
    if password:
        token = base64.b64encode(f"{args.id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    ssl_ctx = None
    if args.url.startswith("wss://"):
        ssl_ctx = ssl.create_default_context(cafile=args.cafile)
    return await connect(
        f"{args.url}/{args.id}",
        subprotocols=[subprotocol(args.version)],
        additional_headers=headers,
        ssl=ssl_ctx,
        proxy=None,
        open_timeout=TIMEOUT,
        ping_interval=None,
        compression=None,
    )


async def start(args, ws):
    cp = (Charger16 if args.version == "1.6" else Charger201)(args.id, ws, response_timeout=TIMEOUT)
    task = asyncio.create_task(cp.start())
    return cp, task


async def boot(args, cp):
    if args.version == "1.6":
        r = await cp.call(call16.BootNotification(charge_point_vendor="PyVendor", charge_point_model="PyModel"))
    else:
        r = await cp.call(
            call201.BootNotification(charging_station={"model": "PyModel", "vendor_name": "PyVendor"}, reason="PowerUp")
        )
    return {"status": r.status, "interval": r.interval, "current_time": r.current_time}


async def heartbeat(args, cp, unique_id=None):
    c = call16.Heartbeat() if args.version == "1.6" else call201.Heartbeat()
    r = await cp.call(c, unique_id=unique_id)
    return r.current_time


async def scenario_boot(args):
    ws = await open_ws(args)
    emit(subprotocol=ws.subprotocol)
    cp, task = await start(args, ws)
    emit(boot=await boot(args, cp))
    emit(heartbeat=await heartbeat(args, cp))
    task.cancel()
    await ws.close()


async def scenario_auth(args):
    try:
        ws = await open_ws(args)
    except InvalidStatus as e:
        emit(rejected=e.response.status_code)
        return
    emit(accepted=ws.subprotocol)
    await ws.close()


async def expect_error(cp, payload):
    try:
        await cp.call(payload, suppress=False, skip_schema_validation=True)
    except OCPPError as e:
        return e.code
    return None


async def scenario_invalid(args):
    ws = await open_ws(args)
    cp, task = await start(args, ws)
    if args.version == "1.6":
        codes = {
            "missing": await expect_error(cp, call16.BootNotification(charge_point_vendor="V", charge_point_model=None)),
            "type": await expect_error(cp, call16.BootNotification(charge_point_vendor="V", charge_point_model=42)),
            "enum": await expect_error(
                cp, call16.StatusNotification(connector_id=1, error_code="NoError", status="Sleeping")
            ),
            "length": await expect_error(cp, call16.Authorize(id_tag="x" * 21)),
        }
    else:
        codes = {
            "missing": await expect_error(cp, call201.BootNotification(charging_station=None, reason="PowerUp")),
            "type": await expect_error(
                cp, call201.BootNotification(charging_station={"model": 42, "vendor_name": "V"}, reason="PowerUp")
            ),
            "enum": await expect_error(
                cp, call201.BootNotification(charging_station={"model": "M", "vendor_name": "V"}, reason="Bored")
            ),
            "length": await expect_error(
                cp, call201.Authorize(id_token={"id_token": "x" * 37, "type": "ISO14443"})
            ),
        }
    emit(codes=codes)
    # the connection survives invalid payloads
    emit(boot=await boot(args, cp))
    task.cancel()
    await ws.close()


async def scenario_duplicate(args):
    ws = await open_ws(args)
    cp, task = await start(args, ws)
    first = await heartbeat(args, cp, unique_id="dup-1")
    await asyncio.sleep(0.05)
    second = await heartbeat(args, cp, unique_id="dup-1")
    third = await heartbeat(args, cp, unique_id="dup-2")
    emit(first=first, second=second, third=third)
    task.cancel()
    await ws.close()


async def scenario_replace(args):
    ws_a = await open_ws(args)
    cp_a, task_a = await start(args, ws_a)
    emit(a_boot=(await boot(args, cp_a))["status"])
    ws_b = await open_ws(args)
    cp_b, task_b = await start(args, ws_b)
    try:
        await asyncio.wait_for(task_a, TIMEOUT)
        emit(a_closed=False)
    except ConnectionClosed as e:
        emit(a_closed=True, a_close_code=e.rcvd.code if e.rcvd else None)
    emit(b_boot=(await boot(args, cp_b))["status"])
    task_b.cancel()
    await ws_b.close()


async def scenario_serve(args):
    ws = await open_ws(args)
    cp, task = await start(args, ws)
    emit(boot=(await boot(args, cp))["status"])
    emit(ready=True)
    for _ in range(int(TIMEOUT / 0.05)):
        if cp.handled is not None:
            break
        await asyncio.sleep(0.05)
    emit(handled=cp.handled)
    # let the CALLRESULT leave before closing
    await asyncio.sleep(0.2)
    task.cancel()
    await ws.close()


SCENARIOS = {
    "boot": scenario_boot,
    "auth": scenario_auth,
    "invalid": scenario_invalid,
    "duplicate": scenario_duplicate,
    "replace": scenario_replace,
    "serve": scenario_serve,
}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True, help="ws[s]://host:port/ocpp (the charger id is appended)")
    p.add_argument("--id", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--version", choices=["1.6", "2.0.1"], required=True)
    p.add_argument("--cafile", default=None, help="CA certificate for wss://")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    args = p.parse_args()
    # The ocpp library logs every CALLERROR it receives as a warning; the scenarios expect them.
    logging.getLogger("ocpp").setLevel(logging.ERROR)
    try:
        asyncio.run(asyncio.wait_for(SCENARIOS[args.scenario](args), 3 * TIMEOUT))
    except Exception as e:  # reported to the Rust test
        emit(error=f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
