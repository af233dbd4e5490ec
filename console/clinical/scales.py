"""Rating scales and questionnaires: definitions loaded from JSON, scoring, bands and flags.

A scale is data (``resources/scales/*.json``, format ``chairside-scale/1``, described in
``resources/README.md``). The built-in set holds MOAA/S, RASS, CADSS-6 (short paraphrased labels only), a quick
0-10 detachment rating (not validated, additional only), PHQ-9 and GAD-7. The full 23-item CADSS is not shipped:
its wording belongs to its authors, so a clinic loads its licensed item file with :func:`load_scale_file`, and a
licensed file also replaces every CADSS-6 label (:meth:`ScaleLibrary.add_file`).

Scoring turns item answers into a :class:`ScaleResult` (total, subscale totals, severity band, flags). Flags are
what the clinician must see at once: PHQ-9 item 9 answered above 0, CADSS total above 4 and above the pre-dose
total, MOAA/S below the pre-dose score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.clinical._common import is_int, load_json, require, resource_dir

SCALE_FORMAT = "chairside-scale/1"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ScoreError(ValueError):
    """Answers that cannot be scored; ``problems`` lists every one, in item order, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Option:
    """One answer a clinician can pick, with the words shown next to it."""

    value: int
    label: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question of a scale. ``number`` is the item's number in the full published scale, when known."""

    id: str
    label: str
    min: int
    max: int
    options: tuple[Option, ...] = ()
    number: int | None = None

    def option_label(self, value: int) -> str:
        """The words of ``value``, or the number as text when the item has no labelled options."""
        for option in self.options:
            if option.value == value:
                return option.label
        return str(value)


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band: it applies from ``min`` (inclusive) up to the next band's ``min``."""

    min: int
    label: str


@dataclass(frozen=True, slots=True)
class FlagRule:
    """When to raise a flag. Exactly one trigger is set:

    * ``item`` with ``item_min``: that item scored at least ``item_min`` (PHQ-9 item 9 >= 1);
    * ``total_above`` (optionally with ``above_baseline``): total > threshold (and > the pre-dose total);
    * ``below_baseline``: total lower than the pre-dose total (MOAA/S sedation).
    """

    id: str
    message: str
    urgent: bool = False
    item: str | None = None
    item_min: int = 1
    total_above: int | None = None
    above_baseline: bool = False
    below_baseline: bool = False


@dataclass(frozen=True, slots=True)
class Flag:
    """A raised flag, as shown to the clinician and stored with the entry."""

    id: str
    message: str
    urgent: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "message": self.message, "urgent": self.urgent}


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """A scored administration of a scale."""

    scale_id: str
    scale_version: int
    items: dict[str, int]
    total: int
    subscales: dict[str, int] = field(default_factory=dict)
    band: str | None = None
    flags: tuple[Flag, ...] = ()
    baseline_total: int | None = None

    @property
    def urgent(self) -> bool:
        """True when any flag must be told to the clinician immediately."""
        return any(f.urgent for f in self.flags)

    def has_flag(self, flag_id: str) -> bool:
        return any(f.id == flag_id for f in self.flags)


