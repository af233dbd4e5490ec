"""Keyed signatures, the site trust folder and the witness, as users and administrators meet them: signing,
a forgotten password (admin reset), a rotated site key, a user leaving, a lost witness file, an auditor
verifying on another computer. The attacks themselves are in ``tests/faults/test_attacks_signing.py``."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from console.cli import main
from console.record import SigningUnavailable, keys, open_database, signing
from console.record.trust import TrustDir
from tests.record.conftest import PASSWORD

NEW_PASSWORD = "another horse 2"


@pytest.fixture
def trust(tmp_path: Path) -> Path:
    return tmp_path / "trust"


@pytest.fixture
def tdb(db_url: str, trust: Path):
    db = open_database(db_url, trust_dir=trust)
    yield db
    db.close()


def _clinician(db, name: str = "carla"):
    db.service(db.system_user("test-setup")).add_user(name, name.title(), "clinician", PASSWORD)
    return db.service(db.authenticate(name, PASSWORD))


def _session(svc) -> int:
    p = svc.create_patient(f"PT-{os.urandom(3).hex()}")
    s = svc.start_session(p.id, "iv-ketamine-0.5", "3", "chair 1")
    svc.add_entry(s.id, "note", {"text": "calm"})
    return s.id


@contextmanager
def _sql(db) -> Iterator[Connection]:
    """A plain connection to the record, as someone with database access would use (disposed after)."""
    engine = create_engine(db.engine.url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _verify(capsys, url: str, trust: Path) -> tuple[int, str]:
    code = main(["verify", "--db", url, "--trust-dir", str(trust)])
    out, err = capsys.readouterr()
    return code, out + err


def test_signing_uses_the_users_registered_key_and_is_witnessed(tdb, trust):
    svc = _clinician(tdb)
    sid = _session(svc)
    e = svc.sign(sid, PASSWORD)
    cert = TrustDir(trust).user_cert(e.data["key_id"])
    assert cert is not None and cert["username"] == "carla" and cert["valid_until"] is None
    msg = signing.seal_message(tdb.record_id(), sid, e.data["seal"], e.data["key_id"])
    assert keys.verify_signature(cert["public_key"], e.data["signature"], msg)
    lines = [json.loads(x) for x in TrustDir(trust).witness_path.read_text().splitlines()]
    seal = [x for x in lines if x["kind"] == "seal"]
    assert [(x["session_id"], x["seq"], x["hash"]) for x in seal] == [(sid, e.seq, e.hash)]
    assert stat.S_IMODE((trust / "site_key.pem").stat().st_mode) == 0o600
    assert tdb.verify().ok


def test_the_database_holds_no_usable_private_key(tdb):
    """The wrapped key opens only with the password, and only for its own user."""
    _clinician(tdb)
    with _sql(tdb) as conn:
        uid, wrapped = conn.execute(text("SELECT user_id, wrapped_private FROM user_keys")).one()
    assert keys.unwrap(wrapped, PASSWORD, str(uid)).key_id == json.loads(wrapped)["key_id"]
    with pytest.raises(keys.KeyUnwrapError):
        keys.unwrap(wrapped, "not the password", str(uid))
    with pytest.raises(keys.KeyUnwrapError):
        keys.unwrap(wrapped, PASSWORD, str(uid + 1))


def test_forgotten_password_admin_reset_makes_a_new_key_and_old_signatures_still_verify(tdb, capsys, trust,
                                                                                      db_url):
    svc = _clinician(tdb)
    sid = _session(svc)
    old = svc.sign(sid, PASSWORD)
    tdb.service(tdb.system_user("admin")).set_password("carla", NEW_PASSWORD)
    assert TrustDir(trust).user_cert(old.data["key_id"])["valid_until"] is not None
    svc = tdb.service(tdb.authenticate("carla", NEW_PASSWORD))
    sid2 = _session(svc)
    new = svc.sign(sid2, NEW_PASSWORD)
    assert new.data["key_id"] != old.data["key_id"]
    code, out = _verify(capsys, db_url, trust)
    assert code == 0, out


def test_rotated_site_key_keeps_old_anchors_valid(tdb, capsys, trust, db_url):
    svc = _clinician(tdb)
    sid = _session(svc)
    svc.sign(sid, PASSWORD)
    old_site = TrustDir(trust).site_key().key_id
    new_site = TrustDir(trust).rotate_site_key().key_id
    assert new_site != old_site
    sid2 = _session(svc)
    tdb.anchor_checkpoint(sid2)
    svc.sign(sid2, PASSWORD)
    lines = [json.loads(x) for x in TrustDir(trust).witness_path.read_text().splitlines()]
    assert {x["key_id"] for x in lines} == {old_site, new_site}
    code, out = _verify(capsys, db_url, trust)
    assert code == 0, out


def test_a_site_key_not_endorsed_by_its_predecessor_is_refused(tdb, capsys, trust, db_url):
    svc = _clinician(tdb)
    svc.sign(_session(svc), PASSWORD)
    TrustDir(trust).rotate_site_key()
    reg = json.loads((trust / "registry.json").read_text())
    reg["site_keys"][1]["endorsement"] = keys.KeyPair.generate().sign(b"x")
    (trust / "registry.json").write_text(json.dumps(reg))
    svc.sign(_session(svc), PASSWORD)
    code, out = _verify(capsys, db_url, trust)
    assert code == 1 and "not endorsed by the site key before it" in out


def test_a_user_leaving_retires_the_key_old_signatures_verify_new_ones_are_refused(tdb, capsys, trust,
                                                                                    db_url):
    svc = _clinician(tdb)
    sid = _session(svc)
    e = svc.sign(sid, PASSWORD)
    tdb.service(tdb.system_user("admin")).disable_user("carla")
    cert = TrustDir(trust).user_cert(e.data["key_id"])
    assert cert["valid_until"] is not None
    code, out = _verify(capsys, db_url, trust)
    assert code == 0, out
    # someone with the database re-activates the account and un-retires the key there: the registry decides
    with _sql(tdb) as conn:
        conn.execute(text("UPDATE users SET active = :t WHERE username = 'carla'"), {"t": True})
        conn.execute(text("UPDATE user_keys SET retired_at = NULL"))
    svc = tdb.service(tdb.authenticate("carla", PASSWORD))
    sid2 = _session(svc)
    with pytest.raises(SigningUnavailable, match="was retired"):
        svc.sign(sid2, PASSWORD)


def test_a_signature_made_with_a_retired_key_outside_chairside_is_named(tdb, capsys, trust, db_url):
    """Someone who kept a leaver's key (and password) signs a session in the database directly."""
    from tests.faults.test_attacks_signing import rechain
    from tests.record.conftest import drop_append_only_guard

    svc = _clinician(tdb)
    sid = _session(svc)
    e = svc.sign(sid, PASSWORD)
    with _sql(tdb) as conn:
        uid, wrapped = conn.execute(text("SELECT user_id, wrapped_private FROM user_keys")).one()
    pair = keys.unwrap(wrapped, PASSWORD, str(uid))
    tdb.service(tdb.system_user("admin")).disable_user("carla")
    rid = tdb.record_id()
    with _sql(tdb) as conn:
        drop_append_only_guard(conn)
        d = dict(e.data)
        d["signed_at"] = "2099-01-01T00:00:00.000000+00:00"
        conn.execute(text("UPDATE entries SET data_json = :d WHERE id = :i"),
                     {"d": json.dumps(d), "i": e.id})
        rechain(conn, sid)
        d = json.loads(conn.execute(text("SELECT data_json FROM entries WHERE id = :i"),
                                    {"i": e.id}).scalar())
        d.update(signing.seal_fields(rid, sid, pair, d["seal"]))
        conn.execute(text("UPDATE entries SET data_json = :d WHERE id = :i"), {"d": json.dumps(d), "i": e.id})
        rechain(conn, sid)
    code, out = _verify(capsys, db_url, trust)
    assert code == 1
    assert "key retired: signed at 2099-01-01" in out and "rewritten" in out
    assert f"session {sid}" in out


