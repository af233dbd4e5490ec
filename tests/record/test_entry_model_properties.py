"""Random amendment histories through the real service: every reader tells the same story.

Hypothesis writes sessions of notes, MOAA/S ratings, side effects and rate changes, corrects random originals
again and again (chains of corrections of different originals interleaved), and tries to amend amendments (which
the service must refuse, leaving the stored rows as they were). Then the session panel's view
(``clinical.amendments.effective_entries`` and its summary text), the review timeline's markers, the review log's
rows, and the export data every format reads (``SessionData`` over the JSON record, and its text helper) must
all give each entry the payload of its latest correction, with the chain of corrections in order.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.clinical.amendments import effective_entries
from console.exports._common import EntryView, SessionData
from console.exports._common import entry_text as export_text
from console.record import InvalidEntry
from console.record.exporting import build_record
from console.review.log_model import log_rows
from console.review.timeline import markers_from_entries
from console.session_panel.summary import entry_summary
from tests.payloads import moaas

WORDS = st.text(alphabet="abcdefghij klm", min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def payload(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid payloads of one kind, varied in the fields a correction usually changes."""
    if kind == "note":
        return st.builds(lambda t: {"text": t}, WORDS)
    if kind == "observation":
        return st.builds(moaas, st.integers(0, 5))
    if kind == "side_effect":
        labels = {1: "mild", 2: "moderate", 3: "severe", 4: "life-threatening"}
        return st.builds(lambda name, g, out: {"name": name, "onset": "2026-11-25T14:20:00Z", "grade": g,
                                               "grade_label": labels[g], "outcome": out, "notes": "",
                                               "intervention": None},
                         st.sampled_from(["Nausea", "Vomiting", "Dizziness"]), st.integers(1, 4),
                         st.sampled_from(["resolved", "ongoing", "improving"]))
    assert kind == "infusion_rate"
    return st.builds(lambda r, why: {"rate_ml_h": float(r), "reason": why}, st.integers(1, 400), WORDS)


KINDS = ("note", "observation", "side_effect", "infusion_rate")


def _oracle_text(kind: str, data: dict[str, Any], at: Any) -> tuple[str, str]:
    shown = {"kind": kind, "data": data, "at": at}
    return entry_summary(shown), export_text(EntryView(shown))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_all_readers_agree_on_random_amendment_histories(db, svc, data: st.DataObject) -> None:
    patient = svc.create_patient(f"PROP-{uuid.uuid4().hex}")  # one new session per example
    sid = svc.start_session(patient.id, "iv-ketamine-0.5", "1", "chair 1").id
    originals: list[tuple[str, str]] = []  # (id, kind)
    amendments: list[str] = []
    expected: dict[str, dict[str, Any]] = {}
    chains: dict[str, list[str]] = {}
    for _ in range(data.draw(st.integers(1, 12), label="steps")):
        op = data.draw(st.sampled_from(["add", "amend", "amend", "amend_amendment"]) if originals
                       else st.just("add"), label="op")
        if op == "add":
            kind = data.draw(st.sampled_from(KINDS), label="kind")
            p = data.draw(payload(kind), label="payload")
            e = svc.add_entry(sid, kind, p)
            originals.append((e.id, kind))
            expected[e.id] = p
            chains[e.id] = []
        elif op == "amend":
            oid, kind = data.draw(st.sampled_from(originals), label="target")
            p = data.draw(payload(kind), label="correction")
            reason = data.draw(WORDS, label="reason") + " reason"
            a = svc.amend(sid, oid, reason, p)
            amendments.append(a.id)
            expected[oid] = p
            chains[oid].append(reason.strip())
        elif amendments:
            target = data.draw(st.sampled_from(amendments), label="amendment target")
            before = svc.entries(sid)
            with pytest.raises(InvalidEntry, match="itself an amendment: correct the original entry"):
                svc.amend(sid, target, "again, wrongly", {"text": "x"})
            assert svc.entries(sid) == before  # refused before anything was written

    entries = svc.entries(sid)
    assert len(entries) == len(originals) + len(amendments)
    entries_by_id = {e.id: e for e in entries}
    panel = {e.id: e for e in effective_entries(entries)}
    markers = {m.entry_id: m for m in markers_from_entries(entries)}
    log = {r.entry_id: r for r in log_rows(entries)}
    record = build_record(db, sid)  # the JSON export's document, which every other format reads
    exported = {v.id: v for v in SessionData(record).entries}
    json_view = {e["id"]: e for e in json.loads(json.dumps(record, default=str))["effective_entries"]}
    assert set(panel) == set(exported) == set(json_view) == set(expected)
    for oid, kind in originals:
        want = expected[oid]
        assert panel[oid].data == want, "session panel"
        assert markers[oid].data == want, "review timeline"
        assert log[oid].effective == want, "review log"
        assert exported[oid].data == want, "exports (JSON record -> every format)"
        assert json_view[oid]["data"] == want, "JSON export's effective view"
        assert [c["reason"] for c in json_view[oid]["corrections"]] == chains[oid]
        summary, text = _oracle_text(kind, want, entries_by_id[oid].at)
        assert entry_summary(panel[oid]) == summary
        assert export_text(exported[oid]) == text
        assert [c.reason for c in panel[oid].corrections] == chains[oid]
        assert all(c.by == "carla" for c in panel[oid].corrections)
        assert panel[oid].amended == markers[oid].amended == log[oid].is_amended == exported[oid].amended \
            == bool(chains[oid])
        assert [a["data"]["reason"] for a in exported[oid].amendments] == chains[oid]
        assert not panel[oid].legacy