@dataclass(frozen=True, slots=True)
class Scale:
    """A rating scale or questionnaire definition (see the module docstring for the file format)."""

    id: str
    version: int
    title: str
    items: tuple[Item, ...]
    name: str = ""
    purpose: str = ""
    instructions: str = ""
    subscales: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bands: tuple[Band, ...] = ()
    flag_rules: tuple[FlagRule, ...] = ()
    loinc: str | None = None
    validated: bool = True
    additional_only: bool = False
    licensed: bool = False
    source: str = ""

    # -- shape -----------------------------------------------------------------------------------------------
    @property
    def single(self) -> bool:
        """True for a one-item scale (MOAA/S, RASS, 0-10 rating): its total is the answer itself."""
        return len(self.items) == 1

    @property
    def min_total(self) -> int:
        return sum(i.min for i in self.items)

    @property
    def max_total(self) -> int:
        return sum(i.max for i in self.items)

    @property
    def tag(self) -> str:
        """``id@version``, recorded with every administration."""
        return f"{self.id}@{self.version}"

    def item(self, item_id: str | int) -> Item:
        """The item with this id; ``KeyError`` naming the scale when absent."""
        key = str(item_id)
        for it in self.items:
            if it.id == key:
                return it
        raise KeyError(f"{self.title} has no item {key!r}")

    def band_for(self, total: int) -> str | None:
        """The severity band of a total, or ``None`` when the scale has no bands."""
        label = None
        for band in self.bands:
            if total >= band.min:
                label = band.label
        return label

    # -- answers ---------------------------------------------------------------------------------------------
    def problems(self, answers: Mapping[Any, Any]) -> list[str]:
        """Every reason ``answers`` cannot be scored, in plain words (empty list = scorable)."""
        problems: list[str] = []
        given = {str(k): v for k, v in answers.items()}
        known = {it.id for it in self.items}
        for key in given:
            if key not in known:
                problems.append(f"{self.title}: there is no item {key!r}")
        for n, it in enumerate(self.items, start=1):
            name = self._item_name(n, it)
            if it.id not in given or given[it.id] is None or given[it.id] == "":
                problems.append(f"{name} is not answered")
                continue
            value = given[it.id]
            if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
                value = int(value)
            if not is_int(value):
                problems.append(f"{name}: {value!r} is not a whole number")
            elif not it.min <= value <= it.max:
                problems.append(f"{name}: {value} is out of range (allowed {it.min} to {it.max})")
            elif it.options and value not in {o.value for o in it.options}:
                problems.append(f"{name}: {value} is not one of the listed answers")
        return problems

    def _item_name(self, n: int, it: Item) -> str:
        if self.single:
            return self.title
        short = it.label if len(it.label) <= 40 else it.label[:37] + "..."
        return f"{self.title} item {it.number if it.number is not None else it.id} ({short})"

    def score(self, answers: Mapping[Any, Any], baseline_total: int | None = None) -> ScaleResult:
        """Score a complete set of answers; raises :class:`ScoreError` listing every problem.

        ``baseline_total`` is the pre-dose total of the same scale in this session, used by flags that compare
        with it (CADSS dissociation, MOAA/S sedation).
        """
        problems = self.problems(answers)
        if problems:
            raise ScoreError(problems)
        given = {str(k): int(v) for k, v in answers.items()}
        items = {it.id: given[it.id] for it in self.items}
        total = sum(items.values())
        subscales = {name: sum(items[i] for i in ids) for name, ids in self.subscales.items()}
        flags = tuple(self._flags(items, total, baseline_total))
        return ScaleResult(self.id, self.version, items, total, subscales, self.band_for(total), flags,
                           baseline_total)

    def partial_flags(self, answers: Mapping[Any, Any]) -> list[Flag]:
        """Item flags raised by the answers given so far (an incomplete form), for showing them at once."""
        items: dict[str, int] = {}
        for k, v in answers.items():
            if is_int(v) and str(k) in {it.id for it in self.items}:
                items[str(k)] = v
        return [Flag(r.id, r.message, r.urgent) for r in self.flag_rules
                if r.item is not None and r.item in items and items[r.item] >= r.item_min]

    def _flags(self, items: dict[str, int], total: int, baseline: int | None) -> Iterable[Flag]:
        for rule in self.flag_rules:
            raised = False
            message = rule.message
            if rule.item is not None:
                raised = items.get(rule.item, 0) >= rule.item_min
            elif rule.total_above is not None:
                raised = total > rule.total_above
                if raised and rule.above_baseline:
                    if baseline is None:
                        # Without a pre-dose score the safer reading is to raise it, and say why.
                        message = f"{rule.message} (no pre-dose score recorded)"
                    else:
                        raised = total > baseline
            elif rule.below_baseline:
                raised = baseline is not None and total < baseline
            if raised:
                yield Flag(rule.id, message, rule.urgent)

    # -- relabelling -----------------------------------------------------------------------------------------
    def with_labels(self, labels: Mapping[str, str], *, licensed: bool = True, source: str = "") -> Scale:
        """A copy with item labels replaced from ``labels`` (item id -> wording); other items keep theirs."""
        items = tuple(replace(it, label=labels.get(it.id, it.label)) for it in self.items)
        return replace(self, items=items, licensed=licensed or self.licensed, source=source or self.source)

    def to_dict(self) -> dict[str, Any]:
        """The definition as a JSON-able dict in the file format (round-trips through :func:`parse_scale`)."""
        d: dict[str, Any] = {
            "format": SCALE_FORMAT, "id": self.id, "version": self.version, "title": self.title,
            "name": self.name, "purpose": self.purpose, "instructions": self.instructions,
            "validated": self.validated, "additional_only": self.additional_only, "licensed": self.licensed,
            "loinc": self.loinc,
            "items": [{"id": it.id, "label": it.label, "min": it.min, "max": it.max,
                       **({"number": it.number} if it.number is not None else {}),
                       **({"options": [{"value": o.value, "label": o.label} for o in it.options]}
                          if it.options else {})} for it in self.items],
            "subscales": {k: list(v) for k, v in self.subscales.items()},
            "bands": [{"min": b.min, "label": b.label} for b in self.bands],
            "flags": [],
        }
        for r in self.flag_rules:
            f: dict[str, Any] = {"id": r.id, "message": r.message, "urgent": r.urgent}
            if r.item is not None:
                f.update(item=r.item, item_min=r.item_min)
            elif r.total_above is not None:
                f.update(total_above=r.total_above, above_baseline=r.above_baseline)
            else:
                f.update(below_baseline=True)
            d["flags"].append(f)
        return d


