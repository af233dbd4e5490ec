"""An attacker who can write the database (a PostgreSQL administrator, anyone with a copy of the SQLite file)
but holds nothing else: no user's password, no site key, no write access to the trust folder.

Each test records a real session through the service, then attacks the database with plain SQL and the
software's own hashing functions, on SQLite and on PostgreSQL, and runs ``chairside verify --trust-dir`` as an
auditor would: exit 1, naming what was done and where.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from console.cli import main
from console.record import chain, keys, open_database, protection, signing
from console.record.trust import TrustDir
from tests.payloads import moaas
from tests.record.conftest import PASSWORD, backend, db_url, drop_append_only_guard  # noqa: F401 (fixtures)

pytestmark = pytest.mark.faults


class Recorded:
    """Where the attacked record lives: its URL, trust folder and the ids of its sessions."""

    def __init__(self, url: str, trust: Path, signed: int, anchored: int, obs_id: str) -> None:
        self.url, self.trust, self.signed, self.anchored, self.obs_id = url, trust, signed, anchored, obs_id

    def verify(self, capsys: pytest.CaptureFixture[str], *session: str) -> tuple[int, str]:
        code = main(["verify", *session, "--db", self.url, "--trust-dir", str(self.trust)])
        out, err = capsys.readouterr()
        return code, out + err

    def sql(self) -> Any:
        """An engine as the attacker holds it: the database alone, the append-only triggers dropped; its
        ``dispose()`` puts them back, as a careful attacker would, so verify must find the change itself."""
        engine = create_engine(self.url)
        with engine.begin() as conn:
            drop_append_only_guard(conn)
        dispose = engine.dispose

        def restore_guards_then_dispose() -> None:
            with engine.begin() as conn:
                protection.install(conn, include_entries=True)
            dispose()

        engine.dispose = restore_guards_then_dispose  # type: ignore[method-assign,assignment]
        return engine


@pytest.fixture
def recorded(db_url: str, tmp_path: Path) -> Recorded:  # noqa: F811 (the imported fixture)
    """A signed session (notes, an observation, a dose) and an in-progress session anchored by a
    checkpoint."""
    trust = tmp_path / "trust"
    db = open_database(db_url, trust_dir=trust)
    db.service(db.system_user("attack-tests")).add_user("carla", "Carla Clinician", "clinician", PASSWORD)
    svc = db.service(db.authenticate("carla", PASSWORD))
    p = svc.create_patient("PT-ATTACK", name="Pat Attack", weight_kg=70)
    s = svc.start_session(p.id, "iv-ketamine-0.5", "3", "chair 2", devices=["simulator"],
                          details={"dose_mg": 35})
    svc.add_entry(s.id, "note", {"text": "calm"})
    obs = svc.add_entry(s.id, "observation", moaas(4))
    svc.add_entry(s.id, "note", {"text": "discharged"})
    svc.sign(s.id, PASSWORD)
    s2 = svc.start_session(p.id, "iv-ketamine-0.5", "3", "chair 2")
    for i in range(4):
        svc.add_entry(s2.id, "note", {"text": f"note {i}"})
    db.anchor_checkpoint(s2.id)
    assert db.verify().ok, db.verify().summary()
    db.close()
    return Recorded(db_url, trust, s.id, s2.id, obs.id)


def rechain(conn: Connection, session_id: int) -> None:
    """Recompute the whole chain of a session with the software's own functions and fix its head columns,
    as an attacker who read the source would after changing something."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session as OrmSession

    from console.record import models as m

    with OrmSession(bind=conn) as s:
        row = s.get(m.Session, session_id)
        assert row is not None
        prev = row.header_hash = chain.header_hash(row)
        last = 0
        for e in s.scalars(select(m.Entry).where(m.Entry.session_id == session_id).order_by(m.Entry.seq)):
            if e.kind == "signature":  # keep the keyless seal consistent too
                d = json.loads(e.data_json)
                d["seal"] = chain.seal(prev, d["signer_id"], d["signer_name"], d["username"], d["meaning"],
                                       d["signed_at"])
                e.data_json = json.dumps(d, sort_keys=True, separators=(",", ":"))
            e.prev_hash = prev
            e.hash = chain.entry_hash(e, prev)
            prev, last = e.hash, e.seq
        row.head_seq, row.head_hash = last, prev
        s.flush()


def test_intact_record_verifies(recorded: Recorded, capsys):
    code, out = recorded.verify(capsys)
    assert code == 0, out
    assert "intact" in out


