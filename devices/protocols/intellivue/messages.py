"""Builders for IntelliVue Data Export messages (user data, before framing).

Host side: association request, MDS Create result, priority-list SET, single and extended polls, release.
Monitor side (for the emulator): association response, refuse, abort, release response, MDS Create event,
SET result and poll replies. Fixed building blocks are the ones the Philips guide lists in its "Association
Control Protocol Examples" appendix; everything else is assembled from the documented structures.
"""

from __future__ import annotations

import struct

from devices.protocols.intellivue import codec
from devices.protocols.intellivue.codec import encode_asn_length, encode_attributes, encode_li

#: SPpdu: session id 0xE100, presentation context 2 (the context the association building blocks set up)
SPPDU = b"\xe1\x00\x00\x02"
MDS_OBJECT = struct.pack(">HHH", codec.NOM_MOC_VMS_MDS, 0, 0)

_SESSION_DATA = bytes.fromhex("05 08 13 01 00 16 01 02 80 00 14 02 00 02")
# presentation header of the request after "C1 <LI>" (guide appendix)
_REQ_PRESENTATION = bytes.fromhex(
    "31 80 a0 80 80 01 01 00 00 a2 80 a0 03 00 00 01 a4 80 30 80 02 01 01 06 04 52 01 00 01 30"
    " 80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0c 2a 86 48 ce 14 02 01 00 00 00 01 01 30 80"
    " 06 0c 2a 86 48 ce 14 02 01 00 00 00 02 01 00 00 00 00 00 00 61 80 30 80 02 01 01 a0 80 60"
    " 80 a1 80 06 0c 2a 86 48 ce 14 02 01 00 00 00 03 01 00 00 be 80 28 80 06 0c 2a 86 48 ce 14"
    " 02 01 00 00 00 01 01 02 01 02 81")
_RESP_PRESENTATION = bytes.fromhex(
    "31 80 a0 80 80 01 01 00 00 a2 80 a0 03 00 00 01 a5 80 30 80 80 01 00 81 02 51 01 00 00 30"
    " 80 80 01 00 81 0c 2a 86 48 ce 14 02 01 00 00 00 02 01 00 00 00 00 61 80 30 80 02 01 01 a0"
    " 80 61 80 a1 80 06 0c 2a 86 48 ce 14 02 01 00 00 00 03 01 00 00 a2 03 02 01 00 a3 05 a1 03"
    " 02 01 00 be 80 28 80 02 01 02 81")
_TRAILER = bytes(16)

RELEASE_REQUEST = bytes.fromhex(
    "09 18 c1 16 61 80 30 80 02 01 01 a0 80 62 80 80 01 00 00 00 00 00 00 00 00 00")
RELEASE_RESPONSE = bytes.fromhex(
    "0a 18 c1 16 61 80 30 80 02 01 01 a0 80 63 80 80 01 00 00 00 00 00 00 00 00 00")
ABORT = bytes.fromhex(
    "19 2e 11 01 03 c1 29 a0 80 a0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01"
    " 01 a0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00")
REFUSE = bytes.fromhex("0c 03 32 01 00")

MDDL_VERSION1 = 0x80000000
NOMEN_VERSION = 0x40000000
SYST_CLIENT = 0x80000000
SYST_SERVER = 0x00800000
COLD_START = 0x20000000
HOT_START = 0x80000000
POLL_PROFILE_REV_0 = 0x80000000
P_OPT_DYN_OBJECTS = 0x60000000  # dynamic create + delete of objects
#: PollProfileExt options
EXT_NU_1SEC = 0x80000000
EXT_RTSA = 0x08000000
EXT_ENUM = 0x04000000
EXT_NU_PRIO_LIST = 0x02000000

#: wave priority list the driver asks for: ECG II, pleth, impedance resp, CO2 (32-bit labels, SCADA partition)
DEFAULT_WAVE_PRIORITY = (0x00020102, 0x00024BB4, 0x00025000, 0x000250AC)


def _user_info(system_type: int, startup: int, min_poll_period: int, mtu_rx: int, mtu_tx: int,
               ext_options: int) -> bytes:
    ext_value = struct.pack(">I", ext_options) + encode_attributes([])  # options, empty ext_attr list
    ext = encode_attributes([(codec.ATTR_POLL_PROFILE_EXT, ext_value)])
    profile = struct.pack(">IIIIII", POLL_PROFILE_REV_0, min_poll_period, mtu_rx, mtu_tx, 0xFFFFFFFF,
                          P_OPT_DYN_OBJECTS) + ext
    body = (struct.pack(">IIIII", MDDL_VERSION1, NOMEN_VERSION, 0, system_type, startup)
            + encode_attributes([])
            + encode_attributes([(codec.ATTR_POLL_PROFILE_SUPPORT, profile)]))
    return encode_asn_length(len(body)) + body


