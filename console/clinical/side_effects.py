"""The side-effect catalogue offered as a checklist (``resources/side_effects.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.clinical._common import is_int, is_number, load_json, require, resource_file

CATALOGUE_FORMAT = "chairside-side-effects/1"


@dataclass(frozen=True, slots=True)
class SideEffect:
    """One side effect: ``frequency_pct`` from the esketamine trials when known; ``routes`` limits where shown."""

    id: str
    label: str
    frequency_pct: float | None = None
    routes: tuple[str, ...] = ()

    def applies_to(self, route: str | None) -> bool:
        return not self.routes or route is None or route in self.routes


@dataclass(frozen=True, slots=True)
class DrugIntervention:
    drug: str
    for_: str
    dose: str
    route: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Side effects, CTCAE grade wording, usual interventions, routes and outcomes."""

    version: int
    effects: tuple[SideEffect, ...]
    grades: dict[int, tuple[str, str]]
    drug_interventions: tuple[DrugIntervention, ...]
    non_drug_interventions: tuple[str, ...]
    routes: tuple[str, ...]
    outcomes: tuple[str, ...]

    def for_route(self, route: str | None) -> list[SideEffect]:
        """Effects to offer for a protocol route, most frequent first (the order of the file)."""
        return [e for e in self.effects if e.applies_to(route)]

    def get(self, effect_id: str) -> SideEffect:
        for e in self.effects:
            if e.id == effect_id:
                return e
        raise KeyError(f"no side effect {effect_id!r} in the catalogue")


def parse_catalogue(data: Any, where: str = "side effects") -> Catalogue:
    """Validate a catalogue object; ``ClinicalDataError`` names the faulty place."""
    require(isinstance(data, dict) and data.get("format") == CATALOGUE_FORMAT, where,
            f"'format' must be {CATALOGUE_FORMAT!r}")
    require(is_int(data.get("version")), where, "'version' must be a whole number")
    effects = []
    for n, e in enumerate(data.get("effects", []), start=1):
        w = f"{where} effect {n}"
        require(isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("label"), str), w,
                "needs 'id' and 'label' text")
        freq = e.get("frequency_pct")
        require(freq is None or is_number(freq), w, "'frequency_pct' must be a number")
        effects.append(SideEffect(e["id"], e["label"], freq, tuple(e.get("routes", ()))))
    require(len(effects) > 0, where, "'effects' must not be empty")
    grades = {}
    for g in data.get("grades", []):
        require(isinstance(g, dict) and g.get("grade") in (1, 2, 3, 4), f"{where} grades", "grade must be 1-4")
        grades[g["grade"]] = (g.get("label", ""), g.get("description", ""))
    require(sorted(grades) == [1, 2, 3, 4], where, "'grades' must describe grades 1, 2, 3 and 4")
    drugs = tuple(DrugIntervention(d["drug"], d.get("for", ""), d.get("dose", ""), d.get("route", ""))
                  for d in data.get("drug_interventions", []))
    return Catalogue(data["version"], tuple(effects), grades, drugs,
                     tuple(data.get("non_drug_interventions", [])), tuple(data.get("routes", [])),
                     tuple(data.get("outcomes", [])))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The built-in catalogue, or a site's replacement file."""
    p = resource_file("side_effects.json") if path is None else Path(path)
    return parse_catalogue(load_json(p), str(p))