def test_rewrite_and_reseal_with_a_key_inserted_into_the_database(recorded: Recorded, capsys):
    """Change the observation, recompute every hash, and re-sign the seal with a fresh key the attacker
    put into ``user_keys`` for the signer: the registry does not know it, and the witness holds the old
    head."""
    engine = recorded.sql()
    mine = keys.KeyPair.generate()
    with engine.begin() as conn:
        conn.execute(text("UPDATE entries SET data_json = :d WHERE id = :i"),
                     {"d": '{"scale":"MOAA/S","score":5}', "i": recorded.obs_id})
        conn.execute(text("UPDATE user_keys SET public_key = :p, key_id = :k"),
                     {"p": mine.public_b64, "k": mine.key_id})
        rechain(conn, recorded.signed)
        rid = conn.execute(text("SELECT value FROM record_meta")).scalar_one()
        sig_row = conn.execute(text("SELECT id, data_json FROM entries WHERE kind = 'signature' "
                                    "AND session_id = :s"), {"s": recorded.signed}).one()
        d = json.loads(sig_row.data_json)
        d.update(signing.seal_fields(rid, recorded.signed, mine, d["seal"]))
        conn.execute(text("UPDATE entries SET data_json = :d WHERE id = :i"),
                     {"d": json.dumps(d, sort_keys=True, separators=(",", ":")), "i": sig_row.id})
        rechain(conn, recorded.signed)
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.signed}" in out
    assert "unknown key" in out and "rewritten" in out


def test_truncating_a_signed_session_and_fixing_its_head(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM entries WHERE session_id = :s AND seq >= 3"), {"s": recorded.signed})
        h = conn.execute(text("SELECT hash FROM entries WHERE session_id = :s AND seq = 2"),
                         {"s": recorded.signed}).scalar_one()
        conn.execute(text("UPDATE sessions SET head_seq = 2, head_hash = :h WHERE id = :s"),
                     {"h": h, "s": recorded.signed})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.signed}, entry #4: truncated" in out
    assert "unsigned" in out


def test_truncating_an_anchored_session_in_progress(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM entries WHERE session_id = :s AND seq = 4"), {"s": recorded.anchored})
        h = conn.execute(text("SELECT hash FROM entries WHERE session_id = :s AND seq = 3"),
                         {"s": recorded.anchored}).scalar_one()
        conn.execute(text("UPDATE sessions SET head_seq = 3, head_hash = :h WHERE id = :s"),
                     {"h": h, "s": recorded.anchored})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.anchored}, entry #4: truncated" in out
    code, out = recorded.verify(capsys, str(recorded.anchored))  # checking that session alone
    assert code == 1 and f"session {recorded.anchored}, entry #4: truncated" in out
    code, out = recorded.verify(capsys, str(recorded.signed))  # the other one is intact
    assert code == 0, out


def test_deleting_the_signature_while_the_status_stays_signed(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM entries WHERE session_id = :s AND kind = 'signature'"),
                     {"s": recorded.signed})
        rechain(conn, recorded.signed)
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert (f"session {recorded.signed}: unsigned: the session is marked signed but has no valid signature"
            in out)
    assert "truncated" in out


@pytest.mark.parametrize(("status", "named"), [
    ("signed", "comes after its last valid signature"),
    ("amended", "entries other than amendments follow the last valid signature"),
])
def test_reopening_writing_and_resealing(recorded: Recorded, capsys, status: str, named: str):
    """Status back to in progress, an entry added through the application, status set back to signed (or to
    amended, as if the entry were a correction)."""
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET status = 'in_progress' WHERE id = :s"), {"s": recorded.signed})
    db = open_database(recorded.url, trust_dir=recorded.trust)
    svc = db.service(db.authenticate("carla", PASSWORD))
    svc.resume_session(recorded.signed)
    svc.add_entry(recorded.signed, "note", {"text": "added after sign-off"})
    db.close()
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET status = :st WHERE id = :s"),
                     {"st": status, "s": recorded.signed})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert named in out and f"session {recorded.signed}" in out


