"""The static-checks runner: contracts reach import-linter intact, and a package not merged yet is named."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
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
    assert notes == ["contract c: console.runtime not in this tree, not checked"]


def test_an_unknown_step_is_refused_with_the_known_ones(capsys) -> None:  # type: ignore[no-untyped-def]
    assert checks.main(["lint"]) == 2
    assert "unknown check(s): lint; known: ruff, mypy, imports" in capsys.readouterr().err


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


LAYERS = {"devices/__init__.py": "", "devices/driver.py": "import math\n", "widgets/__init__.py": "",
          "widgets/tile.py": "import PySide6\nfrom console.alarms import model\n", "console/__init__.py": "",
          "console/alarms/__init__.py": "", "console/alarms/model.py": "import math\n",
          "console/main_window.py": "import PySide6\nimport widgets.tile\n"}


def test_the_contracts_keep_a_clean_tree_and_break_on_a_driver_importing_the_widgets(tmp_path: Path) -> None:
    _tree(tmp_path, LAYERS)
    assert checks.imports(tmp_path) == 0
    _tree(tmp_path, {"devices/driver.py": "import widgets.tile\n"})  # devices -> widgets -> Qt
    assert checks.imports(tmp_path) == 1


def test_the_contracts_break_on_qt_in_a_qt_free_package_and_widgets_using_a_window(tmp_path: Path) -> None:
    _tree(tmp_path, {**LAYERS, "console/alarms/model.py": "from PySide6 import QtCore\n"})
    assert checks.imports(tmp_path) == 1
    _tree(tmp_path, {**LAYERS, "widgets/tile.py": "import console.main_window\n"})
    assert checks.imports(tmp_path) == 1


def test_every_step_runs_even_after_one_failed(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    ran: list[str] = []

    def step(name: str, code: int) -> Callable[[], int]:
        def run() -> int:
            ran.append(name)
            return code

        return run

    monkeypatch.setattr(checks, "STEPS", {"ruff": step("ruff", 1), "mypy": step("mypy", 0),
                                          "imports": step("imports", 0)})
    assert checks.main([]) == 1
    assert ran == ["ruff", "mypy", "imports"]
    assert "static checks failed: ruff" in capsys.readouterr().out
