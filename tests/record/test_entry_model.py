"""The entry model at the service: what is refused (with a message naming kind and field, nothing stored), how
corrections chain, the checkpoint schema, and legacy rows that must still read (flagged, never refused)."""

from __future__ import annotations

from typing import Any

import pytest

from console.clinical import entry_model
from console.clinical.amendments import effective_record
from console.clinical.entry_model import EntryKind, EntryPayloadError, validate_payload
from console.exports._common import SessionData
from console.record import InvalidEntry, SessionStateError
from console.record.exporting import build_record
from console.record.records import ENTRY_KINDS
from console.review.log_model import log_rows
from console.review.timeline import markers_from_entries
from tests.payloads import kinds, moaas, valid
from tests.record.conftest import PASSWORD


def _with(kind: str, **changes: Any) -> dict[str, Any]:
    data = valid(kind)
    for k, v in changes.items():
        if v is _DROP:
            data.pop(k)
        else:
            data[k] = v
    return data


_DROP = object()

#: (kind, bad payload, the words the message must contain): for every kind a user may add
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("precheck", _with("precheck", consent_on_file=_DROP), "consent_on_file is missing"),
    ("precheck", _with("precheck", identity_confirmed="yes"), "identity_confirmed"),
    ("precheck", _with("precheck", weight_kg=True), "weight_kg"),
    ("precheck", _with("precheck", concomitant={"alcohol": True}), "concomitant.alcohol"),
    ("questionnaire", _with("questionnaire", timing="during"), "timing"),
    ("questionnaire", _with("questionnaire", total=99), "total 99 is not the sum"),
    ("hold_override", _with("hold_override", reason="ok"), "reason"),
    ("infusion_start", _with("infusion_start", dose_mg=-5.0), "dose_mg"),
    ("infusion_start", _with("infusion_start", route=""), "route"),
    ("infusion_pause", _with("infusion_pause", reason=_DROP), "reason is missing"),
    ("infusion_resume", _with("infusion_resume", rate_ml_h=0.0), "rate_ml_h"),
    ("infusion_rate", {"k": "infusion_rate"}, "k is not a field of infusion_rate"),
    ("infusion_rate", _with("infusion_rate", rate_ml_h=20_000.0), "rate_ml_h"),
    ("infusion_stop", _with("infusion_stop", completed=False, reason=""), "reason"),
    ("esketamine_dose", _with("esketamine_dose", device_number=4), "device_number"),
    ("observation", moaas(6), "MOAA/S: 6 is out of range (allowed 0 to 5)"),
    ("observation", _with("observation", total=3), "total 3 is not the sum"),
    ("observation", _with("observation", items={"score": "4"}, total=4), "items.score"),
    ("side_effect", _with("side_effect", grade=5, grade_label="life-threatening"), "grade"),
    ("side_effect", _with("side_effect", grade=0), "grade"),
    ("side_effect", _with("side_effect", grade=3), "grade_label"),
    ("side_effect", _with("side_effect", outcome="fine"), "outcome"),
    ("side_effect", _with("side_effect", onset="yesterday-ish"), "onset"),
    ("side_effect", _with("side_effect", effect="nausea"), "effect is not a field of side_effect"),
    ("intervention", _with("intervention", type="drug"), "drug, dose and route"),
    ("note", {"text": "   "}, "text"),
    ("note", {"text": "x" * 10_001}, "text"),
    ("check_overdue", _with("check_overdue", due_at="soon"), "due_at"),
    ("alarm", _with("alarm", event="beep"), "event"),
    ("alarm", _with("alarm", time=_DROP), "time is missing"),
    ("discharge", _with("discharge", all_met=False, unmet=["Able to walk"], override_reason=""),
     "override_reason"),
    ("discharge", _with("discharge", criteria={"alert_oriented": True}), "checklist incomplete"),
]


def test_every_kind_the_record_knows_is_in_the_model() -> None:
    assert set(ENTRY_KINDS) <= set(EntryKind)
    assert set(kinds()) == set(entry_model.USER_KINDS)  # tests/payloads.py has one of each
    assert {k for k, _, _ in BAD} == set(entry_model.USER_KINDS)  # and each has a refused bad payload below
    assert EntryKind.SIDE_EFFECT == "side_effect"  # str-valued: stored text unchanged


@pytest.mark.parametrize("kind", sorted(entry_model.USER_KINDS))
def test_a_valid_payload_of_every_kind_is_stored_as_given(svc, session, kind: str) -> None:
    e = svc.add_entry(session.id, kind, valid(kind))
    assert (e.kind, e.data) == (kind, valid(kind))
    assert type(svc.entries(session.id)[0].kind) is str


