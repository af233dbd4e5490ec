"""``chairside probe``: connect to a monitor like the app does and show what arrives, and why not.

The technician's first tool at a new chair: it opens the port with :class:`~devices.acquisition.DeviceLink`
(the same loop, requests and reconnects as the console), prints every decoded value for ``--seconds``, then
the link events, the counters and, when something is wrong, the likely cause and fix in plain words.
Exit status 0 when data arrived, 1 when nothing decodable did, 2 for wrong arguments.

``--protocol auto`` tries every protocol and line setting instead (see :mod:`devices.autodetect`).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from console.commands.decode import (
    SampleTable,
    dumps,
    fail,
    link_json,
    load_wire_protocol,
    positive_float,
    sample_json,
)
from console.record.cli_support import positive_int
from devices.acquisition import DeviceLink, LinkCounters
from devices.model import DecodeStats, LinkEvent, Numeric, Sample, WaveBlock
from devices.transport import PortSettings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="connect to a monitor like the app does, show what arrives and diagnose problems",
        description="Open a port with the protocol driver as the console does, print what arrives for a few "
                    "seconds, then the link events, counters and a plain-words diagnosis. Exit 0 when data "
                    "arrived, 1 when nothing decodable did.",
    )
    parser.add_argument("--protocol", "-p", required=True, metavar="P",
                        help="protocol driver (intellivue, datex, masimo), or 'auto' to try them all")
    parser.add_argument("--port", required=True, metavar="URL",
                        help="COM3, /dev/ttyUSB0, socket://HOST:PORT, rfc2217://HOST:PORT")
    parser.add_argument("--baud", type=positive_int, help="baud rate (default: the protocol's)")
    parser.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), help="data bits")
    parser.add_argument("--parity", choices=("N", "E", "O", "M", "S"), help="parity")
    parser.add_argument("--stopbits", type=float, choices=(1, 1.5, 2), help="stop bits")
    parser.add_argument("--rtscts", action="store_true", default=None, help="RTS/CTS hardware handshake")
    parser.add_argument("--xonxoff", action="store_true", default=None, help="XON/XOFF software handshake")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="how long to listen (default 10)")
    parser.add_argument("--format", choices=("jsonl", "table"), default="table", help="output format")
    parser.set_defaults(run=run)


def line_settings(default: PortSettings, args: argparse.Namespace) -> PortSettings:
    """The protocol's default line settings with the options given on the command line."""
    changes: dict[str, Any] = {}
    for option, name in (("baud", "baudrate"), ("bytesize", "bytesize"), ("parity", "parity"),
                         ("stopbits", "stopbits"), ("rtscts", "rtscts"), ("xonxoff", "xonxoff")):
        value = getattr(args, option, None)
        if value is not None:
            changes[name] = value
    return default.replace(**changes)


def diagnose(title: str, setup_help: str, settings: PortSettings, default: PortSettings,
             counters: LinkCounters, stats: DecodeStats, last_error: str, seconds: float, data: bool) -> str:
    """The likely cause and fix of what a probe saw, in plain words."""
    if data:
        text = f"Data arrived: {stats.frames_ok} frames decoded ({stats.frames_bad} bad)."
        if counters.disconnects:
            text += f" The link dropped {counters.disconnects} time(s): check the cable and connectors."
        if stats.frames_bad > stats.frames_ok // 10:
            text += (" Many bad frames: check for electrical noise, a loose cable, or line settings "
                     f"that are almost right (monitor default: {default}).")
        return text
    if counters.connects == 0:
        return f"The port could not be opened: {last_error or 'unknown reason'}"
    if counters.bytes_in == 0:
        return (f"The port opened but nothing arrived in {seconds:g} s. Check that the monitor is switched "
                f"on and its data output is enabled: {setup_help} Check the cable (RS-232 needs a null-modem "
                f"cable or the vendor's adapter) and, for a terminal server, that its serial side is set to "
                f"{settings}.")
    text = (f"{counters.bytes_in} bytes arrived but none decoded as {title}. Most likely the line settings "
            f"are wrong (this probe used {settings}; the monitor's default is {default}) or the monitor "
            f"sends another protocol or output mode. Try 'chairside probe --protocol auto --port ...'.")
    if stats.last_error:
        text += f" Last decode problem: {stats.last_error}."
    return text


