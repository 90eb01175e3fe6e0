"""Scripted OCPP charger for the micro-CPO transaction tests (tests/e2e_microcpo_tx.rs).

Uses the PyPI `ocpp` 2.1.0 ChargePoint (1.6 or 2.0.1) over `websockets`. Connects with HTTP
Basic auth, boots, then runs the steps of `--script` (a JSON list) in order and prints one JSON
object per line on stdout. Steps (each an object with one key):

- {"authorize": "UID"}                       -> {"authorize": "<status>"}
- {"start": {"number": 1, "id_tag": "UID", "wh": 1000, "at": "ISO", "tx": "T-1"}}
                                              -> {"start": {"status": ..., "transaction_id": ...}}
  (1.6 StartTransaction; 2.0.1 TransactionEvent Started with `tx` as transactionId)
- {"meter": {"number": 1, "wh": 5000, "at": "ISO", "power_w": 7400}}   -> {"meter": "answered"}
  (1.6 MeterValues on the last started transaction; 2.0.1 TransactionEvent Updated)
- {"stop": {"wh": 9000, "at": "ISO", "reason": "Local", "tx_id": <override>}} -> {"stop": {...}}
- {"status": {"number": 1, "status": "Charging"}}                      -> {"status": "answered"}
- {"needs": {"number": 1}}                   -> {"needs": "<status>"}  (2.0.1 NotifyEVChargingNeeds)
- {"raw": {"action": "...", "payload": {...}, "unique_id": "..."}}
        sends the payload unvalidated -> {"raw": {"result": ...}} or {"raw": {"error": "<code>"}}
- {"sleep": seconds}
- {"wait": {"action": "RemoteStartTransaction", "timeout": 20}}
        waits until the CSMS has sent that action -> {"waited": "<action>"}

Incoming CSMS calls are answered positively and printed as {"received": {"action", "payload"}};
a remote start starts a transaction (and a remote stop stops it) the way a real charger does.
A refused websocket upgrade prints {"rejected": HTTP status}. Exit status 0 unless something
unexpected happened ({"error": ...} is printed).
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

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

TIMEOUT = 15


def emit(**obj):
    # The ocpp library reads JSON fractions as decimal.Decimal.
    print(json.dumps(obj, default=str), flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class State:
    def __init__(self):
        self.transaction_id = None  # last started (1.6: int from the CSMS; 2.0.1: our string)
        self.seq = 0
        self.received = []
        self.event = asyncio.Event()
        self.evse = 1
        self.meter = 0


STATE = State()


def note(action, payload):
    STATE.received.append(action)
    emit(received={"action": action, "payload": payload})
    STATE.event.set()


class CP16(ChargePoint16):
    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag, connector_id=None, charging_profile=None, **kw):
        note("RemoteStartTransaction", {"id_tag": id_tag, "connector_id": connector_id, "charging_profile": charging_profile})
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(start16(self, connector_id or 1, id_tag, STATE.meter, now())))
        return result16.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id, **kw):
        note("RemoteStopTransaction", {"transaction_id": transaction_id})
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(stop16(self, transaction_id, STATE.meter + 1000, now(), "Remote")))
        return result16.RemoteStopTransaction(status="Accepted")

    @on("UnlockConnector")
    async def on_unlock(self, connector_id, **kw):
        note("UnlockConnector", {"connector_id": connector_id})
        return result16.UnlockConnector(status="Unlocked")

    @on("ReserveNow")
    async def on_reserve(self, connector_id, expiry_date, id_tag, reservation_id, **kw):
        note("ReserveNow", {"connector_id": connector_id, "id_tag": id_tag, "reservation_id": reservation_id})
        return result16.ReserveNow(status="Accepted")

    @on("CancelReservation")
    async def on_cancel(self, reservation_id, **kw):
        note("CancelReservation", {"reservation_id": reservation_id})
        return result16.CancelReservation(status="Accepted")

    @on("SetChargingProfile")
    async def on_set_profile(self, connector_id, cs_charging_profiles, **kw):
        note("SetChargingProfile", {"connector_id": connector_id, "cs_charging_profiles": cs_charging_profiles})
        return result16.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_profile(self, **kw):
        note("ClearChargingProfile", kw)
        return result16.ClearChargingProfile(status="Accepted")

    @on("GetCompositeSchedule")
    async def on_composite(self, connector_id, duration, **kw):
        note("GetCompositeSchedule", {"connector_id": connector_id, "duration": duration})
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=now(),
            charging_schedule={
                "duration": duration,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}],
            },
        )


class CP201(ChargePoint201):
    @on("RequestStartTransaction")
    async def on_request_start(self, id_token, remote_start_id, evse_id=None, **kw):
        note("RequestStartTransaction", {"id_token": id_token, "remote_start_id": remote_start_id, "evse_id": evse_id, **kw})
        tx = f"R-{remote_start_id}"
        asyncio.get_running_loop().call_later(
            0.2, lambda: asyncio.ensure_future(start201(self, evse_id or 1, id_token["id_token"], STATE.meter, now(), tx, id_token.get("type", "Central"), remote_start_id))
        )
        return result201.RequestStartTransaction(status="Accepted", transaction_id=tx)

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id, **kw):
        note("RequestStopTransaction", {"transaction_id": transaction_id})
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(stop201(self, transaction_id, STATE.meter + 1000, now(), "Remote")))
        return result201.RequestStopTransaction(status="Accepted")

    @on("UnlockConnector")
    async def on_unlock(self, evse_id, connector_id, **kw):
        note("UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id})
        return result201.UnlockConnector(status="Unlocked")

    @on("ReserveNow")
    async def on_reserve(self, id, expiry_date_time, id_token, **kw):
        note("ReserveNow", {"id": id, "id_token": id_token, **kw})
        return result201.ReserveNow(status="Accepted")

    @on("CancelReservation")
    async def on_cancel(self, reservation_id, **kw):
        note("CancelReservation", {"reservation_id": reservation_id})
        return result201.CancelReservation(status="Accepted")

    @on("SetChargingProfile")
    async def on_set_profile(self, evse_id, charging_profile, **kw):
        note("SetChargingProfile", {"evse_id": evse_id, "charging_profile": charging_profile})
        return result201.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_profile(self, **kw):
        note("ClearChargingProfile", kw)
        return result201.ClearChargingProfile(status="Accepted")

    @on("GetCompositeSchedule")
    async def on_composite(self, duration, evse_id, **kw):
        note("GetCompositeSchedule", {"evse_id": evse_id, "duration": duration})
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evseId": evse_id,
                "duration": duration,
                "scheduleStart": now(),
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}],
            },
        )


def sampled(wh, at, power_w=None, v16=True):
    values = [{"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}] if v16 else [
        {"value": float(wh), "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}
    ]
    if power_w is not None:
        values.append({"value": str(power_w), "unit": "W", "measurand": "Power.Active.Import"} if v16 else
                      {"value": float(power_w), "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}})
    return [{"timestamp": at, "sampledValue": values}]


async def start16(cp, number, id_tag, wh, at):
    r = await cp.call(call16.StartTransaction(connector_id=number, id_tag=id_tag, meter_start=int(wh), timestamp=at))
    STATE.transaction_id = r.transaction_id
    STATE.evse = number
    STATE.meter = wh
    emit(start={"status": r.id_tag_info["status"], "transaction_id": r.transaction_id})
    return r


async def stop16(cp, tx_id, wh, at, reason):
    r = await cp.call(call16.StopTransaction(meter_stop=int(wh), timestamp=at, transaction_id=tx_id, reason=reason))
    STATE.meter = wh
    emit(stop={"id_tag_info": r.id_tag_info})
    return r


def next_seq():
    s = STATE.seq
    STATE.seq += 1
    return s


async def start201(cp, number, id_tag, wh, at, tx, kind="ISO14443", remote_start_id=None):
    info = {"transactionId": tx, "chargingState": "Charging"}
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    r = await cp.call(
        call201.TransactionEvent(
            event_type="Started", timestamp=at, trigger_reason="RemoteStart" if remote_start_id is not None else "Authorized",
            seq_no=next_seq(), transaction_info=info, id_token={"idToken": id_tag, "type": kind},
            evse={"id": number, "connectorId": 1}, meter_value=sampled(wh, at, v16=False),
        )
    )
    STATE.transaction_id = tx
    STATE.evse = number
    STATE.meter = wh
    status = (r.id_token_info or {}).get("status")
    emit(start={"status": status, "transaction_id": tx})
    return r


async def stop201(cp, tx, wh, at, reason):
    r = await cp.call(
        call201.TransactionEvent(
            event_type="Ended", timestamp=at, trigger_reason="StopAuthorized" if reason != "Remote" else "RemoteStop",
            seq_no=next_seq(), transaction_info={"transactionId": tx, "stoppedReason": reason, "chargingState": "EVConnected"},
            meter_value=sampled(wh, at, v16=False),
        )
    )
    STATE.meter = wh
    emit(stop={"id_token_info": r.id_token_info})
    return r


async def step(cp, v16, s):
    (kind, arg), = s.items()
    if kind == "authorize":
        if v16:
            r = await cp.call(call16.Authorize(id_tag=arg))
            emit(authorize=r.id_tag_info["status"])
        else:
            r = await cp.call(call201.Authorize(id_token={"idToken": arg, "type": "ISO14443"}))
            emit(authorize=r.id_token_info["status"])
    elif kind == "start":
        if v16:
            await start16(cp, arg.get("number", 1), arg["id_tag"], arg["wh"], arg.get("at", now()))
        else:
            await start201(cp, arg.get("number", 1), arg["id_tag"], arg["wh"], arg.get("at", now()), arg.get("tx", "T-1"), arg.get("type", "ISO14443"))
    elif kind == "meter":
        at = arg.get("at", now())
        if v16:
            await cp.call(call16.MeterValues(connector_id=arg.get("number", STATE.evse), transaction_id=arg.get("tx_id", STATE.transaction_id),
                                             meter_value=sampled(arg["wh"], at, arg.get("power_w"))))
        else:
            await cp.call(call201.TransactionEvent(
                event_type="Updated", timestamp=at, trigger_reason="MeterValuePeriodic", seq_no=next_seq(),
                transaction_info={"transactionId": arg.get("tx_id", STATE.transaction_id), "chargingState": "Charging"},
                meter_value=sampled(arg["wh"], at, arg.get("power_w"), v16=False)))
        STATE.meter = arg["wh"]
        emit(meter="answered")
    elif kind == "stop":
        at = arg.get("at", now())
        tx = arg.get("tx_id", STATE.transaction_id)
        if v16:
            await stop16(cp, tx, arg["wh"], at, arg.get("reason", "Local"))
        else:
            await stop201(cp, tx, arg["wh"], at, arg.get("reason", "Local"))
    elif kind == "status":
        if v16:
            await cp.call(call16.StatusNotification(connector_id=arg.get("number", 1), error_code="NoError", status=arg["status"]))
        else:
            await cp.call(call201.StatusNotification(timestamp=now(), connector_status=arg["status"], evse_id=arg.get("number", 1), connector_id=1))
        emit(status="answered")
    elif kind == "needs":
        r = await cp.call(call201.NotifyEVChargingNeeds(
            evse_id=arg.get("number", 1),
            charging_needs={"requestedEnergyTransfer": "AC_three_phase",
                            "acChargingParameters": {"energyAmount": 20000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 400}}))
        emit(needs=r.status)
    elif kind == "raw":
        # The library's own call path (lock, send, wait for the answer) without validation or
        # payload classes, so that any JSON can be sent and a CALLERROR is seen as such.
        from ocpp.messages import Call
        import uuid
        msg = Call(unique_id=arg.get("unique_id") or str(uuid.uuid4()), action=arg["action"], payload=arg["payload"])
        async with cp._call_lock:
            await cp._send(msg.to_json())
            try:
                response = await cp._get_specific_response(msg.unique_id, TIMEOUT)
            except asyncio.TimeoutError:
                emit(raw={"error": "timeout"})
                return
        if response.message_type_id == 4:  # CALLERROR
            emit(raw={"error": response.error_code, "description": response.error_description})
        else:
            emit(raw={"result": response.payload})
    elif kind == "sleep":
        await asyncio.sleep(arg)
    elif kind == "wait":
        deadline = asyncio.get_running_loop().time() + arg.get("timeout", 20)
        while arg["action"] not in STATE.received:
            STATE.event.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {arg['action']} from the CSMS")
            try:
                await asyncio.wait_for(STATE.event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        STATE.received.remove(arg["action"])
        # Let a triggered start/stop run before the next step.
        await asyncio.sleep(arg.get("settle", 1.0))
        emit(waited=arg["action"])
    else:
        raise ValueError(f"unknown step {kind}")


async def run(args):
    token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
    v16 = args.version == "1.6"
    try:
        ws = await connect(
            args.url, subprotocols=["ocpp1.6" if v16 else "ocpp2.0.1"],
            additional_headers={"Authorization": f"Basic {token}"}, proxy=None,
            open_timeout=TIMEOUT, ping_interval=None, compression=None,
        )
    except InvalidStatus as e:
        emit(rejected=e.response.status_code)
        return
    emit(subprotocol=ws.subprotocol)
    cp = (CP16 if v16 else CP201)(args.id, ws, response_timeout=TIMEOUT)
    task = asyncio.create_task(cp.start())
    if v16:
        r = await cp.call(call16.BootNotification(charge_point_vendor="PyVendor", charge_point_model="PyModel"))
    else:
        r = await cp.call(call201.BootNotification(charging_station={"model": "PyModel", "vendor_name": "PyVendor"}, reason="PowerUp"))
    emit(boot={"status": r.status})
    for s in json.loads(args.script):
        await step(cp, v16, s)
    task.cancel()
    await ws.close()
    emit(done=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--version", choices=["1.6", "2.0.1"], required=True)
    p.add_argument("--script", required=True, help="JSON list of steps (see the module doc)")
    p.add_argument("--limit", type=float, default=90)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(asyncio.wait_for(run(args), args.limit))
    except Exception as e:  # noqa: BLE001 - reported to the Rust test
        emit(error=f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
