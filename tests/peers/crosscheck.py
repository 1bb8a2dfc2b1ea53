"""Independent answers for the codec cross-check tests.

Usage:
  crosscheck.py checksums HEX...   one JSON line per vector:
                                   {"x25": CRC-16/X-25, "sum8": sum mod 256}
                                   computed with crccheck
  crosscheck.py hl7 SPEC_JSON      the ER7 text hl7apy builds for SPEC (see
                                   hl7_send.py), as one JSON string
"""

import json
import sys

from crccheck.checksum import Checksum8
from crccheck.crc import CrcX25


def checksums(vectors):
    for text in vectors:
        data = bytes.fromhex(text)
        print(json.dumps({"x25": CrcX25.calc(data), "sum8": Checksum8.calc(data)}))


def main() -> int:
    if sys.argv[1] == "checksums":
        checksums(sys.argv[2:])
    elif sys.argv[1] == "hl7":
        from hl7_send import build

        print(json.dumps(build(json.loads(sys.argv[2])).to_er7()))
    else:
        print(f"unknown command {sys.argv[1]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