def _association_message(spdu: int, presentation: bytes, user_info: bytes) -> bytes:
    after_pres_li = presentation + user_info + _TRAILER
    pres = b"\xc1" + encode_li(len(after_pres_li)) + after_pres_li
    after_session_li = _SESSION_DATA + pres
    return bytes([spdu]) + encode_li(len(after_session_li)) + after_session_li


def association_request(min_poll_period: int = 4000, mtu_rx: int = 1000, mtu_tx: int = 1000,
                        ext_options: int = EXT_NU_1SEC | EXT_RTSA) -> bytes:
    """Association request asking for the poll profile with real-time numerics and waves.

    ``min_poll_period`` is in 1/8-ms ticks (4000 = 500 ms, which also sets the monitor's association
    timeout to its 10 s minimum); MTU 1000 is the largest the MIB/RS232 interface negotiates.
    """
    info = _user_info(SYST_CLIENT, COLD_START, min_poll_period, mtu_rx, mtu_tx, ext_options)
    return _association_message(codec.SESSION_CONNECT, _REQ_PRESENTATION, info)


def association_response(min_poll_period: int = 4000, mtu: int = 996,
                         ext_options: int = EXT_NU_1SEC | EXT_RTSA) -> bytes:
    """The monitor's association response (accept) with the negotiated poll profile."""
    info = _user_info(SYST_SERVER, HOT_START, min_poll_period, mtu, mtu, ext_options)
    return _association_message(codec.SESSION_ACCEPT, _RESP_PRESENTATION, info)


# --- remote operations ------------------------------------------------------------------------------------
def _roiv(invoke_id: int, command: int, argument: bytes) -> bytes:
    ro = struct.pack(">HHH", invoke_id, command, len(argument)) + argument
    return SPPDU + struct.pack(">HH", codec.RO_INVOKE, len(ro)) + ro


def _rors(invoke_id: int, command: int, result: bytes) -> bytes:
    ro = struct.pack(">HHH", invoke_id, command, len(result)) + result
    return SPPDU + struct.pack(">HH", codec.RO_RESULT, len(ro)) + ro


def _rolrs(state: int, count: int, invoke_id: int, command: int, result: bytes) -> bytes:
    ro = struct.pack(">BBHHH", state, count, invoke_id, command, len(result)) + result
    return SPPDU + struct.pack(">HH", codec.RO_LINKED_RESULT, len(ro)) + ro


def mds_create_result(invoke_id: int, event_time: int) -> bytes:
    """EventReportResult confirming the MDS Create event (echoes its invoke id and event time)."""
    result = MDS_OBJECT + struct.pack(">IHH", event_time, codec.NOM_NOTI_MDS_CREAT, 0)
    return _rors(invoke_id, codec.CMD_CONFIRMED_EVENT_REPORT, result)


def event_report_result(invoke_id: int, event_time: int, event_type: int, obj: bytes = MDS_OBJECT) -> bytes:
    """EventReportResult for any confirmed event report."""
    return _rors(invoke_id, codec.CMD_CONFIRMED_EVENT_REPORT,
                 obj + struct.pack(">IHH", event_time, event_type, 0))


def set_wave_priority(invoke_id: int, labels: tuple[int, ...] = DEFAULT_WAVE_PRIORITY) -> bytes:
    """Confirmed SET of the MDS's real-time sample array priority list (attribute 0xF23A)."""
    body = b"".join(struct.pack(">I", label) for label in labels)
    text_ids = struct.pack(">HH", len(labels), len(body)) + body
    entry = struct.pack(">HHH", 0, codec.ATTR_POLL_RTSA_PRIO_LIST, len(text_ids)) + text_ids  # 0 = REPLACE
    mod_list = struct.pack(">HH", 1, len(entry)) + entry
    return _roiv(invoke_id, codec.CMD_CONFIRMED_SET, MDS_OBJECT + struct.pack(">I", 0) + mod_list)


def extended_poll(invoke_id: int, poll_number: int, code: int, period_ticks: int) -> bytes:
    """Extended poll request for object ``code`` (0x0006 numerics, 0x0009 waves) with periodic replies."""
    attrs = encode_attributes([(codec.ATTR_TIME_PD_POLL, struct.pack(">I", period_ticks))])
    arg = struct.pack(">HHHH", poll_number, codec.NOM_PART_OBJ, code, 0) + attrs
    action = MDS_OBJECT + struct.pack(">IHH", 0, codec.NOM_ACT_POLL_MDIB_DATA_EXT, len(arg)) + arg
    return _roiv(invoke_id, codec.CMD_CONFIRMED_ACTION, action)


