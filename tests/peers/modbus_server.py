"""A Modbus device played by pymodbus, an implementation independent of ours.

Usage:
    modbus_server.py tcp PORT                 (PORT 0 picks a free port)
    modbus_server.py rtu PATH [BAUD [PARITY]] (PARITY N, E or O; default 19200 E)

Serves unit 1 on 127.0.0.1 (TCP) or on the serial device PATH (RTU), prints
"READY <port>" or "READY <path>" once listening, and runs until its standard
input closes (the test that started it ended) or it is killed. Unit 7 never
answers, like a dead device on an RS-485 bus. (pymodbus 3.16 answers unknown
unit ids with exception 0x04 despite ignore_missing_devices, so the silent unit
is a device whose request handler never finishes: no byte goes on the wire.)

The register values are computed here with Python's struct module, not with
our Rust encoder, so a test that decodes them checks our word orders, byte
orders, scales and types against an independent encoding. VALUES lists what
each should decode to; tests/it/modbus.rs holds the matching profile.
"""

import asyncio
import struct
import sys

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNIT = 1
SILENT_UNIT = 7
# Reading a holding register range that covers this address is refused with
# "server device failure" (0x04), while the address itself exists.
REFUSED_ADDRESS = 100


def words(fmt: str, value, word_order: str = "big", byte_order: str = "big") -> list[int]:
    """Registers holding `value` packed big-endian by `fmt`, then reordered."""
    data = struct.pack(">" + fmt, value)
    regs = [data[i : i + 2] for i in range(0, len(data), 2)]
    if byte_order == "little":
        regs = [r[::-1] for r in regs]
    if word_order == "little":
        regs.reverse()
    return [int.from_bytes(r, "big") for r in regs]


def text(value: str, registers: int) -> list[int]:
    data = value.encode("ascii").ljust(registers * 2, b"\0")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


# Input registers from address 0, contiguous.
INPUT = (
    words("h", -123)  # 0: i16, scale 0.1: fridge_temperature -12.3
    + words("H", 160)  # 1: u16, scale 0.1: respiratory_rate 16.0
    + words("f", 21.5)  # 2-3: f32 ABCD: ambient_temperature 21.5
    + words("f", 37.25, word_order="little")  # 4-5: f32 CDAB: body_temperature 37.25
    + words("I", 72, "little", "little")  # 6-7: u32 DCBA: heart_rate 72
    + words("i", 9650, byte_order="little")  # 8-9: i32 BADC, scale 0.01: spo2 96.5
    + words("d", 5.3)  # 10-13: f64: etco2 5.3 kPa
    + words("H", 250)  # 14: u16, scale 0.01, offset 1: perfusion_index 3.5
)

# Holding registers 0 to 30 (unused ones 0, so merged reads may span gaps), and
# the refused address on its own.
HOLDING = [0] * 31
HOLDING[0] = 0b0000_0000_0000_0101  # bits: 0 door_open, 1 alarm (clear), 2 power_failure
HOLDING[1:3] = words("I", 1 << 17, word_order="little")  # u32 CDAB, bit 17: relay_open
HOLDING[10:14] = text("HS-PEER1", 4)  # serial_number
HOLDING[20] = 4012  # u16, scale 0.1: oxygen_pressure 401.2 kPa

COILS = [True, False, False, False]  # 0: alarm_relay
DISCRETE_INPUTS = [False, False, False, True]  # 3: door_contact


async def refuse_configured(function_code, _start, address, count, _registers, _values):
    """The SimDevice action: refuse reads of holding registers that cover REFUSED_ADDRESS."""
    if function_code == 3 and address <= REFUSED_ADDRESS < address + count:
        return ExcCodes.DEVICE_FAILURE
    return None


async def never_answer(*_args):
    """The silent unit's action: wait forever, so no response is ever sent."""
    await asyncio.Event().wait()


def silent_device() -> SimDevice:
    block = [SimData(0, count=16, values=0, datatype=DataType.REGISTERS)]
    bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    return SimDevice(SILENT_UNIT, simdata=(bits, bits, block, block), action=never_answer)


def device() -> SimDevice:
    return SimDevice(
        UNIT,
        simdata=(
            [SimData(0, values=COILS, datatype=DataType.BITS)],
            [SimData(0, values=DISCRETE_INPUTS, datatype=DataType.BITS)],
            [
                SimData(0, values=HOLDING, datatype=DataType.REGISTERS),
                SimData(REFUSED_ADDRESS, values=[0], datatype=DataType.REGISTERS),
            ],
            [SimData(0, values=INPUT, datatype=DataType.REGISTERS)],
        ),
        action=refuse_configured,
    )


async def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "tcp" and len(sys.argv) == 3:
        server = ModbusTcpServer(
            [device(), silent_device()],
            address=("127.0.0.1", int(sys.argv[2])),
            ignore_missing_devices=True,
        )
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
    elif mode == "rtu" and 3 <= len(sys.argv) <= 5:
        path = sys.argv[2]
        baud = int(sys.argv[3]) if len(sys.argv) > 3 else 19200
        parity = sys.argv[4] if len(sys.argv) > 4 else "E"
        server = ModbusSerialServer(
            [device(), silent_device()],
            framer=FramerType.RTU,
            port=path,
            baudrate=baud,
            parity=parity,
            ignore_missing_devices=True,
        )
        await server.serve_forever(background=True)
        print(f"READY {path}", flush=True)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    # Until the test that started us closes our standard input.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