@pytest.mark.parametrize(("kind", "data", "words"), BAD, ids=[f"{k}-{w[:24]}" for k, _, w in BAD])
def test_a_bad_payload_is_refused_naming_kind_and_field_and_nothing_is_stored(
        svc, session, kind: str, data: dict[str, Any], words: str) -> None:
    svc.add_entry(session.id, "note", {"text": "before"})
    before = (svc.entries(session.id), svc.session(session.id).head_hash)
    with pytest.raises(InvalidEntry) as err:
        svc.add_entry(session.id, kind, data)
    message = str(err.value)
    assert kind in message and words in message, message
    assert "\n" not in message
    with pytest.raises(InvalidEntry):
        svc.check_entry(kind, data)
    assert (svc.entries(session.id), svc.session(session.id).head_hash) == before


@pytest.mark.parametrize("kind", sorted(entry_model.SYSTEM_KINDS))
def test_kinds_the_record_writes_itself_are_refused_from_add_entry(svc, session, kind: str) -> None:
    data = {"tables": {}, "audit_head": ""} if kind == "checkpoint" else {}
    with pytest.raises(InvalidEntry, match=f"reserved entry kind '{kind}'"):
        svc.add_entry(session.id, kind, data)
    with pytest.raises(InvalidEntry, match="unknown entry kind 'coffee_break'"):
        svc.add_entry(session.id, "coffee_break", {"text": "x"})
    assert svc.entries(session.id) == []


def test_a_correction_must_be_a_complete_valid_payload_of_the_original_kind(svc, session) -> None:
    original = svc.add_entry(session.id, "side_effect", valid("side_effect"))
    for bad, words in (({"grade": 3}, "name is missing"),
                       (_with("side_effect", grade=7), "grade"),
                       ({"text": "a note, not a side effect"}, "text is not a field of side_effect"),
                       (_with("side_effect", correction="  "), "correction must be non-empty")):
        with pytest.raises(InvalidEntry, match="not a complete side_effect entry") as err:
            svc.amend(session.id, original.id, "wrong grade", bad)
        assert words in str(err.value)
    assert [e.id for e in svc.entries(session.id)] == [original.id]
    # what the amend form sends for a kind without its own editor: the original data plus a correction text
    fixed = svc.amend(session.id, original.id, "wrong grade",
                      _with("side_effect", grade=3, grade_label="severe", correction="grade 3, not 2"))
    assert fixed.data["data"]["correction"] == "grade 3, not 2"


def test_amending_an_amendment_is_refused_and_the_chain_amends_the_original(svc, session) -> None:
    note = svc.add_entry(session.id, "note", {"text": "BP 150/95"})
    first = svc.amend(session.id, note.id, "typo in BP", {"text": "BP 150/90"})
    with pytest.raises(InvalidEntry, match=r"entry #2 is itself an amendment: correct the original entry \(#1\)"):
        svc.amend(session.id, first.id, "typo again", {"text": "BP 150/80"})
    second = svc.amend(session.id, note.id, "read the cuff again", {"text": "BP 150/80"})
    assert second.amends == note.id and second.data["original_seq"] == 1
    [eff] = effective_record(svc.entries(session.id)).entries
    assert eff.data == {"text": "BP 150/80"} and eff.original_data == {"text": "BP 150/95"}
    assert [(c.seq, c.reason, c.by, c.role) for c in eff.corrections] == [
        (2, "typo in BP", "carla", "clinician"), (3, "read the cuff again", "carla", "clinician")]
    assert not eff.legacy


def test_after_a_signature_only_amendments_and_further_signatures(svc, session) -> None:
    note = svc.add_entry(session.id, "note", {"text": "all well"})
    svc.sign(session.id, PASSWORD)
    for kind in ("note", "observation", "discharge"):
        with pytest.raises(SessionStateError, match="signed and sealed"):
            svc.add_entry(session.id, kind, valid(kind))
    with pytest.raises(InvalidEntry, match="reserved entry kind 'signature'"):
        svc.add_entry(session.id, "signature", {})
    svc.amend(session.id, note.id, "escort arrived", {"text": "all well, escort present"})
    svc.sign(session.id, PASSWORD, meaning="reviewed")
    assert [e.kind for e in svc.entries(session.id)] == ["note", "checkpoint", "signature", "amendment",
                                                         "checkpoint", "signature"]


# -- the checkpoint schema (written by the integrity checkpoint writer, not by add_entry) --------------------
HEX = "ab" * 32
CHECKPOINT = {"format": 1,
              "tables": {"vital_waves": {"after_id": 0, "last_id": 40, "rows": 40, "sha256": HEX},
                         "vital_events": {"after_id": 0, "last_id": 0, "rows": 0, "sha256": "cd" * 32}},
              "audit": {"last_id": 17, "hash": "ef" * 32}}


