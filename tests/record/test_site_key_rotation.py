"""Rotating the site key (docs/security.md, "Rotating keys"): an admin does it from the command line, it is
audited, everything signed before still verifies, and nobody else can do it."""

from __future__ import annotations

from pathlib import Path

from console.record import open_database
from console.record.checkpoints import append_checkpoint
from console.record.trust import TrustDir
from tests.record.conftest import PASSWORD
from tests.record.test_cli_hardening import ADMIN_PASSWORD, assert_refused, run


def _signed_record(tmp_path: Path, trust: Path) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    db = open_database(url, trust_dir=trust)
    try:
        setup = db.service(db.system_user("test-setup"))
        setup.add_user("ada", "Ada Admin", "admin", ADMIN_PASSWORD)
        setup.add_user("carla", "Carla Clinician", "clinician", PASSWORD)
        svc = db.service(db.authenticate("carla", PASSWORD))
        sid = svc.start_session(svc.create_patient("PT-1").id, "iv-ketamine-0.5", "3", "chair 1").id
        svc.add_entry(sid, "note", {"text": "before the rotation"})
        svc.sign(sid, PASSWORD)
    finally:
        db.close()
    return url, sid


def test_an_admin_rotates_the_site_key_and_everything_still_verifies(tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    url, _ = _signed_record(tmp_path, trust)
    old_id = TrustDir(trust).site_key().key_id

    done = run(tmp_path, "db", "rotate-site-key", "--db", url, "--user", "ada", "--trust-dir", str(trust),
               stdin=f"{ADMIN_PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    assert f"site key {old_id[:12]} retired" in done.stdout

    registry = TrustDir(trust).load_registry()
    keys = registry["site_keys"]
    assert len(keys) == 2 and keys[0]["key_id"] == old_id
    assert keys[1]["endorsed_by"] == old_id and TrustDir(trust).site_key().key_id == keys[1]["key_id"]
    assert (trust / f"site_key.retired-{old_id[:12]}.pem").exists()

    db = open_database(url, trust_dir=trust)
    try:
        [row] = [a for a in db.audit_trail() if a.action == "site_key_rotate"]
        assert row.username == "ada" and row.after["key_id"] == keys[1]["key_id"]
        # a checkpoint written now is signed with the new key, and the whole record verifies
        svc = db.service(db.authenticate("carla", PASSWORD))
        patient = svc.find_patient("PT-1")
        assert patient is not None
        sid2 = svc.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 1").id
        assert append_checkpoint(db, sid2) is not None
    finally:
        db.close()
    checked = run(tmp_path, "verify", "--db", url, "--trust-dir", str(trust))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("intact: 2 session(s)")


def test_only_an_admin_may_rotate_and_a_refusal_changes_nothing(tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    url, _ = _signed_record(tmp_path, trust)
    before = (trust / "site_key.pem").read_bytes(), (trust / "registry.json").read_bytes()
    assert_refused(run(tmp_path, "db", "rotate-site-key", "--db", url, "--user", "carla", "--trust-dir",
                       str(trust), stdin=f"{PASSWORD}\n"), "rotate the site key")
    assert_refused(run(tmp_path, "db", "rotate-site-key", "--db", url, "--trust-dir", str(trust)), "--user")
    assert_refused(run(tmp_path, "db", "rotate-site-key", "--db", url, "--user", "ada", "--trust-dir",
                       str(trust), stdin="not the password\n"), "Wrong user name or password")
    assert ((trust / "site_key.pem").read_bytes(), (trust / "registry.json").read_bytes()) == before
