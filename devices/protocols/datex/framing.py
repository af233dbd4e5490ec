"""Serial framing of the GE Datex-Ohmeda S/5 Computer Interface: checksum, transparency, resynchronisation.

A frame on the wire is ``7E | record | checksum | 7E``. The checksum is the sum of the *record* bytes modulo
256, computed before escaping. Escaping (transparency) then covers the record **and** the checksum byte:
``7E`` is sent as ``7D 5E`` and ``7D`` as ``7D 5D`` (M1017617 ch. 2, "Data transparency" and the note under
"Application data structure"). Several public implementations add the escape bytes into the checksum or leave
the checksum byte unescaped; both are wrong and fail on the guide's own 60-s trend example, whose checksum is
``0x7D`` and goes out as ``7D 5D``.

The flag ``7E`` never occurs inside a frame, so every flag is a safe place to resynchronise: each non-empty
run of bytes between two flags is a candidate frame, checked for escapes, length, checksum and the record's
own length field. Monitors send ``7E rec 7E 7E rec 7E``, so the empty run between adjacent flags is normal.
"""

from __future__ import annotations

from dataclasses import dataclass

FLAG = 0x7E
ESC = 0x7D
HEADER_SIZE = 40
#: The DRI record data area is at most 1450 bytes after the 40-byte header (8005313 §2.2).
MAX_RECORD = HEADER_SIZE + 1450
#: Escaped record + checksum can at most double; anything longer without a flag is garbage.
MAX_ESCAPED = 2 * (MAX_RECORD + 1)

_FLAG_BYTE = b"\x7e"
_ESC_BYTE = b"\x7d"
_ESC_FLAG = b"\x7d\x5e"
_ESC_ESC = b"\x7d\x5d"


def checksum(record: bytes) -> int:
    """The frame checksum of ``record``: the sum of its bytes modulo 256 (before any escaping)."""
    return sum(record) & 0xFF


def escape(data: bytes) -> bytes:
    """Apply transparency: ``7D`` becomes ``7D 5D`` (first, so it is not re-escaped), ``7E`` ``7D 5E``."""
    return bytes(data).replace(_ESC_BYTE, _ESC_ESC).replace(_FLAG_BYTE, _ESC_FLAG)


def unescape(data: bytes) -> bytes | None:
    """Undo transparency; ``None`` when ``data`` holds an escape other than ``7D 5D``/``7D 5E`` (corrupt).

    Replacing ``7D 5E`` before ``7D 5D`` is exact for a valid stream: every ``7D`` in it leads a pair, so a
    ``7D 5E`` match can only be a real pair, and after the first pass the only ``7D`` left lead ``7D 5D``
    pairs.
    """
    data = bytes(data)
    if ESC not in data:
        return data
    n_esc = data.count(_ESC_BYTE)
    if n_esc != data.count(_ESC_FLAG) + data.count(_ESC_ESC):
        return None
    return data.replace(_ESC_FLAG, _FLAG_BYTE).replace(_ESC_ESC, _ESC_BYTE)


def encode_frame(record: bytes) -> bytes:
    """A complete wire frame for ``record``: checksum appended, record and checksum escaped, flags around."""
    record = bytes(record)
    return _FLAG_BYTE + escape(record + bytes((checksum(record),))) + _FLAG_BYTE


def check_record(unescaped: bytes) -> str:
    """Why an unescaped frame body (record + checksum) is not a valid record, or ``""`` when it is."""
    size = len(unescaped) - 1
    if size < HEADER_SIZE:
        return f"too short: {size} record bytes, a header alone is {HEADER_SIZE}"
    expected = sum(unescaped[:-1]) & 0xFF
    if expected != unescaped[-1]:
        return f"checksum mismatch: record sums to {expected:02X}, frame says {unescaped[-1]:02X}"
    r_len = int.from_bytes(unescaped[0:2], "little", signed=True)
    if r_len != size:
        return f"length field says {r_len} bytes but the frame holds {size}"
    return ""


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One thing the splitter found.

    ``kind`` is ``"ok"`` (``record`` is a valid record without its checksum), ``"bad"`` (a delimited frame
    that failed a check; ``note`` says which) or ``"skipped"`` (bytes outside any frame: before the first flag
    after a start or reset, or a run too long to be a frame). ``wire`` holds the bytes as received, for the
    hex view.
    """

    kind: str
    record: bytes
    wire: bytes
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class FrameSplitter:
    """Splits a byte stream into checked records; resynchronises on the next flag after anything bad.

    Holds at most one partial frame between calls. Never raises on any input.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._synced = False  # False until a flag is seen: earlier bytes may be the tail of a frame

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect the next bytes may start mid-frame)."""
        self._buf.clear()
        self._synced = False

    @property
    def pending(self) -> int:
        """Bytes held waiting for a closing flag."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[FrameResult]:
        """Consume ``data``; return the frames (good or bad) and skipped runs completed by it, in order."""
        buf = self._buf
        buf += data
        results: list[FrameResult] = []
        pos = 0
        if not self._synced:
            first = buf.find(FLAG)
            if first < 0:
                if len(buf) > MAX_ESCAPED:
                    results.append(FrameResult("skipped", b"", bytes(buf), "no frame flag in the bytes"))
                    buf.clear()
                return results
            if first > 0:
                results.append(
                    FrameResult("skipped", b"", bytes(buf[:first]), "bytes before the first frame flag"))
            self._synced = True
            pos = first + 1
        find = buf.find
        while True:
            end = find(FLAG, pos)
            if end < 0:
                break
            if end > pos:
                results.append(self._check(bytes(buf[pos:end])))
            pos = end + 1
        del buf[:pos]
        if len(buf) > MAX_ESCAPED:
            # Longer than any frame can be: the closing flag was lost. Drop it and hunt for the next flag.
            results.append(FrameResult("bad", b"", bytes(buf), f"no closing flag within {MAX_ESCAPED} bytes"))
            buf.clear()
            self._synced = False
        return results

    @staticmethod
    def _check(segment: bytes) -> FrameResult:
        body = unescape(segment)
        wire = _FLAG_BYTE + segment + _FLAG_BYTE
        if body is None:
            return FrameResult("bad", b"", wire, "invalid escape sequence (7D not followed by 5D or 5E)")
        problem = check_record(body)
        if problem:
            return FrameResult("bad", b"", wire, problem)
        return FrameResult("ok", body[:-1], wire)