def run(args: argparse.Namespace) -> int:
    if args.protocol == "auto":
        return _run_auto(args)
    info = load_wire_protocol(args.protocol)
    if isinstance(info, str):
        return fail(info)
    try:
        settings = line_settings(info.driver.default_settings, args)
    except (ValueError, TypeError) as exc:
        return fail(f"bad line settings: {exc}")

    jsonl = args.format == "jsonl"
    out = sys.stdout
    table = SampleTable()
    events: list[LinkEvent] = []
    got_data = threading.Event()
    lock = threading.Lock()

    def sink(samples: list[Sample]) -> None:
        with lock:
            for s in samples:
                if isinstance(s, LinkEvent):
                    events.append(s)
                    if jsonl:
                        out.write(dumps(link_json(s)) + "\n")
                    else:
                        print(f"[link] {s.state.value}: {s.message}", file=out, flush=True)
                    continue
                if isinstance(s, (Numeric, WaveBlock)):
                    got_data.set()
                table.add([s])
                if jsonl:
                    obj = sample_json(s)
                    if obj is not None:
                        out.write(dumps(obj) + "\n")
            out.flush()

    driver = info.driver(source=f"probe:{args.protocol}")
    link = DeviceLink(driver, args.port, settings, sink, name=f"probe {args.protocol}")
    if not jsonl:
        print(f"Probing {args.port} with {info.driver.title} at {settings} for {args.seconds:g} s ...",
              flush=True)
    stop = threading.Event()
    thread = threading.Thread(target=link.run, args=(stop,), name="probe-link", daemon=True)
    thread.start()
    try:
        stop.wait(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(10.0)

    stats, counters = driver.stats, link.counters
    data = got_data.is_set() or stats.frames_ok > 0
    message = diagnose(info.driver.title, info.driver.setup_help, settings, info.driver.default_settings,
                       counters, stats, link.last_error, args.seconds, data)
    if jsonl:
        out.write(dumps({"kind": "summary", **stats.as_dict(), "bytes_out": counters.bytes_out,
                         "connects": counters.connects, "disconnects": counters.disconnects,
                         "last_error": link.last_error or stats.last_error}) + "\n")
        out.flush()
        print(message, file=sys.stderr)
    else:
        print(file=out)
        table.render(out)
        print(f"\nport: {counters.connects} connect(s), {counters.disconnects} disconnect(s), "
              f"{counters.bytes_in} bytes in, {counters.bytes_out} bytes out", file=out)
        print(f"decode: {stats.frames_ok} frames ok, {stats.frames_bad} bad, {stats.resyncs} resyncs",
              file=out)
        if link.last_error:
            print(f"last port error: {link.last_error}", file=out)
        print(f"\n{message}", file=out)
    return 0 if data else 1


def _run_auto(args: argparse.Namespace) -> int:
    from devices.autodetect import autodetect

    jsonl = args.format == "jsonl"
    if not jsonl:
        print(f"Trying every protocol on {args.port}, {args.seconds:g} s per line setting ...", flush=True)

    def progress(result: Any) -> None:
        if not jsonl:
            print("  " + result.describe(), flush=True)

    results = autodetect(args.port, seconds_per_try=args.seconds, on_result=progress)
    answered = [r for r in results if r.answered]
    if jsonl:
        for r in results:
            print(dumps({"kind": "autodetect", "protocol": r.protocol, "settings": str(r.settings),
                         "answered": r.answered, "frames_ok": r.frames_ok, "frames_bad": r.frames_bad,
                         "bytes": r.bytes_in, "first_values": r.first_values, "error": r.error}))
    if answered:
        best = answered[0]
        print(f"Best match: {best.title} at {best.settings} (--protocol {best.protocol})",
              file=sys.stderr if jsonl else sys.stdout)
        return 0
    errors = [r.error for r in results if r.error]
    reason = errors[0] if errors else \
        "no protocol decoded anything: check the monitor's data output setting and the cable"
    print(f"No monitor answered: {reason}", file=sys.stderr if jsonl else sys.stdout)
    return 1
