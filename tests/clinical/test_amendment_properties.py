"""Random legacy histories (written by older versions, so not through today's service): complete and partial
corrections, amendments of amendments. Every reader must read them the same, documented way: a complete payload
replaces, a partial one patches, an amendment of an amendment corrects the same original; all of it flagged.
(Histories written through today's service: tests/record/test_entry_model_properties.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from console.clinical.amendments import effective_entries
from console.exports._common import SessionData
from console.record.records import EntryRecord
from console.review.log_model import log_rows
from console.review.timeline import markers_from_entries

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
TEXT = st.text(alphabet="abcxyz ", min_size=1, max_size=8).filter(lambda s: s.strip() != "")
# (kind of step, target index, payload): add a note; correct with a complete note; patch with a legacy field
STEP = st.one_of(
    st.tuples(st.just("add"), st.just(0), TEXT.map(lambda t: {"text": t})),
    st.tuples(st.just("full"), st.integers(0, 50), TEXT.map(lambda t: {"text": t})),
    st.tuples(st.just("patch"), st.integers(0, 50), TEXT.map(lambda t: {"mood": t})),
)


def _record(seq: int, kind: str, data: dict[str, Any], amends: str | None) -> EntryRecord:
    at = T0 + timedelta(seconds=seq)
    return EntryRecord(id=f"e{seq}", session_id=1, seq=seq, kind=kind, at=at, entered_at=at, user_id=1,
                       username="old.version", role="clinician", data=data, amends=amends, late=False,
                       prev_hash="", hash="")


def _exported(e: EntryRecord) -> dict[str, Any]:
    return {"id": e.id, "seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "entered_at": e.entered_at.isoformat(),
            "user": e.username, "role": e.role, "data": e.data, "amends": e.amends, "late": e.late}


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=25))
def test_every_reader_reads_legacy_histories_the_same_way(steps: list[tuple[str, int, dict[str, Any]]]) -> None:
    entries: list[EntryRecord] = []
    root: dict[str, str] = {}  # any entry id -> the original it belongs to
    expected: dict[str, dict[str, Any]] = {}
    for step, target, data in steps:
        seq = len(entries) + 1
        if step == "add" or not entries:
            e = _record(seq, "note", data, None)
            root[e.id] = e.id
            expected[e.id] = data
        else:
            aimed = entries[target % len(entries)]  # an original or, as old versions allowed, an amendment
            original = root[aimed.id]
            e = _record(seq, "amendment", {"reason": f"fix {seq}", "data": data, "original_kind": "note",
                                           "original_at": T0.isoformat(), "original_seq": 1}, aimed.id)
            root[e.id] = original
            expected[original] = data if step == "full" else {**expected[original], **data}
        entries.append(e)

    panel = {e.id: e for e in effective_entries(entries)}
    markers = {m.entry_id: m for m in markers_from_entries(entries)}
    log = {r.entry_id: r for r in log_rows(entries)}
    exported = {v.id: v for v in SessionData({"entries": [_exported(e) for e in entries]}).entries}
    assert set(panel) == set(exported) == set(expected)
    assert len(log) == len(entries)  # nothing hidden
    for oid, want in expected.items():
        assert panel[oid].data == markers[oid].data == log[oid].effective == exported[oid].data == want
        nested = any(c.entry.amends != oid for c in panel[oid].corrections)
        patched = any("mood" in c.data for c in panel[oid].corrections)
        odd_original = set(panel[oid].original_data) != {"text"}
        assert panel[oid].legacy == (nested or patched or odd_original)
