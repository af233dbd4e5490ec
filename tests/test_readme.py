"""The README's two commands are the newcomer's contract; CI must run exactly the test command it shows."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT


def _readme_commands() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```(?:sh|bash)\n(.*?)\n```", text, flags=re.DOTALL)


def test_readme_opens_with_run_and_test_commands() -> None:
    commands = _readme_commands()
    assert len(commands) >= 2
    run_cmd, test_cmd = commands[0], commands[1]
    assert "pip install" in run_cmd and "chairside --demo" in run_cmd
    assert "pip install" in test_cmd and "pytest" in test_cmd and "QT_QPA_PLATFORM=offscreen" in test_cmd


def test_the_test_command_runs_the_static_checks_between_install_and_pytest() -> None:
    steps = [step.strip() for step in _readme_commands()[1].split("&&")]
    install = next(i for i, s in enumerate(steps) if s.startswith("pip install"))
    assert steps[install + 1] == "python -m tests.checks"
    assert steps[install + 2].endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_cmd = _readme_commands()[1].strip()
    ci_lines = [line.strip() for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_cmd in ci_lines
