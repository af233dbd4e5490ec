"""Log-in that resists guessing, and demo accounts that never reach a real record (issue 10, items 5 and 8).

Attacks tried: guessing a password many times in a row, guessing fast, guessing names that do not exist
(to learn which do), logging in as the well-known demo accounts, pointing a demo at a real record, setting
a common password, and claiming someone else's identity through the environment.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.record import AuthError, Database, InvalidEntry, open_database
from console.record import database as database_module
from console.record.cli_support import authenticate_cli
from console.record.demo import DemoRefused, is_demo_only, resolve_demo_database
from console.record.errors import StorageUnavailable
from console.record.lockout import ConfigError, LoginPolicy, LoginState, load_policy
from console.record.passwords import check_new_password
from tests.record.conftest import PASSWORD, make_user


@pytest.fixture(autouse=True)
def _policy_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No site file or variable from the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("CHAIRSIDE_LOGIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHAIRSIDE_CONFIG", str(tmp_path / "no-site-config.toml"))


def _policy(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"CHAIRSIDE_LOGIN_{key.upper()}", str(value))


def _actions(db: Database, target: str) -> list[str]:
    return [a.action for a in db.audit_trail() if a.target == target]


# ---------------------------------------------------------------------------------------- password policy
@pytest.mark.parametrize("weak", ["password", "12345678", "password1234", "qwertyuiopasdf", "iloveyou1234",
                                  "111111111111", "  leading space pass"])
def test_common_short_or_padded_passwords_are_refused(db: Database, weak: str) -> None:
    admin = db.service(db.system_user("test-setup"))
    with pytest.raises(InvalidEntry):
        admin.add_user("nina", "Nina Nurse", "clinician", weak)
    assert [u.username for u in admin.users()] == []  # nothing half-made


def test_a_passphrase_is_accepted_and_a_password_built_from_the_name_is_not() -> None:
    check_new_password("amber chair window")
    with pytest.raises(ValueError, match="at least 12"):
        check_new_password("Xy7#kq2!")  # strong-looking but short
    with pytest.raises(ValueError, match="easy to guess"):
        check_new_password("hildegard2026", user_inputs=["hildegard", "Hildegard Hartmann"])


# ---------------------------------------------------------------------------------------- lockout
def test_repeated_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(db: Database, monkeypatch) -> None:
    from console.record.lockout import unlock_user

    _policy(monkeypatch, throttle_after=0, lockout_after=4)
    make_user(db, "carla", "clinician")
    admin = make_user(db, "ada", "admin")
    for _ in range(3):
        with pytest.raises(AuthError, match="Wrong user name or password"):
            db.authenticate("carla", "guess guess guess")
    with pytest.raises(AuthError, match="locked"):
        db.authenticate("carla", "guess guess guess")
    # now even the right password is refused, and says how to get out
    with pytest.raises(AuthError, match="chairside users unlock carla"):
        db.authenticate("carla", PASSWORD)
    actions = _actions(db, "user carla")
    assert actions.count("login_failed") == 4 and actions.count("user_lockout") == 1
    assert actions[-1] == "login_locked"
    assert unlock_user(db, admin, "carla") == 4
    assert db.authenticate("carla", PASSWORD).username == "carla"
    unlock = [a for a in db.audit_trail() if a.action == "user_unlock"]
    assert len(unlock) == 1 and unlock[0].username == "ada" and unlock[0].before == {"failures": 4,
                                                                                      "locked": True}


def test_only_an_admin_can_unlock(db: Database, monkeypatch) -> None:
    from console.record.errors import PermissionDenied
    from console.record.lockout import unlock_user

    carla = make_user(db, "carla", "clinician")
    with pytest.raises(PermissionDenied):
        unlock_user(db, carla, "carla")
    with pytest.raises(PermissionDenied):  # a forged admin context gets nowhere: the database is asked
        unlock_user(db, type(carla)(carla.id, "carla", "Carla", "admin", False), "carla")
    assert "user_unlock" not in _actions(db, "user carla")


def test_a_successful_log_in_clears_the_count(db: Database, monkeypatch) -> None:
    _policy(monkeypatch, throttle_after=0, lockout_after=3)
    make_user(db, "carla", "clinician")
    for _ in range(2):
        for _ in range(2):
            with pytest.raises(AuthError, match="Wrong"):
                db.authenticate("carla", "not it at all")
        assert db.authenticate("carla", PASSWORD).username == "carla"


def test_unknown_names_lock_like_real_ones_so_messages_do_not_reveal_accounts(db: Database, monkeypatch) -> None:
    _policy(monkeypatch, throttle_after=0, lockout_after=2)
    make_user(db, "carla", "clinician")
    messages = {}
    for name in ("carla", "ghost"):
        seen = []
        for _ in range(3):
            with pytest.raises(AuthError) as err:
                db.authenticate(name, "not it at all")
            seen.append(str(err.value).replace(name, "NAME"))
        messages[name] = seen
    assert messages["carla"] == messages["ghost"]
    assert "locked" in messages["ghost"][-1]


def test_fast_guessing_is_throttled_without_counting_or_checking(db: Database, monkeypatch) -> None:
    _policy(monkeypatch, throttle_after=2, lockout_after=10, max_delay_s=60)
    make_user(db, "carla", "clinician")
    for _ in range(2):
        with pytest.raises(AuthError, match="Wrong"):
            db.authenticate("carla", "not it at all")
    # the clock the check reads stands before the failures were written: the wait has not passed
    frozen = datetime.now(UTC) - timedelta(seconds=5)
    monkeypatch.setattr(database_module, "utcnow", lambda: frozen)
    with pytest.raises(AuthError, match=r"wait \d+ seconds? before trying again"):
        db.authenticate("carla", PASSWORD)  # even the right password waits: nothing is checked
    actions = _actions(db, "user carla")
    assert actions.count("login_throttled") == 1 and actions.count("login_failed") == 2
    # once the wait has passed, the right password is accepted
    monkeypatch.setattr(database_module, "utcnow", lambda: datetime.now(UTC) + timedelta(minutes=5))
    assert db.authenticate("carla", PASSWORD).username == "carla"


def test_waits_double_up_to_the_site_maximum_and_a_lockout_can_expire() -> None:
    policy = LoginPolicy(throttle_after=3, lockout_after=10, max_delay_s=60, lockout_minutes=15)
    assert [policy.delay_after(n) for n in (0, 2, 3, 4, 5, 8, 9)] == [0, 0, 1, 2, 4, 32, 60]
    last = datetime(2026, 1, 1, tzinfo=UTC)
    state = LoginState(failures=10, last_failure_at=last, lockout_recorded=True)
    assert state.locked(policy, last + timedelta(minutes=14))
    assert not state.locked(policy, last + timedelta(minutes=16))
    assert LoginState(10, last, True).locked(LoginPolicy(lockout_after=10), last + timedelta(days=365))


# ---------------------------------------------------------------------------------------- site settings
def test_site_file_sets_the_policy_and_the_environment_overrides_it(monkeypatch, tmp_path: Path) -> None:
    site = tmp_path / "chairside.toml"
    site.write_text("[login]\nthrottle_after = 5\nlockout_after = 6\n", encoding="utf-8")
    monkeypatch.setenv("CHAIRSIDE_CONFIG", str(site))
    assert load_policy() == LoginPolicy(throttle_after=5, lockout_after=6)
    monkeypatch.setenv("CHAIRSIDE_LOGIN_LOCKOUT_AFTER", "8")
    assert load_policy().lockout_after == 8


@pytest.mark.parametrize("content", ["[login]\nlockout_after = -1\n", "[login]\nlockout_after = 'ten'\n",
                                     "[login]\nlockot_after = 3\n", "[login\n", "login = 3\n"])
def test_a_malformed_site_setting_is_refused_never_silently_weakened(monkeypatch, tmp_path, content) -> None:
    site = tmp_path / "chairside.toml"
    site.write_text(content, encoding="utf-8")
    monkeypatch.setenv("CHAIRSIDE_CONFIG", str(site))
    with pytest.raises(ConfigError, match="chairside.toml"):
        load_policy()


def test_a_malformed_variable_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("CHAIRSIDE_LOGIN_THROTTLE_AFTER", "lots")
    with pytest.raises(ConfigError, match="CHAIRSIDE_LOGIN_THROTTLE_AFTER"):
        load_policy()


# ---------------------------------------------------------------------------------------- demo accounts
def test_demo_and_simulation_accounts_never_log_in_interactively(db: Database) -> None:
    from console.record import DEMO_PASSWORD

    db.demo_login()
    db.simulation_login()
    for name in ("demo", "simulation"):
        with pytest.raises(AuthError, match="--demo"):
            db.authenticate(name, DEMO_PASSWORD)
    reasons = [a.detail for a in db.audit_trail() if a.action == "login_failed"]
    assert reasons == ["demo account: no interactive log-in"] * 2


def test_demo_accounts_are_refused_on_a_real_record(db: Database) -> None:
    make_user(db, "carla", "clinician")
    users_before = len(db.service(db.system_user()).users())
    for login in (db.demo_login, db.simulation_login):
        with pytest.raises(DemoRefused, match="holds real records"):
            login()
    assert len(db.service(db.system_user()).users()) == users_before
    assert not is_demo_only(db)


def test_demo_accounts_made_by_an_older_version_are_refused_too(db: Database) -> None:
    """A real record that already holds an active demo account (as older versions left): it cannot log in,
    and demo_login refuses it because the record holds real data."""
    db.demo_login()
    make_user(db, "carla", "clinician")
    with pytest.raises(AuthError):
        db.authenticate("demo", "demo")
    with pytest.raises(DemoRefused):
        db.demo_login()


def test_a_demo_only_database_asks_for_no_log_in(db: Database, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nothing to read: a prompt would fail
    user = authenticate_cli(db, None)
    assert user.demo and user.username == "demo"


def test_a_real_record_needs_a_user_and_a_password_on_the_command_line(db: Database, monkeypatch) -> None:
    make_user(db, "carla", "clinician")
    with pytest.raises(AuthError, match="--user"):
        authenticate_cli(db, None, what="exporting")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(AuthError, match="no password on standard input"):
        authenticate_cli(db, "carla")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert authenticate_cli(db, "carla").username == "carla"


def test_the_environment_names_nobody(db: Database, monkeypatch) -> None:
    for var in ("LOGNAME", "USER", "USERNAME", "LNAME"):
        monkeypatch.setenv(var, "mallory")
    assert "mallory" not in db.system_user().username
    db.service(db.system_user()).add_user("ada", "Ada Admin", "admin", PASSWORD)
    assert not any("mallory" in a.username for a in db.audit_trail())


# ---------------------------------------------------------------------------------------- demo database choice
def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_demo_refuses_a_real_record_and_leaves_it_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "real.sqlite3"
    db = open_database(f"sqlite:///{path}")
    make_user(db, "carla", "clinician")
    db.close()
    before = _fingerprint(path)
    with pytest.raises(DemoRefused, match="real"):
        resolve_demo_database(str(path))
    assert _fingerprint(path) == before


def test_demo_uses_a_demo_only_database_or_its_own(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CHAIRSIDE_DB", f"sqlite:///{tmp_path / 'the-real-record.sqlite3'}")
    own = resolve_demo_database(None)
    assert own.endswith("chairside-demo.sqlite3") and "the-real-record" not in own
    demo_path = tmp_path / "demo.sqlite3"
    db = open_database(f"sqlite:///{demo_path}")
    svc = db.service(db.demo_login())
    svc.start_session(svc.create_patient("DEMO-1").id, "iv", "1", "chair")
    db.close()
    assert resolve_demo_database(str(demo_path)) == f"sqlite:///{demo_path}"
    new = tmp_path / "fresh.sqlite3"
    assert resolve_demo_database(str(new)) == f"sqlite:///{new}" and not new.exists()


def test_demo_database_check_refuses_folders_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailable, match="folder"):
        resolve_demo_database(str(tmp_path))
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(os.urandom(4096))
    before = _fingerprint(junk)
    with pytest.raises(StorageUnavailable, match="cannot read"):
        resolve_demo_database(str(junk))
    assert _fingerprint(junk) == before


@pytest.mark.postgres
def test_demo_refuses_a_real_postgresql_record(pg_url: str) -> None:
    db = open_database(pg_url)
    make_user(db, "carla", "clinician")
    db.close()
    with pytest.raises(DemoRefused):
        resolve_demo_database(pg_url)


# ---------------------------------------------------------------------------------------- the log-in dialog
def test_the_log_in_dialog_says_locked_plainly(qtbot, db: Database, monkeypatch) -> None:
    from console.login_dialog import LoginDialog

    _policy(monkeypatch, throttle_after=0, lockout_after=2)
    make_user(db, "carla", "clinician")
    dialog = LoginDialog(db.authenticate)
    qtbot.addWidget(dialog)
    for _ in range(2):
        dialog.username.setText("carla")
        dialog.password.setText("not it at all")
        assert not dialog.try_login()
    assert "locked" in dialog.error_label.text() and "chairside users unlock carla" in dialog.error_label.text()
    assert dialog.password.text() == ""
    dialog.username.setText("demo")
    dialog.password.setText("demo")
    assert not dialog.try_login() and dialog.user is None


def test_a_simulation_never_writes_to_a_real_record(tmp_path: Path) -> None:
    """``simulate-session`` logs in through ``simulation_login``: on a real record it is refused before
    any patient or session is made."""
    from console.record.simulation import simulate_session

    url = f"sqlite:///{tmp_path / 'real.sqlite3'}"
    db = open_database(url)
    make_user(db, "carla", "clinician")
    db.close()
    with pytest.raises(DemoRefused):
        simulate_session(url, minutes=5, scenario="stable", seed=1)
    db = open_database(url)
    try:
        svc = db.service(db.system_user())
        assert svc.patients() == [] and svc.sessions() == []
        assert [u.username for u in svc.users()] == ["carla"]
    finally:
        db.close()