def test_missing_witness_file_is_a_named_finding(tdb, capsys, trust, db_url):
    svc = _clinician(tdb)
    svc.sign(_session(svc), PASSWORD)
    (trust / "witness.jsonl").unlink()
    code, out = _verify(capsys, db_url, trust)
    assert code == 1
    assert "record: witness missing" in out and str(trust / "witness.jsonl") in out
    # every signature is also named: nothing vouches for it any more
    assert "unwitnessed" in out


def test_a_second_witness_location_restores_a_lost_witness(tdb, capsys, trust, db_url, tmp_path):
    trust.mkdir(parents=True, exist_ok=True)
    spare = tmp_path / "share" / "witness-copy.jsonl"
    (trust / "config.json").write_text(json.dumps({"witnesses": [str(spare)]}))
    svc = _clinician(tdb)
    sid = _session(svc)
    svc.sign(sid, PASSWORD)
    assert spare.read_text() == (trust / "witness.jsonl").read_text()
    (trust / "witness.jsonl").unlink()
    code, out = _verify(capsys, db_url, trust)
    assert code == 1 and "witness missing" in out and "unwitnessed" not in out
    shutil.copy(spare, trust / "witness.jsonl")  # the written procedure: restore from the other location
    code, out = _verify(capsys, db_url, trust)
    assert code == 0, out


