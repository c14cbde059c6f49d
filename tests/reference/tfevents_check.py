"""An independent check of a TensorBoard event file: TFRecord framing with masked CRC32C (Python's
crc32c module) and each record decoded by `protoc --decode_raw`, which knows no schema, so the
field numbers printed are the ones in the file. Usage: tfevents_check.py FILE. Exit 1 on a bad
record."""
import struct
import subprocess
import sys

import crc32c


def masked(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def main() -> int:
    data = open(sys.argv[1], "rb").read()
    at, records = 0, []
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        if length_crc != masked(header):
            print(f"bad length crc at byte {at}")
            return 1
        payload = data[at + 12:at + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        if payload_crc != masked(payload):
            print(f"bad data crc at byte {at}")
            return 1
        records.append(payload)
        at += 16 + length
    print(f"records: {len(records)}")
    for payload in records:
        decoded = subprocess.run(["protoc", "--decode_raw"], input=payload, capture_output=True,
                                 check=True)
        print(decoded.stdout.decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
