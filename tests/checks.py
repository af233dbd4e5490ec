"""The static checks CI runs before the tests: ``python -m tests.checks`` (from the project root).

Three steps, each configured in ``pyproject.toml`` and explained in ``docs/checks.md``:

* ``ruff check .``: ruff's default rules at the project's line length, with the per-file exceptions listed in
  ``[tool.ruff.lint.per-file-ignores]``;
* ``mypy``: every package and the tests (``[tool.mypy] files``); ``devices`` strictly; the per-module
  exceptions in ``[[tool.mypy.overrides]]``;
* ``lint-imports``: the layer contracts in ``[tool.importlinter]`` (``devices`` free of the console, the
  widgets and Qt; the Qt-free console packages free of Qt and the widgets; the widgets off the console's
  Qt modules).

Every step runs even when an earlier one failed, so one CI run shows every finding; the exit status is 1 when
any step failed. ``python -m tests.checks ruff imports`` runs only the named steps.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_exists(name: str, root: Path = ROOT) -> bool:
    """True when the dotted module ``name`` is a package or module file under ``root``."""
    path = root.joinpath(*name.split("."))
    return (path / "__init__.py").is_file() or path.with_suffix(".py").is_file()


def contracts_ini(config: dict[str, object], root: Path = ROOT) -> tuple[str, list[str]]:
    """The ``[tool.importlinter]`` table as an INI file for ``lint-imports``, and a note per skipped module.

    A project module named in a contract that does not exist in this tree (a package named before the branch
    that creates it is merged, a module another branch removed) is left out with a note, because
    import-linter stops at the first missing module and would check nothing at all. External modules (Qt)
    are always kept.
    """
    notes: list[str] = []
    ours = set(config["root_packages"])  # type: ignore[call-overload]

    def present(module: str) -> bool:
        return module.split(".")[0] not in ours or module_exists(module, root)

    lines = ["[importlinter]", "root_packages ="]
    lines += [f"    {p}" for p in config["root_packages"]]  # type: ignore[attr-defined]
    lines.append(f"include_external_packages = {config.get('include_external_packages', False)}")
    for contract in config["contracts"]:  # type: ignore[attr-defined]
        sources = [m for m in contract["source_modules"] if present(m)]
        forbidden = [m for m in contract["forbidden_modules"] if present(m)]
        notes += [f"contract {contract['id']}: {m} not in this tree, not checked"
                  for m in (*contract["source_modules"], *contract["forbidden_modules"]) if not present(m)]
        if not sources or not forbidden:
            continue
        lines += ["", f"[importlinter:contract:{contract['id']}]", f"name = {contract['name']}",
                  f"type = {contract['type']}", "source_modules ="]
        lines += [f"    {m}" for m in sources]
        lines.append("forbidden_modules =")
        lines += [f"    {m}" for m in forbidden]
    return "\n".join(lines) + "\n", notes


def _run(cmd: Sequence[str], cwd: Path = ROOT) -> int:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(list(cmd), cwd=cwd, check=False).returncode


def ruff() -> int:
    """ruff with the project's configuration."""
    return _run([sys.executable, "-m", "ruff", "check", "--no-cache", "."])


def mypy() -> int:
    """mypy over ``[tool.mypy] files`` with the project's configuration."""
    return _run([sys.executable, "-m", "mypy"])


def imports(root: Path = ROOT) -> int:
    """import-linter over the project's layer contracts (those in ``pyproject.toml``, applied to ``root``)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    text, notes = contracts_ini(pyproject["tool"]["importlinter"], root)
    for note in notes:
        print(f"note: {note}")
    with tempfile.TemporaryDirectory(prefix="chairside-contracts-") as tmp:
        ini = Path(tmp) / ".importlinter"
        ini.write_text(text, encoding="utf-8")
        script = ("import sys; from importlinter.cli import lint_imports_command; "
                  "sys.exit(lint_imports_command())")
        return _run([sys.executable, "-c", script, "--no-cache", "--no-logo", str(ini)], cwd=root)


STEPS: dict[str, Callable[[], int]] = {"ruff": ruff, "mypy": mypy, "imports": imports}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named steps (all by default); 0 when every one passed."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(STEPS)
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        print(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(STEPS)}", file=sys.stderr)
        return 2
    failed = [name for name in names if STEPS[name]() != 0]
    if failed:
        print(f"static checks failed: {', '.join(failed)} (docs/checks.md says how to read and fix them)")
        return 1
    print(f"static checks passed: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