def test_checkpoint_schema_accepts_the_shape_the_writer_uses(db, svc, session) -> None:
    assert validate_payload("checkpoint", CHECKPOINT) == CHECKPOINT
    validate_payload("checkpoint", dict(CHECKPOINT, audit=None))  # no audit rows yet
    # format 2, written now: only tables with new rows (maybe none), the audit head only when it moved
    current = {"format": 2, "tables": {"vital_waves": {"after_id": 0, "last_id": 40, "rows": 40, "sha256": HEX}}}
    assert validate_payload("checkpoint", current) == current
    validate_payload("checkpoint", {"format": 2, "tables": {}, "audit": CHECKPOINT["audit"]})
    from console.record.checkpoints import append_checkpoint

    written = append_checkpoint(db, session.id)
    assert written is not None and validate_payload("checkpoint", written.data) == written.data


@pytest.mark.parametrize(("change", "words"), [
    ({"audit": {"last_id": 3, "hash": "nothex"}}, "hash"),
    ({"tables": {}}, "tables"),
    ({"format": 3}, "format"),
    ({"format": 2}, "vital_events received no rows"),  # format 2 leaves an empty span out
    ({"format": 2, "tables": {}, "audit": None}, "audit"),
    ({"tables": {"vital_waves": {"after_id": 1, "last_id": 40, "rows": 39, "sha256": "AB" * 32}}}, "sha256"),
    ({"tables": {"vital_waves": {"after_id": 40, "last_id": 40, "rows": 2, "sha256": HEX}}}, "rows"),
    ({"tables": {"vital_waves": {"after_id": 9, "last_id": 3, "rows": 0, "sha256": HEX}}}, "last_id"),
    ({"tables": {"vital_waves": {"after_id": 1, "last_id": 4, "rows": -1, "sha256": HEX}}}, "rows"),
    ({"tables": {"vital_waves": {"after_id": 1, "last_id": 4, "rows": 3, "sha256": HEX, "x": 1}}},
     "x is not a field"),
    ({"extra": 1}, "extra is not a field of checkpoint"),
])
def test_checkpoint_schema_refuses_bad_ranges_and_hashes(change: dict[str, Any], words: str) -> None:
    with pytest.raises(EntryPayloadError) as err:
        validate_payload("checkpoint", dict(CHECKPOINT, **change))
    assert "checkpoint" in str(err.value) and words in str(err.value)


# -- legacy rows --------------------------------------------------------------------------------------------
def test_legacy_rows_still_read_flagged_and_every_reader_agrees(db, svc, session, monkeypatch) -> None:
    """A database written before the entry model: free-form payloads, a partial correction, and an amendment
    of an amendment (what an older version let through). It reads, the chain verifies, every reader gives the
    same effective payload, and the rows are flagged as not in today's format."""
    import console.record.service as service_module

    with monkeypatch.context() as old_version:
        old_version.setattr(service_module, "_validate_new", lambda kind, data: None)
        old_version.setattr(service_module, "_validate_correction", lambda original, data: None)
        se = svc.add_entry(session.id, "side_effect", {"effect": "nausea", "grade": 2})
        first = svc.amend(session.id, se.id, "worse than written", {"grade": 3})
        svc.amend(session.id, first.id, "worse again", {"grade": 4})
        obs = svc.add_entry(session.id, "observation", {"scale": "MOAA/S", "score": 4})
    good = svc.add_entry(session.id, "note", {"text": "written today"})
    entries = svc.entries(session.id)
    assert db.verify(session.id).ok

    by_id = effective_record(entries).by_id()
    assert by_id[se.id].data == {"effect": "nausea", "grade": 4}
    assert [c.reason for c in by_id[se.id].corrections] == ["worse than written", "worse again"]
    assert by_id[se.id].legacy and any("amends an amendment" in p for p in by_id[se.id].problems)
    assert by_id[obs.id].legacy and by_id[obs.id].data == {"scale": "MOAA/S", "score": 4}
    assert not by_id[good.id].legacy

    markers = {m.entry_id: m for m in markers_from_entries(entries)}
    rows = {r.entry_id: r for r in log_rows(entries)}
    views = {v.id: v for v in SessionData(build_record(db, session.id)).entries}
    for eid in (se.id, obs.id, good.id):
        assert markers[eid].data == rows[eid].effective == views[eid].data == by_id[eid].data
    assert "NOT IN TODAY'S FORMAT" in markers[se.id].text
    assert "not in today's format" in rows[obs.id].what
    assert len(log_rows(entries)) == len(entries)  # nothing hidden, legacy or not


def test_a_whole_simulated_session_fits_the_model_with_nothing_flagged(sqlite_url) -> None:
    """Everything today's code writes (builders, the service's own resume/sign entries) reads as current."""
    from console.record import open_database
    from console.record.simulation import simulate_session

    result = simulate_session(sqlite_url, minutes=6, seed=3)
    db = open_database(sqlite_url)
    try:
        entries = db.service(db.system_user()).entries(result.session_id)
        record = effective_record(entries)
        assert {e.kind for e in record.entries} >= {"precheck", "observation", "side_effect", "signature",
                                                    "checkpoint"}
        assert [(e.seq, e.kind, e.problems) for e in record.entries if e.problems] == []
    finally:
        db.close()