# -- parsing ---------------------------------------------------------------------------------------------------
def _options(raw: Any, where: str) -> tuple[Option, ...]:
    require(isinstance(raw, list), where, "'options' must be a list of {value, label}")
    out: list[Option] = []
    for n, o in enumerate(raw):
        w = f"{where} option {n + 1}"
        require(isinstance(o, dict), w, "must be an object with 'value' and 'label'")
        require(is_int(o.get("value")), w, "'value' must be a whole number")
        require(isinstance(o.get("label"), str) and o["label"].strip() != "", w, "'label' must be non-empty text")
        out.append(Option(o["value"], o["label"].strip()))
    values = [o.value for o in out]
    require(len(set(values)) == len(values), where, "option values must be unique")
    return tuple(out)


def parse_scale(data: Any, where: str = "scale") -> Scale:
    """Build and validate a :class:`Scale` from a parsed JSON object; errors name ``where`` and the field."""
    require(isinstance(data, dict), where, "the file must hold one JSON object")
    fmt = data.get("format")
    require(fmt == SCALE_FORMAT, where, f"'format' must be {SCALE_FORMAT!r} (found {fmt!r})")
    sid = data.get("id")
    require(isinstance(sid, str) and bool(_ID_RE.match(sid)), where,
            "'id' must be a short name of letters, digits, '_', '-' or '.'")
    version = data.get("version")
    require(is_int(version) and version >= 1, where, "'version' must be a whole number >= 1")
    title = data.get("title")
    require(isinstance(title, str) and title.strip() != "", where, "'title' must be non-empty text")
    for key in ("name", "purpose", "instructions"):
        require(isinstance(data.get(key, ""), str), where, f"'{key}' must be text")
    for key in ("validated", "additional_only", "licensed"):
        require(isinstance(data.get(key, False), bool), where, f"'{key}' must be true or false")
    loinc = data.get("loinc")
    require(loinc is None or (isinstance(loinc, str) and bool(re.fullmatch(r"\d{1,7}-\d", loinc))), where,
            "'loinc' must be a LOINC code such as '44261-6' or null")

    default_options = _options(data["options"], f"{where} 'options'") if "options" in data else ()
    raw_items = data.get("items")
    require(isinstance(raw_items, list) and len(raw_items) > 0, where, "'items' must be a non-empty list")
    items: list[Item] = []
    for n, raw in enumerate(raw_items, start=1):
        w = f"{where} item {n}"
        require(isinstance(raw, dict), w, "must be an object")
        iid = raw.get("id", str(n))
        if is_int(iid):
            iid = str(iid)
        require(isinstance(iid, str) and iid.strip() != "", w, "'id' must be non-empty text")
        w = f"{where} item {iid!r}"
        label = raw.get("label")
        require(isinstance(label, str) and label.strip() != "", w, "'label' must be non-empty text")
        lo, hi = raw.get("min"), raw.get("max")
        require(is_int(lo) and is_int(hi), w, "'min' and 'max' must be whole numbers")
        require(lo < hi, w, f"'min' ({lo}) must be below 'max' ({hi})")
        number = raw.get("number")
        require(number is None or (is_int(number) and number >= 1), w, "'number' must be a whole number >= 1")
        if "options" in raw:
            options = _options(raw["options"], w)
        elif default_options and all(lo <= o.value <= hi for o in default_options):
            options = default_options
        else:
            options = ()
        for o in options:
            require(lo <= o.value <= hi, w, f"option value {o.value} is outside {lo}..{hi}")
        items.append(Item(iid, label.strip(), lo, hi, options, number))
    ids = [it.id for it in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    require(not dupes, where, f"item ids must be unique (repeated: {', '.join(dupes)})")

    raw_sub = data.get("subscales", {})
    require(isinstance(raw_sub, dict), where, "'subscales' must map a name to a list of item ids")
    subscales: dict[str, tuple[str, ...]] = {}
    for name, members in raw_sub.items():
        require(isinstance(members, list) and len(members) > 0, f"{where} subscale {name!r}",
                "must be a non-empty list of item ids")
        members = [str(m) for m in members]
        missing = [m for m in members if m not in ids]
        require(not missing, f"{where} subscale {name!r}", f"unknown item ids: {', '.join(missing)}")
        subscales[name] = tuple(members)

    raw_bands = data.get("bands", [])
    require(isinstance(raw_bands, list), where, "'bands' must be a list of {min, label}")
    bands: list[Band] = []
    for n, b in enumerate(raw_bands, start=1):
        w = f"{where} band {n}"
        require(isinstance(b, dict) and is_int(b.get("min")), w, "must have a whole-number 'min'")
        require(isinstance(b.get("label"), str) and b["label"].strip() != "", w, "'label' must be non-empty text")
        require(not bands or b["min"] > bands[-1].min, w, "bands must be in increasing order of 'min'")
        bands.append(Band(b["min"], b["label"].strip()))

    raw_flags = data.get("flags", [])
    require(isinstance(raw_flags, list), where, "'flags' must be a list")
    rules: list[FlagRule] = []
    for n, f in enumerate(raw_flags, start=1):
        w = f"{where} flag {n}"
        require(isinstance(f, dict), w, "must be an object")
        require(isinstance(f.get("id"), str) and f["id"] != "", w, "'id' must be non-empty text")
        require(isinstance(f.get("message"), str) and f["message"].strip() != "", w, "'message' must be text")
        triggers = [k for k in ("item", "total_above", "below_baseline") if f.get(k) not in (None, False)]
        require(len(triggers) == 1, w, "needs exactly one of 'item', 'total_above' or 'below_baseline'")
        item = f.get("item")
        if item is not None:
            item = str(item)
            require(item in ids, w, f"refers to unknown item {item!r}")
        item_min = f.get("item_min", 1)
        require(is_int(item_min), w, "'item_min' must be a whole number")
        total_above = f.get("total_above")
        require(total_above is None or is_int(total_above), w, "'total_above' must be a whole number")
        rules.append(FlagRule(f["id"], f["message"].strip(), bool(f.get("urgent", False)), item, item_min,
                              total_above, bool(f.get("above_baseline", False)),
                              bool(f.get("below_baseline", False))))

    return Scale(sid, version, title.strip(), tuple(items), data.get("name", ""), data.get("purpose", ""),
                 data.get("instructions", ""), subscales, tuple(bands), tuple(rules), loinc,
                 data.get("validated", True), data.get("additional_only", False), data.get("licensed", False),
                 where)


def load_scale_file(path: str | Path) -> Scale:
    """Load and validate one scale file (built-in or a clinic's licensed item file).

    Raises :class:`ClinicalDataError` (a ``ValueError``) whose message names the file and the faulty field.
    """
    return parse_scale(load_json(path), str(path))


# -- library ---------------------------------------------------------------------------------------------------
#: the full scale whose licensed wording also relabels a short form: full id -> short-form id
SHORT_FORMS: dict[str, str] = {"cadss": "cadss6"}


class ScaleLibrary:
    """The scales available to a site: the built-in files, then the site's own files on top.

    A site file with the id of a built-in scale replaces it. A licensed full CADSS (id ``cadss``) also replaces
    the label of every CADSS-6 item whose id (the item number in the full scale) it contains; the ids that it
    lacks are reported in :attr:`warnings`.
    """

    def __init__(self, scales: Iterable[Scale] = ()) -> None:
        self._scales: dict[str, Scale] = {}
        self.warnings: list[str] = []
        for s in scales:
            self._scales[s.id] = s

    @classmethod
    def builtin(cls) -> ScaleLibrary:
        """The scales shipped in ``resources/scales``."""
        return cls(load_scale_file(p) for p in sorted(resource_dir("scales").glob("*.json")))

    @classmethod
    def for_site(cls, site_dir: str | Path | None = None) -> ScaleLibrary:
        """Built-in scales plus every ``*.json`` in ``site_dir`` (if given), in name order."""
        lib = cls.builtin()
        if site_dir is not None:
            for p in sorted(Path(site_dir).glob("*.json")):
                lib.add_file(p)
        return lib

    def add_file(self, path: str | Path) -> Scale:
        """Add (or replace by id) a scale from a file; apply a licensed full scale's wording to its short form."""
        scale = load_scale_file(path)
        self.add(scale)
        return scale

    def add(self, scale: Scale) -> None:
        """Add or replace a scale, relabelling its short form when it is a licensed full scale."""
        self._scales[scale.id] = scale
        short_id = SHORT_FORMS.get(scale.id)
        if short_id and scale.licensed and short_id in self._scales:
            short = self._scales[short_id]
            labels = {it.id: it.label for it in scale.items}
            lacking = [it.id for it in short.items if it.id not in labels]
            if lacking:
                self.warnings.append(f"{scale.source or scale.id}: no wording for {short.title} item(s) "
                                     f"{', '.join(lacking)}; their paraphrased labels are kept")
            self._scales[short_id] = short.with_labels(labels, licensed=not lacking, source=scale.source)

    def get(self, scale_id: str) -> Scale:
        """The scale with this id; ``KeyError`` with the ids available when absent."""
        try:
            return self._scales[scale_id]
        except KeyError:
            raise KeyError(f"no scale {scale_id!r} (available: {', '.join(sorted(self._scales))})") from None

    def __contains__(self, scale_id: object) -> bool:
        return scale_id in self._scales

    def ids(self) -> list[str]:
        return sorted(self._scales)

    def __iter__(self):
        return iter(self._scales.values())