def test_unsealing_a_signed_session(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET status = 'in_progress' WHERE id = :s"), {"s": recorded.signed})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.signed}, entry #5: unsealed" in out  # #4 is the checkpoint sign-off makes


def test_deleting_a_whole_session(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        for table in ("entries", "vital_numerics", "vital_waves", "vital_events", "raw_captures"):
            conn.execute(text(f"DELETE FROM {table} WHERE session_id = :s"), {"s": recorded.signed})
        conn.execute(text("DELETE FROM sessions WHERE id = :s"), {"s": recorded.signed})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.signed} deleted" in out


def test_forging_the_signature_bytes(recorded: Recorded, capsys):
    """A signature that is well formed but made by no registered key (all hashes recomputed)."""
    engine = recorded.sql()
    with engine.begin() as conn:
        row = conn.execute(text("SELECT id, data_json FROM entries WHERE kind = 'signature'")).one()
        d = json.loads(row.data_json)
        d["signature"] = keys.KeyPair.generate().sign(b"anything")
        conn.execute(text("UPDATE entries SET data_json = :d WHERE id = :i"),
                     {"d": json.dumps(d, sort_keys=True, separators=(",", ":")), "i": row.id})
        rechain(conn, recorded.signed)
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert "forged: the signature does not verify with Carla's registered key" in out or \
        "forged: the signature does not verify with carla's registered key" in out
    assert f"session {recorded.signed}, entry #5" in out  # #4 is the checkpoint sign-off makes


def test_swapping_the_public_key_in_the_database_is_ignored(recorded: Recorded, capsys):
    """Verify never trusts the database's copy of public keys, and signing still uses the registry's."""
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("UPDATE user_keys SET public_key = :p"), {"p": keys.KeyPair.generate().public_b64})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 0, out
    db = open_database(recorded.url, trust_dir=recorded.trust)
    try:
        svc = db.service(db.authenticate("carla", PASSWORD))
        svc.sign(recorded.signed, PASSWORD, "reviewed")
        assert db.verify().ok
    finally:
        db.close()


def test_swapping_the_wrapped_private_key_is_refused_at_signing(recorded: Recorded):
    """A key the attacker wrapped under their own password does not open with the user's password."""
    from console.record import SigningUnavailable

    engine = recorded.sql()
    mine = keys.KeyPair.generate()
    with engine.begin() as conn:
        uid = conn.execute(text("SELECT id FROM users WHERE username = 'carla'")).scalar_one()
        conn.execute(text("UPDATE user_keys SET wrapped_private = :w"),
                     {"w": keys.wrap(mine, "attacker password", str(uid))})
    engine.dispose()
    db = open_database(recorded.url, trust_dir=recorded.trust)
    try:
        svc = db.service(db.authenticate("carla", PASSWORD))
        with pytest.raises(SigningUnavailable, match="does not open with this password"):
            svc.sign(recorded.signed, PASSWORD, "reviewed")
    finally:
        db.close()


def test_removing_the_record_identity(recorded: Recorded, capsys):
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM record_meta"))
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert "record: identity missing" in out


def test_a_witness_line_added_by_someone_without_the_site_key(recorded: Recorded, capsys):
    """Someone who can write the witness but holds no site key cannot add a line that counts."""
    line = json.loads(TrustDir(recorded.trust).witness_path.read_text().splitlines()[-1])
    line["seq"] = 99
    with open(TrustDir(recorded.trust).witness_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    code, out = recorded.verify(capsys)
    assert code == 1
    assert "witness line forged" in out
    assert "entry #99" not in out


def test_changing_the_dose_in_a_session_header_and_recomputing_everything(recorded: Recorded, capsys):
    """The header is witnessed when the session starts, so a rewritten dose is named even in progress."""
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET details_json = :d WHERE id = :s"),
                     {"d": '{"dose_mg":70}', "s": recorded.signed})
        conn.execute(text("UPDATE sessions SET details_json = :d WHERE id = :s"),
                     {"d": '{"dose_mg":70}', "s": recorded.anchored})
        rechain(conn, recorded.signed)
        rechain(conn, recorded.anchored)
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1
    assert f"session {recorded.signed}, entry #0: rewritten: the session header differs" in out
    assert f"session {recorded.anchored}, entry #0: rewritten: the session header differs" in out


def test_deleting_a_session_that_was_only_started(recorded: Recorded, capsys):
    db = open_database(recorded.url, trust_dir=recorded.trust)
    svc = db.service(db.authenticate("carla", PASSWORD))
    patient = svc.find_patient("PT-ATTACK")
    assert patient is not None
    sid = svc.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 3").id
    witnessed = [json.loads(x) for x in TrustDir(recorded.trust).witness_path.read_text().splitlines()]
    assert [(w["session_id"], w["seq"]) for w in witnessed][-1] == (sid, 0)  # pinned at its start
    db.close()
    engine = recorded.sql()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE id = :s"), {"s": sid})
    engine.dispose()
    code, out = recorded.verify(capsys)
    assert code == 1 and f"session {sid} deleted" in out
