"""The static-checks runner: contracts reach import-linter intact, and a package not merged yet is named."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests import checks
from tests.conftest import PROJECT_ROOT


def _contracts() -> dict[str, object]:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]  # type: ignore[no-any-return]


def test_every_layer_contract_reaches_import_linter() -> None:
    text, _ = checks.contracts_ini(_contracts())
    for contract in ("devices-alone", "qt-free-console", "widgets-off-console-qt"):
        assert f"[importlinter:contract:{contract}]" in text
    devices = text.split("[importlinter:contract:devices-alone]")[1].split("[importlinter:contract:")[0]
    assert all(f"    {m}\n" in devices for m in ("console", "widgets", "PySide6", "pyqtgraph"))


def test_the_qt_free_console_packages_are_all_named() -> None:
    contracts: list[dict[str, list[str]]] = _contracts()["contracts"]  # type: ignore[assignment]
    qt_free = next(c for c in contracts if c["id"] == "qt-free-console")
    assert {"console.record", "console.clinical", "console.alarms", "console.runtime",
            "console.session"} <= set(qt_free["source_modules"])
    assert {"PySide6", "pyqtgraph", "widgets"} <= set(qt_free["forbidden_modules"])


def test_a_source_package_missing_from_the_tree_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "console" / "alarms").mkdir(parents=True)
    (tmp_path / "console" / "alarms" / "__init__.py").write_text("")
    (tmp_path / "console" / "__init__.py").write_text("")
    config = {"root_packages": ["console"], "contracts": [
        {"id": "c", "name": "n", "type": "forbidden", "source_modules": ["console.alarms", "console.runtime"],
         "forbidden_modules": ["PySide6"]}]}
    text, notes = checks.contracts_ini(config, tmp_path)
    assert "    console.alarms\n" in text and "console.runtime" not in text
    assert notes == ["contract c: console.runtime not in this tree yet, not checked"]


def test_an_unknown_step_is_refused_with_the_known_ones(capsys) -> None:  # type: ignore[no-untyped-def]
    assert checks.main(["lint"]) == 2
    assert "unknown check(s): lint; known: ruff, mypy, imports" in capsys.readouterr().err