def single_poll(invoke_id: int, poll_number: int, code: int = codec.NOM_MOC_VMO_AL_MON,
                attr_group: int = codec.NOM_ATTR_GRP_VMO_STATIC) -> bytes:
    """Single poll request; the default (alert monitor, static context) is the guide's cheap keep-alive."""
    arg = struct.pack(">HHHH", poll_number, codec.NOM_PART_OBJ, code, attr_group)
    action = MDS_OBJECT + struct.pack(">IHH", 0, codec.NOM_ACT_POLL_MDIB_DATA, len(arg)) + arg
    return _roiv(invoke_id, codec.CMD_CONFIRMED_ACTION, action)


# --- monitor side -----------------------------------------------------------------------------------------
def mds_create_event(invoke_id: int, event_time: int, attributes: list[tuple[int, bytes]]) -> bytes:
    """Confirmed event report NOM_NOTI_MDS_CREAT carrying the MDS attributes."""
    info = MDS_OBJECT + encode_attributes(attributes)
    arg = MDS_OBJECT + struct.pack(">IHH", event_time, codec.NOM_NOTI_MDS_CREAT, len(info)) + info
    return _roiv(invoke_id, codec.CMD_CONFIRMED_EVENT_REPORT, arg)


def set_result(invoke_id: int, attributes: list[tuple[int, bytes]]) -> bytes:
    """Result of a confirmed SET: the object and its modified attributes."""
    return _rors(invoke_id, codec.CMD_CONFIRMED_SET, MDS_OBJECT + encode_attributes(attributes))


def get_result(invoke_id: int, attributes: list[tuple[int, bytes]]) -> bytes:
    """Result of a GET: the object and the requested attributes."""
    return _rors(invoke_id, codec.CMD_GET, MDS_OBJECT + encode_attributes(attributes))


def poll_context(context: int, observations: list[tuple[int, list[tuple[int, bytes]]]]) -> bytes:
    """A SingleContextPoll: ``(handle, attributes)`` observations of one context."""
    body = b"".join(struct.pack(">H", handle) + encode_attributes(attrs) for handle, attrs in observations)
    return struct.pack(">HHH", context, len(observations), len(body)) + body


def extended_poll_reply(invoke_id: int, poll_number: int, sequence_no: int, rel_time: int, code: int,
                        contexts: list[bytes], abs_time: bytes = b"\xff" * 8,
                        linked: tuple[int, int] | None = None) -> bytes:
    """An extended poll result (or one part of a linked result when ``linked=(state, count)``)."""
    body = b"".join(contexts)
    reply = (struct.pack(">HHI", poll_number, sequence_no, rel_time) + abs_time
             + struct.pack(">HHH", codec.NOM_PART_OBJ, code, 0)
             + struct.pack(">HH", len(contexts), len(body)) + body)
    result = MDS_OBJECT + struct.pack(">HH", codec.NOM_ACT_POLL_MDIB_DATA_EXT, len(reply)) + reply
    if linked is not None:
        return _rolrs(linked[0], linked[1], invoke_id, codec.CMD_CONFIRMED_ACTION, result)
    return _rors(invoke_id, codec.CMD_CONFIRMED_ACTION, result)


def single_poll_reply(invoke_id: int, poll_number: int, rel_time: int, code: int, attr_group: int,
                      contexts: list[bytes]) -> bytes:
    """A single poll result (used for the keep-alive poll)."""
    body = b"".join(contexts)
    reply = (struct.pack(">HI", poll_number, rel_time) + b"\xff" * 8
             + struct.pack(">HHH", codec.NOM_PART_OBJ, code, attr_group)
             + struct.pack(">HH", len(contexts), len(body)) + body)
    result = MDS_OBJECT + struct.pack(">HH", codec.NOM_ACT_POLL_MDIB_DATA, len(reply)) + reply
    return _rors(invoke_id, codec.CMD_CONFIRMED_ACTION, result)


def error_result(invoke_id: int, error_value: int) -> bytes:
    """A remote operation error (ROER) with no parameter."""
    ro = struct.pack(">HHH", invoke_id, error_value, 0)
    return SPPDU + struct.pack(">HH", codec.RO_ERROR, len(ro)) + ro
