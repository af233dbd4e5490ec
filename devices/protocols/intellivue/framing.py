"""MIB/RS232 framing of the IntelliVue Data Export protocol: FCS, transparency and a resynchronising splitter.

A frame on the wire is ``C0 | hdr(4) | user data | FCS(2) | C1`` where every byte between the delimiters
(header, data and FCS alike) equal to ``C0``, ``C1`` or ``7D`` is sent as ``7D, byte ^ 0x20``;
``7D C1`` aborts a frame. The FCS is the PPP/IrLAP CRC-16 (reflected polynomial 0x8408, initial 0xFFFF,
ones-complemented) over header and data, sent low byte first.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

BOF = 0xC0
EOF = 0xC1
ESC = 0x7D
PROTOCOL_ID = 0x11
MSG_TYPE = 0x01
#: A frame larger than this (escaped) is garbage: the monitor's MTU is about 1000 bytes of user data.
MAX_FRAME = 8192

# The reflected CRC-16/CCITT equals the bit-reversal of the non-reflected one (binascii.crc_hqx, in C)
# computed over bit-reversed bytes; the initial value 0xFFFF is its own reversal. This keeps the hot path
# out of Python.
_REVERSE_BYTE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _reverse16(value: int) -> int:
    return (_REVERSE_BYTE[value & 0xFF] << 8) | _REVERSE_BYTE[value >> 8]


def fcs(data: bytes) -> int:
    """The 16-bit FCS of ``data`` (header + user data), as the integer to send low byte first."""
    crc = binascii.crc_hqx(bytes(data).translate(_REVERSE_BYTE), 0xFFFF)
    return _reverse16(crc) ^ 0xFFFF


def escape(data: bytes) -> bytes:
    """Apply transparency: ``C0``, ``C1`` and ``7D`` become ``7D, byte ^ 0x20``.

    ``7D`` is replaced first so the escapes it inserts are not escaped again.
    """
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\xc0", b"\x7d\xe0").replace(b"\xc1", b"\x7d\xe1")


def unescape(data: bytes) -> bytes:
    """Undo transparency. A trailing lone ``7D`` is dropped (``7D C1`` is an abort, handled before this)."""
    if ESC not in data:
        return bytes(data)
    parts = bytes(data).split(b"\x7d")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if part:
            out.append(part[0] ^ 0x20)
            out += part[1:]
    return bytes(out)


def frame_body(user_data: bytes) -> bytes:
    """Header + user data (unescaped, without FCS)."""
    return struct.pack(">BBH", PROTOCOL_ID, MSG_TYPE, len(user_data)) + bytes(user_data)


def encode_raw(content: bytes) -> bytes:
    """Frame arbitrary ``content`` (already including any header): FCS, transparency, delimiters."""
    check = fcs(content)
    return bytes([BOF]) + escape(bytes(content) + bytes((check & 0xFF, check >> 8))) + bytes([EOF])


def encode_frame(user_data: bytes) -> bytes:
    """A complete wire frame carrying ``user_data`` (header, FCS and transparency added)."""
    return encode_raw(frame_body(user_data))


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One thing the splitter found: a good frame's user data, or a rejected frame with the reason."""

    ok: bool
    user_data: bytes  # user data for good frames; the raw (escaped) bytes for bad ones, for the hex view
    note: str = ""


class FrameSplitter:
    """Incremental frame splitter: feed it bytes as they arrive, get good and bad frames back.

    Bytes outside ``C0 … C1`` are garbage and skipped (counted as a resync); a new ``C0`` before the ``C1``
    abandons the frame in progress (the sender restarted or bytes were lost); frames with a bad FCS, a bad
    header or an abort sequence are reported as bad and skipped.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.resyncs = 0

    def reset(self) -> None:
        """Drop any partial frame."""
        self._buf.clear()

    def feed(self, data: bytes) -> list[FrameResult]:
        """Add ``data`` and return every complete frame it finishes, in order."""
        buf = self._buf
        buf += data
        results: list[FrameResult] = []
        pos = 0
        n = len(buf)
        while pos < n:
            start = buf.find(BOF, pos)
            if start < 0:
                # no frame start anywhere: everything left is garbage
                self.resyncs += 1
                pos = n
                break
            if start > pos:
                self.resyncs += 1
            end = buf.find(EOF, start + 1)
            if end < 0:
                pos = start
                if n - start > MAX_FRAME:
                    results.append(FrameResult(False, bytes(buf[start:start + 64]),
                                               "oversized frame dropped"))
                    self.resyncs += 1
                    pos = n
                break
            # a later C0 before this C1 means the frame in progress was cut off: restart there
            restart = buf.rfind(BOF, start + 1, end)
            if restart >= 0:
                results.append(FrameResult(False, bytes(buf[start:restart]),
                                           "truncated frame (new start flag)"))
                self.resyncs += 1
                start = restart
            raw = bytes(buf[start + 1:end])
            pos = end + 1
            results.append(self._check(raw))
        del buf[:pos]
        return results

    @staticmethod
    def _check(raw: bytes) -> FrameResult:
        if raw.endswith(b"\x7d"):  # a real escape is never followed by C1, so this is the abort sequence
            return FrameResult(False, raw, "aborted by sender (7D C1)")
        body = unescape(raw)
        if len(body) < 6:
            return FrameResult(False, raw, f"frame too short ({len(body)} bytes)")
        content, check = body[:-2], body[-2] | (body[-1] << 8)
        if fcs(content) != check:
            return FrameResult(False, raw, "FCS mismatch")
        proto, msg_type, length = struct.unpack_from(">BBH", content)
        if proto != PROTOCOL_ID or msg_type != MSG_TYPE:
            return FrameResult(False, raw, f"unknown protocol id/type {proto:#04x}/{msg_type:#04x}")
        if length != len(content) - 4:
            return FrameResult(False, raw, f"length field {length} but {len(content) - 4} bytes of data")
        return FrameResult(True, content[4:])