def test_an_auditor_verifies_with_copies_of_registry_and_witness_only(tdb, capsys, trust, db_url, tmp_path):
    svc = _clinician(tdb)
    svc.sign(_session(svc), PASSWORD)
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    for name in ("registry.json", "witness.jsonl"):
        shutil.copy(trust / name, auditor / name)
    code, out = _verify(capsys, db_url, auditor)
    assert code == 0, out
    assert not (auditor / "site_key.pem").exists()
    code, out = _verify(capsys, db_url, tmp_path / "empty")
    assert code == 1 and "no key registry" in out


def test_a_record_without_signatures_needs_no_trust_folder(tdb, capsys, db_url, tmp_path):
    svc = _clinician(tdb)
    _session(svc)
    code, out = _verify(capsys, db_url, tmp_path / "nothing-here")
    assert code == 0, out


def test_demo_accounts_get_a_key_at_their_first_signature(tdb, trust):
    from console.record import DEMO_PASSWORD

    svc = tdb.service(tdb.demo_login())
    e = svc.sign(_session(svc), DEMO_PASSWORD)
    assert TrustDir(trust).user_cert(e.data["key_id"])["username"] == "demo"
    assert tdb.verify().ok


def test_checkpoint_entries_and_interruptions_are_anchored(tdb, trust):
    """A session's header is witnessed when it starts; closing the database checkpoints the sessions it
    holds, so the witness pins their heads."""
    svc = _clinician(tdb)
    sid = _session(svc)
    head = svc.session(sid).head_hash
    tdb.close()
    lines = [json.loads(x) for x in TrustDir(trust).witness_path.read_text().splitlines()]
    header = [e for e in lines if e["seq"] == 0]
    assert [(x["kind"], x["session_id"], x["seq"]) for x in header] == [("checkpoint", sid, 0)]  # at start
    last = lines[-1]
    assert (last["kind"], last["session_id"], last["seq"], last["hash"]) == ("checkpoint", sid, 1, head)


def test_seal_fingerprint_for_paper_copies():
    pair = keys.KeyPair.generate()
    data = {"seal": "ab" * 32, **signing.seal_fields("r", 1, pair, "ab" * 32)}
    fp = signing.seal_fingerprint(data)
    assert fp.endswith(f"key {pair.key_id[:8]}") and len(fp.split()[0]) == 16
    assert signing.seal_fingerprint({"seal": "cd" * 32}) == "cd" * 8 + " (unkeyed)"


def test_a_database_signed_before_keyed_signatures_is_named_until_signed_again(db_url, tmp_path, capsys,
                                                                                monkeypatch):
    """A seal as release 0004 wrote it (no key id, no Ed25519 signature; schema upgrades from 0004 are
    tested in test_schema): verify names the unkeyed signature until a clinician signs the session again,
    which seals the old signature too."""
    trust = tmp_path / "site"
    db = open_database(db_url, trust_dir=trust)
    try:
        svc = _clinician(db)
        sid = _session(svc)
        with monkeypatch.context() as mp:
            mp.setattr(signing, "seal_fields", lambda *a, **k: {})
            e = svc.sign(sid, PASSWORD)
        assert "signature" not in e.data and "key_id" not in e.data
        code, out = _verify(capsys, db_url, trust)
        assert code == 1 and f"session {sid}, entry #{e.seq} ({e.id}): unkeyed" in out, out
        db.service(db.authenticate("carla", PASSWORD)).sign(sid, PASSWORD, "reviewed")
        code, out = _verify(capsys, db_url, trust)
        assert code == 0, out
    finally:
        db.close()


def test_a_line_cut_by_a_power_loss_does_not_swallow_the_next_one(tdb, capsys, trust, db_url):
    svc = _clinician(tdb)
    sid = _session(svc)
    witness = trust / "witness.jsonl"
    whole = witness.read_text()
    witness.write_text(whole + whole.splitlines()[-1][:40])  # half a line, no newline: the power went
    svc.sign(sid, PASSWORD)
    code, out = _verify(capsys, db_url, trust)
    assert code == 1
    assert "witness damaged" in out and "is damaged" in out
    assert "unwitnessed" not in out  # the seal written after the cut line is intact and found
