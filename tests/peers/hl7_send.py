"""Sends HL7 v2 messages over MLLP as an independent monitor would.

Messages are built with hl7apy and sent, all on one connection, with
python-hl7's MLLPClient; each ACK is parsed with python-hl7.

Usage: hl7_send.py HOST PORT SPEC_JSON

SPEC_JSON is a list of messages:
  {"type": "ORU_R01" or "ADT_A01", "control_id": "...", "eui64": "...",
   "pv1": "ICU^301^3", "time": "YYYYMMDDHHMMSS+ZZZZ",
   "obx": [{"type": "NM", "code": "147842^MDC_ECG_HEART_RATE^MDC",
            "sub_id": "1.5.1.1", "value": "80",
            "unit": "264864^MDC_DIM_BEAT_PER_MIN^MDC", "status": "R"}]}

Prints one JSON line per message: {"msa1", "msa2", "err", "sent"}, where
"sent" is the message as it went on the wire (ER7, segments split by CR).
"""

import json
import sys

import hl7
from hl7.client import MLLPClient
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message


def build(spec):
    kind = spec.get("type", "ORU_R01")
    m = Message(kind, version="2.6", validation_level=VALIDATION_LEVEL.TOLERANT)
    eui = spec.get("eui64", "")
    m.msh.msh_3 = f"PEER^{eui}^EUI-64" if eui else "PEER"
    m.msh.msh_4 = "WARD"
    m.msh.msh_5 = "HEALTHSPHERE"
    m.msh.msh_7 = spec["time"]
    m.msh.msh_9 = kind.replace("_", "^", 1) + "^" + kind
    m.msh.msh_10 = spec["control_id"]
    m.msh.msh_11 = "P"
    m.msh.msh_12 = "2.6"
    if kind != "ORU_R01":
        return m
    result = m.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    patient.pid.pid_3 = "4711"
    visit = patient.add_group("ORU_R01_VISIT")
    visit.pv1.pv1_2 = "I"
    if spec.get("pv1"):
        # Components one by one, so that a delimiter inside a part is escaped.
        for i, part in enumerate(spec["pv1"].split("^"), start=1):
            if part:
                setattr(visit.pv1.pv1_3, f"pl_{i}", part)
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    order.obr.obr_4 = "182777000^monitoring of patient^SCT"
    order.obr.obr_7 = spec["time"]
    device = order.add_group("ORU_R01_OBSERVATION")
    device.obx.obx_1 = "1"
    device.obx.obx_3 = "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC"
    device.obx.obx_4 = "1.0.0.0"
    device.obx.obx_11 = "X"
    for n, o in enumerate(spec.get("obx", []), start=2):
        obs = order.add_group("ORU_R01_OBSERVATION")
        obs.obx.obx_1 = str(n)
        obs.obx.obx_2 = o.get("type", "NM")
        obs.obx.obx_3 = o["code"]
        obs.obx.obx_4 = o.get("sub_id", f"1.1.1.{n}")
        if o.get("value", "") != "":
            obs.obx.obx_5 = o["value"]
        if o.get("unit"):
            obs.obx.obx_6 = o["unit"]
        obs.obx.obx_11 = o.get("status", "R")
        if eui:
            obs.obx.obx_18 = f"{eui}^^{eui}^EUI-64"
    return m


def parse_ack(raw):
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    text = text.strip("\x0b\x1c\r\n")
    ack = hl7.parse(text)
    msa = ack.segment("MSA")
    err = ""
    try:
        err = str(ack.segment("ERR")[8])
    except KeyError:
        pass
    return {"msa1": str(msa[1]), "msa2": str(msa[2]), "err": err}


def main() -> int:
    host, port, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    with MLLPClient(host, port) as client:
        client.socket.settimeout(20)
        for message in spec:
            er7 = build(message).to_er7()
            reply = parse_ack(client.send_message(er7))
            reply["sent"] = er7
            print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
