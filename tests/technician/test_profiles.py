"""console.technician.profiles: form checking with plain messages, history rows from the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from console.technician.profiles import (
    NO_PORT,
    FormValues,
    check_port,
    describe_change,
    link_for_profile,
    profile_history,
    settings_of,
    validate,
)
from devices.transport import PortSettings

GOOD = FormValues(name="Chair 2 Datex", protocol="datex", port="COM3", baudrate="19200", bytesize="8",
                  parity="E", stopbits="1", rtscts=True, chair="Chair 2")


def test_a_good_form_gives_the_service_arguments() -> None:
    draft, problems = validate(GOOD)
    assert problems == {}
    assert draft is not None and draft.save_args() == {
        "name": "Chair 2 Datex", "protocol": "datex", "port": "COM3", "chair": "Chair 2",
        "settings": {"baudrate": 19200, "bytesize": 8, "parity": "E", "stopbits": 1, "rtscts": True,
                     "xonxoff": False}}


@pytest.mark.parametrize("url", ["COM3", "com12", "/dev/ttyUSB0", "socket://10.0.0.5:4001",
                                 "rfc2217://moxa.local:4002", "socket://[::1]:4001", "loop://"])
def test_usable_ports(url: str) -> None:
    assert check_port(url) is None


@pytest.mark.parametrize(("url", "words"), [
    ("", "Enter the port"),
    ("http://10.0.0.5:80", "Unknown port type \"http://\""),
    ("socket://10.0.0.5", "needs a host and a TCP port"),
    ("socket://10.0.0.5:70000", "TCP port 70000 is out of range"),
    ("COMX", "is not a COM port name"),
    ("ttyUSB0", "is not a port name"),
    ("/dev/tty USB0", "has no spaces"),
])
def test_bad_ports_are_explained(url: str, words: str) -> None:
    problem = check_port(url)
    assert problem is not None and words in problem


def test_every_bad_field_is_reported_at_once() -> None:
    form = replace(GOOD, name=" ", port="http://x", baudrate="fast", bytesize="9", stopbits="3")
    draft, problems = validate(form)
    assert draft is None
    assert set(problems) == {"name", "port", "baudrate", "bytesize", "stopbits"}
    assert problems["baudrate"] == "Baud rate must be a whole number, like 19200 (not \"fast\")."
    assert problems["bytesize"] == "Data bits must be 5, 6, 7 or 8."


def test_baud_rate_range() -> None:
    assert "out of range" in validate(replace(GOOD, baudrate="0"))[1]["baudrate"]
    assert validate(replace(GOOD, baudrate="115 200"))[0].settings.baudrate == 115200


def test_unknown_protocol_is_refused() -> None:
    assert "Choose a protocol" in validate(replace(GOOD, protocol="acme"))[1]["protocol"]


def test_simulator_needs_no_port() -> None:
    draft, _ = validate(replace(GOOD, protocol="simulator", port=""))
    assert draft is not None and draft.port == NO_PORT
    link = link_for_profile(SimpleNamespace(name="sim", protocol="simulator", port=NO_PORT, settings={}))
    assert link.url is None and link.name == "sim"


def test_stored_settings_fall_back_to_protocol_defaults() -> None:
    assert settings_of({"baudrate": 115200}, "datex") == PortSettings(115200, 8, "E", 1, rtscts=True)
    assert settings_of({"parity": "Q"}, "masimo") == PortSettings(9600, 8, "N", 1)  # bad stored value


def test_describe_change() -> None:
    before = {"name": "a", "protocol": "datex", "port": "COM3", "chair": None,
              "settings": {"baudrate": 19200, "parity": "E"}}
    after = {**before, "port": "COM4", "settings": {"baudrate": 115200, "parity": "E"}}
    assert describe_change(before, after) == "baudrate: 19200 -> 115200; port: COM3 -> COM4"
    assert describe_change(before, before) == "saved without changes"
    assert describe_change(None, after).startswith("name: a; protocol: datex; port: COM4")


def test_history_newest_first_for_one_profile() -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    p = {"name": "a", "protocol": "masimo", "port": "COM3", "chair": None, "settings": {"baudrate": 9600}}
    q = {**p, "settings": {"baudrate": 19200}}
    trail = [
        SimpleNamespace(at=at, username="tina", role="technician", action="device_profile_save",
                        target="device profile a", before=None, after=p),
        SimpleNamespace(at=at, username="tina", role="technician", action="device_profile_save",
                        target="device profile b", before=None, after=p),
        SimpleNamespace(at=at, username="tom", role="technician", action="device_profile_save",
                        target="device profile a", before=p, after=q),
        SimpleNamespace(at=at, username="tom", role="technician", action="device_profile_delete",
                        target="device profile a", before=q, after=None),
    ]
    rows = profile_history(trail, "a")
    assert [(r.who, r.action) for r in rows] == [
        ("tom (technician)", "deleted"), ("tom (technician)", "changed"), ("tina (technician)", "created")]
    assert rows[1].changes == "baudrate: 9600 -> 19200"
