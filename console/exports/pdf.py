"""PDF session report for the patient's chart (reportlab).

Contents, in the order a clinician reads a chart: header (patient, protocol and version, clinician, chair,
dates), record integrity, dosing and infusion timeline, the vital-sign trend chart with numbered event
markers, vitals at each scheduled check (from the protocol's schedule), observations and questionnaires
with item scores and totals, side effects (grade, intervention, outcome), alarms, notes and other entries,
discharge, the REMS monitoring form (esketamine sessions), amendments beside the originals, and the
signatures with printed name, date-time and meaning.

Every page carries the session and patient, ``page X of Y``, a red DEMO band and watermark for a demo
session, and a red INTEGRITY CHECK FAILED band when the record failed verification. Times are local (the
offset is printed); amended entries show what was recorded and, beside it, the amendment.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from console import __version__
from console.clinical.rems import REMS_FIELDS
from console.exports._common import (
    DEMO_TEXT,
    INTEGRITY_FAILED_TEXT,
    EntryView,
    Progress,
    ProgressReporter,
    SessionData,
    atomic_path,
    entry_text,
    epoch,
    fmt_local,
    fmt_num,
    local_dt,
)
from console.exports._pdf_plot import Marker, trend_drawing
from console.record.signing import seal_fingerprint
from devices import mdc

if TYPE_CHECKING:
    from console.record.database import Database

RED = colors.HexColor("#b3141b")
GREEN = colors.HexColor("#1e7b34")
AMBER_BG = colors.HexColor("#fff3d6")
HEAD_BG = colors.HexColor("#e8ecf1")
PAGE_W, PAGE_H = A4
#: the longest text a table cell shows (about a third of a page in the cell font)
MAX_CELL_CHARS = 1500
MARGIN = 15 * mm
BODY_W = PAGE_W - 2 * MARGIN
DOSING_KINDS = (
    "hold_override",
    "infusion_start",
    "infusion_pause",
    "infusion_resume",
    "infusion_rate",
    "infusion_stop",
    "esketamine_dose",
)
MARKER_KINDS = DOSING_KINDS + ("observation", "questionnaire", "side_effect", "alarm", "discharge")
OTHER_KINDS = ("precheck", "note", "intervention", "check_overdue", "session_interrupted", "session_resumed")


# ---------------------------------------------------------------------------------------------- fonts
def _fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode?) fonts: DejaVu Sans when the system has it (≥, µ), else Helvetica."""
    candidates = [
        Path("/usr/share/fonts/truetype/dejavu"),
        Path("/usr/share/fonts/dejavu"),
        Path("/Library/Fonts"),
        Path("C:/Windows/Fonts"),
    ]
    for folder in candidates:
        reg, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if reg.is_file() and bold.is_file():
            try:
                if "ChairsideSans" not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont("ChairsideSans", str(reg)))
                    pdfmetrics.registerFont(TTFont("ChairsideSans-Bold", str(bold)))
                return "ChairsideSans", "ChairsideSans-Bold", True
            except (OSError, TTFError):  # a broken font file: fall back rather than fail the report
                break
    return "Helvetica", "Helvetica-Bold", False


class _Styles:
    def __init__(self) -> None:
        self.font, self.bold, self.unicode = _fonts()
        base = {"fontName": self.font, "alignment": TA_LEFT}
        self.body = ParagraphStyle("body", fontSize=8.5, leading=10.5, **base)
        self.cell = ParagraphStyle("cell", fontSize=7.8, leading=9.4, **base)
        self.cell_bold = ParagraphStyle("cellb", parent=self.cell, fontName=self.bold)
        self.amend = ParagraphStyle("amend", parent=self.cell, textColor=colors.HexColor("#7a4a00"))
        self.h1 = ParagraphStyle("h1", fontName=self.bold, fontSize=15, leading=18, spaceAfter=4)
        self.h2 = ParagraphStyle(
            "h2",
            fontName=self.bold,
            fontSize=10.5,
            leading=13,
            spaceBefore=9,
            spaceAfter=3,
            textColor=colors.HexColor("#1d3557"),
        )
        self.small = ParagraphStyle(
            "small", fontSize=7, leading=8.5, textColor=colors.HexColor("#444444"), **base
        )

    def text(self, value: Any) -> str:
        """Escaped text for a Paragraph; symbols the fallback font lacks are spelled out."""
        s = "" if value is None else str(value)
        if not self.unicode:
            for a, b in (("≥", ">="), ("≤", "<="), ("µ", "u"), ("–", "-"), ("—", "-"), ("…", "...")):
                s = s.replace(a, b)
        return escape(s)


# ---------------------------------------------------------------------------------------------- page frame
def _canvas_class(data: SessionData, st: _Styles, header: str) -> type:
    """A canvas that draws the per-page decorations once the page count is known ("page X of Y")."""
    generated = fmt_local(_dt.datetime.now().timestamp(), seconds=False)

    class ReportCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _band(self, y: float, text: str) -> None:
            self.setFillColor(RED)
            self.rect(MARGIN, y, BODY_W, 7 * mm, stroke=0, fill=1)
            self.setFillColor(colors.white)
            self.setFont(st.bold, 10)
            self.drawCentredString(PAGE_W / 2, y + 2.2 * mm, text)

        def _decorate(self, total: int) -> None:
            self.saveState()
            y = PAGE_H - 10 * mm
            if data.demo:
                # a watermark a photocopy keeps, and a band no crop removes
                self.saveState()
                self.setFillColor(RED)
                self.setFillAlpha(0.10)
                self.setFont(st.bold, 110)
                self.translate(PAGE_W / 2, PAGE_H / 2)
                self.rotate(45)
                self.drawCentredString(0, -35, "DEMO")
                self.restoreState()
                self._band(y - 7 * mm, "DEMO - simulated or demonstration session, NOT a patient record")
                y -= 8 * mm
            if not data.integrity_ok:
                self._band(y - 7 * mm, "INTEGRITY CHECK FAILED - record may have been altered")
                y -= 8 * mm
            self.setFillColor(colors.HexColor("#444444"))
            self.setFont(st.font, 7.5)
            self.drawString(MARGIN, PAGE_H - 8 * mm, header)
            self.setStrokeColor(colors.HexColor("#999999"))
            self.setLineWidth(0.4)
            self.line(MARGIN, 12 * mm, PAGE_W - MARGIN, 12 * mm)
            self.drawString(
                MARGIN,
                8 * mm,
                f"Chairside {__version__} - generated {generated} (local time)"
                f"{' - DEMO' if data.demo else ''}",
            )
            self.setFont(st.bold, 8)
            self.drawRightString(PAGE_W - MARGIN, 8 * mm, f"page {self._pageNumber} of {total}")
            self.restoreState()

    return ReportCanvas


# ---------------------------------------------------------------------------------------------- tables
def _clip(value: Any) -> str:
    """Cell text cut to :data:`MAX_CELL_CHARS`: a table row cannot continue on the next page, so a very long
    free text would make the report impossible to lay out; the full text stays in the JSON and CSV exports."""
    s = "" if value is None else str(value)
    if len(s) <= MAX_CELL_CHARS:
        return s
    more = len(s) - MAX_CELL_CHARS
    return s[:MAX_CELL_CHARS] + f" [... {more} more characters: full text in the JSON/CSV export]"


def _cell_markup(st: _Styles, value: Any) -> str:
    return st.text(_clip(value)).replace("\n", "<br/>")


def _table(
    st: _Styles,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    notes: dict[int, str] | None = None,
) -> Table:
    """A wrapped, striped table; ``notes[i]`` adds a full-width amendment line under data row ``i``."""
    data: list[list[Any]] = [[Paragraph(st.text(h), st.cell_bold) for h in header]]
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#777777")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for i, row in enumerate(rows):
        data.append(
            [
                c if isinstance(c, Paragraph) else Paragraph(_cell_markup(st, c), st.cell)
                for c in row
            ]
        )
        if notes and i in notes:
            r = len(data)
            data.append([Paragraph(notes[i], st.amend)] + [""] * (len(header) - 1))
            style += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), AMBER_BG)]
    t = Table(data, colWidths=list(widths), repeatRows=1)
    t.setStyle(TableStyle(style))
    return t


def _amend_note(st: _Styles, e: EntryView) -> str:
    parts = []
    for a in e.amendments:
        ad = a.get("data") or {}
        corrected = EntryView({"kind": e.kind, "data": ad.get("data") or {}})
        parts.append(
            f"<b>AMENDED</b> {st.text(fmt_local(epoch(a.get('at'))))} by {st.text(a.get('user', ''))}"
            f" - reason: {_cell_markup(st, ad.get('reason', ''))}. Now reads: "
            f"{_cell_markup(st, entry_text(corrected))}"
        )
    return "<br/>".join(parts)


def _notes_for(st: _Styles, entries: Sequence[EntryView]) -> dict[int, str]:
    return {i: _amend_note(st, e) for i, e in enumerate(entries) if e.amended}


def _by(e: EntryView) -> str:
    late = (
        " (late entry, written " + fmt_local(epoch(e.raw.get("entered_at")), with_date=False) + ")"
        if e.raw.get("late")
        else ""
    )
    return str(e.raw.get("user", "")) + late


# ---------------------------------------------------------------------------------------------- sections
class _Report:
    def __init__(self, data: SessionData, st: _Styles) -> None:
        self.d = data
        self.st = st
        self.story: list[Any] = []

    def h2(self, text: str) -> None:
        self.story.append(CondPageBreak(30 * mm))
        self.story.append(Paragraph(self.st.text(text), self.st.h2))

    def para(self, text: str, style: ParagraphStyle | None = None) -> None:
        self.story.append(Paragraph(text, style or self.st.body))

    def none(self) -> None:
        self.para("<i>None recorded.</i>")

    # -- header ----------------------------------------------------------------------------------------
    def clinician(self) -> str:
        sigs = self.d.signatures()
        names = []
        for e in sigs:
            n = str(e.data.get("signer_name", ""))
            if n and n not in names:
                names.append(n)
        if names:
            return ", ".join(names)
        return str(self.d.session.get("started_by", ""))

    def header(self) -> None:
        d, s, p, st = self.d, self.d.session, self.d.patient, self.st
        title = f"{d.drug.capitalize()} treatment session - report"
        self.story.append(Paragraph(st.text(title), st.h1))
        age = d.details.get("age_years")
        weight = d.details.get("weight_kg", p.get("weight_kg"))
        tz = local_dt(d.started or 0.0)
        offset = tz.strftime("UTC%z") if tz else ""
        offset = offset[:-2] + ":" + offset[-2:] if len(offset) > 5 else offset
        left = [
            ("Patient", f"{p.get('name') or '(no name recorded)'}"),
            ("Patient code", p.get("code", "")),
            (
                "Date of birth",
                f"{p.get('birth_date') or '--'}" + (f" (age {age})" if age is not None else ""),
            ),
            ("Sex", p.get("sex") or "--"),
            ("Weight", f"{fmt_num(weight, 1)} kg" if weight else "--"),
        ]
        proto_tag = (
            d.details.get("protocol_tag") or f"{s.get('protocol_id', '')}@{s.get('protocol_version', '')}"
        )
        right = [
            ("Protocol", d.protocol_title),
            ("Protocol version", f"{s.get('protocol_version', '')} ({proto_tag})"),
            ("Clinician", self.clinician()),
            ("Chair", s.get("chair") or "--"),
            ("Session", f"#{d.session_id}, {str(s.get('status', '')).replace('_', ' ')}"),
            ("Started", fmt_local(d.started)),
            ("Ended", fmt_local(d.ended)),
            ("Times", f"local, {offset}"),
        ]
        rows = []
        for i in range(max(len(left), len(right))):
            lk, lv = left[i] if i < len(left) else ("", "")
            rk, rv = right[i] if i < len(right) else ("", "")
            rows.append(
                [
                    Paragraph(st.text(lk), st.cell_bold),
                    Paragraph(st.text(lv), st.cell),
                    Paragraph(st.text(rk), st.cell_bold),
                    Paragraph(st.text(rv), st.cell),
                ]
            )
        t = Table(rows, colWidths=[26 * mm, BODY_W / 2 - 26 * mm, 28 * mm, BODY_W / 2 - 28 * mm])
        t.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOX", (0, 0), (-1, -1), 0.6, colors.grey),
                    ("BACKGROUND", (0, 0), (0, -1), HEAD_BG),
                    ("BACKGROUND", (2, 0), (2, -1), HEAD_BG),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        self.story.append(t)
        plan = d.details.get("dose_plan") or d.details.get("dose")
        if isinstance(plan, dict) and plan:
            from console.clinical.protocols import DosePlan

            try:
                text = DosePlan(**plan).summary()
            except (TypeError, ValueError):
                text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in plan.items())
            self.para(f"<b>Dose plan:</b> {st.text(text)}", st.body)
        self.story.append(Spacer(1, 3 * mm))
        colour, head = (
            (GREEN, "Record integrity: verified") if d.integrity_ok else (RED, INTEGRITY_FAILED_TEXT)
        )
        box = Table(
            [
                [
                    Paragraph(
                        f"<b>{st.text(head)}</b><br/>{st.text(d.integrity_summary)}",
                        ParagraphStyle("ib", parent=st.body, textColor=colors.white),
                    )
                ]
            ],
            colWidths=[BODY_W],
        )
        box.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), colour),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        self.story.append(box)
        if d.demo:
            self.story.append(Spacer(1, 2 * mm))
            self.para(f"<font color='#b3141b'><b>{st.text(DEMO_TEXT)}</b></font>")

    # -- dosing ----------------------------------------------------------------------------------------
    def dosing(self) -> None:
        self.h2("Dose and infusion timeline")
        es = self.d.of_kind(*DOSING_KINDS)
        if not es:
            return self.none()
        rows = [
            [fmt_local(e.at, with_date=False, seconds=True), entry_text(e, e.original_data), _by(e)]
            for e in es
        ]
        self.story.append(
            _table(
                self.st,
                ["Time", "Event", "By"],
                rows,
                [22 * mm, BODY_W - 62 * mm, 40 * mm],
                _notes_for(self.st, es),
            )
        )

    # -- trend -----------------------------------------------------------------------------------------
    def trend(self) -> None:
        self.h2("Vital-sign trend")
        markers = [
            Marker(i + 1, e.at, entry_text(e))
            for i, e in enumerate(
                x
                for x in self.d.of_kind(*MARKER_KINDS)
                if x.at is not None and not (x.kind == "alarm" and x.data.get("event") not in ("start",))
            )
        ]
        drawing = trend_drawing(self.d, markers, BODY_W, 105 * mm, self.st.font)
        key = [[str(m.number), fmt_local(m.t, with_date=False), m.text] for m in markers]
        parts: list[Any] = [drawing]
        if key:
            parts.append(Spacer(1, 1 * mm))
            parts.append(_table(self.st, ["#", "Time", "Event"], key, [8 * mm, 16 * mm, BODY_W - 24 * mm]))
        self.story.append(KeepTogether(parts[:2]) if len(parts) > 1 else parts[0])
        self.story.extend(parts[2:])

    # -- scheduled checks ------------------------------------------------------------------------------
    def _protocol(self) -> Any:
        from console.clinical.protocols import ProtocolLibrary, parse_protocol

        proto = self.d.details.get("protocol")
        if isinstance(proto, dict):
            try:
                return parse_protocol(
                    {k: v for k, v in proto.items() if k not in ("effective_version", "version_tag")}
                )
            except (ValueError, KeyError, TypeError):  # an old or foreign template: use the built-in one
                pass
        try:
            return ProtocolLibrary.builtin().get(str(self.d.session.get("protocol_id", "")))
        except (KeyError, ValueError):  # unknown protocol: the table lists every NIBP reading instead
            return None

    def checks(self) -> None:
        self.h2("Vitals at each scheduled check")
        from console.clinical.scales import ScaleLibrary
        from console.clinical.schedule import schedule_from_entries

        nibp = self.d.nibp_readings()
        protocol = self._protocol()
        entries = [{"kind": e.kind, "at": e.raw.get("at"), "data": e.data} for e in self.d.entries]
        rows: list[list[Any]] = []
        times: list[tuple[str, float | None, float | None, str]] = []
        if protocol is not None:
            titles = {s.id: s.title for s in ScaleLibrary.builtin()}
            now = max(t for t in (self.d.ended, self.d.time_range()[1], 0.0) if t is not None)
            status = schedule_from_entries(protocol, entries, now, bp_times=[t for t, *_ in nibp], titles=titles)
            for c in status.checkpoints:
                times.append((c.label, c.due_at, c.done_at, c.state))
        else:
            times = [("NIBP", t, t, "done") for t, *_ in nibp]
        if not times:
            return self.none()
        finished = self.d.ended is not None or bool(self.d.of_kind("discharge"))
        for label, due, done, state in times:
            if finished and state in ("pending", "waiting", "overdue"):
                state = "not done"  # the session ended before this check: never "pending" in a closed chart
            at = done
            bp = "--"
            if at is not None:
                near = [r for r in nibp if abs(r[0] - at) <= 180.0]
                if near:
                    r = min(near, key=lambda r: abs(r[0] - at))
                    bp = f"{r[1]:.0f}/{r[2]:.0f}" + (f" ({r[3]:.0f})" if r[3] is not None else "")

            def v(code: int, at: float | None = at) -> str:
                tr = self.d.trends.get(code)
                return fmt_num(tr.at(at) if (tr is not None and at is not None) else None)

            state_cell = Paragraph(
                f"<font color='{'#b3141b' if state in ('missed', 'overdue', 'not done') else '#000000'}'>"
                f"{self.st.text(state)}</font>",
                self.st.cell,
            )
            rows.append(
                [
                    label,
                    fmt_local(due, with_date=False),
                    fmt_local(done, with_date=False),
                    state_cell,
                    bp,
                    v(mdc.HEART_RATE),
                    v(mdc.SPO2),
                    v(mdc.RESP_RATE),
                    v(mdc.ETCO2),
                ]
            )
        w = [BODY_W - 133 * mm, 14 * mm, 14 * mm, 15 * mm, 26 * mm, 14 * mm, 14 * mm, 14 * mm, 22 * mm]
        self.story.append(
            _table(
                self.st,
                ["Check", "Due", "Taken", "State", "NIBP mmHg", "HR", "SpO2 %", "RR", "EtCO2 mmHg"],
                rows,
                w,
            )
        )
        self.para(
            "Values at the time the check was taken: NIBP is the measurement counted for the check, the "
            "others the monitor's reading in that minute.",
            self.st.small,
        )

    # -- observations ----------------------------------------------------------------------------------
    def observations(self) -> None:
        self.h2("Observations and questionnaires")
        es = self.d.of_kind("observation", "questionnaire")
        if not es:
            return self.none()
        rows = []
        for e in es:
            d = e.original_data
            items = d.get("items") if isinstance(d.get("items"), dict) else {}
            keys = sorted(items, key=lambda k: (0, int(k), "") if str(k).isdigit() else (1, 0, str(k)))
            item_text = ", ".join(f"{k}: {items[k]}" for k in keys) if len(items) > 1 else ""
            flags = "; ".join(f.get("message", "") for f in d.get("flags") or [] if isinstance(f, dict))
            extra = " / ".join(x for x in (str(d.get("band") or ""), flags) if x)
            point = str(d.get("point") or d.get("timing") or "")
            if point.replace(".", "", 1).isdigit():
                point += " min"
            total = d.get("total", "")
            total_cell = Paragraph(f"<b>{self.st.text(total)}</b>", self.st.cell)
            rows.append(
                [
                    fmt_local(e.at, with_date=False),
                    str(d.get("title") or d.get("scale", "")),
                    point,
                    item_text,
                    total_cell,
                    extra,
                    _by(e),
                ]
            )
        w = [14 * mm, 20 * mm, 18 * mm, BODY_W - 150 * mm, 13 * mm, 55 * mm, 30 * mm]
        self.story.append(
            _table(
                self.st,
                ["Time", "Scale", "Point", "Items (item: score)", "Total", "Band / flags", "By"],
                rows,
                w,
                _notes_for(self.st, es),
            )
        )

    # -- side effects ----------------------------------------------------------------------------------
    def side_effects(self) -> None:
        self.h2("Side effects")
        es = self.d.of_kind("side_effect")
        if not es:
            return self.none()
        rows = []
        for e in es:
            d = e.original_data
            iv = d.get("intervention")
            if isinstance(iv, dict):
                what = (
                    f"{iv.get('drug', '')} {iv.get('dose', '')} {iv.get('route', '')}"
                    if iv.get("type") == "drug"
                    else str(iv.get("action", ""))
                ).strip()
                when = fmt_local(epoch(iv.get("time")), with_date=False)
                iv_text = f"{what} at {when}"
            else:
                iv_text = "none"
            grade = f"{d.get('grade', '?')} ({d.get('grade_label', '')})"
            rows.append(
                [
                    fmt_local(epoch(d.get("onset")) or e.at, with_date=False),
                    d.get("name", ""),
                    grade,
                    iv_text,
                    d.get("outcome", ""),
                    d.get("notes", ""),
                    _by(e),
                ]
            )
        w = [14 * mm, 28 * mm, 24 * mm, 40 * mm, 18 * mm, BODY_W - 154 * mm, 30 * mm]
        self.story.append(
            _table(
                self.st,
                ["Onset", "Side effect", "Grade (CTCAE)", "Intervention", "Outcome", "Notes", "By"],
                rows,
                w,
                _notes_for(self.st, es),
            )
        )

    # -- alarms ----------------------------------------------------------------------------------------
    def alarms(self) -> None:
        self.h2("Alarms")
        es = self.d.of_kind("alarm")
        starts: dict[Any, dict[str, Any]] = {}
        order: list[Any] = []
        other: list[EntryView] = []
        for e in es:
            d = e.data
            key = d.get("alarm_id")
            ev = d.get("event")
            if ev == "start":
                starts[key] = {"start": e, "end": None, "ack": None, "escalations": []}
                order.append(key)
            elif ev == "end" and key in starts:
                starts[key]["end"] = e
            elif ev == "ack" and key in starts:
                starts[key]["ack"] = e
            elif ev == "escalate" and key in starts:
                starts[key]["escalations"].append(e)
            else:
                other.append(e)
        if not order and not other:
            return self.none()
        rows = []
        for key in order:
            a = starts[key]
            d = a["start"].data
            end = a["end"]
            dur = end.data.get("duration_s") if end else None
            ack = a["ack"]
            worst = end.data.get("worst_value") if end else None
            msg = str(d.get("message", "")) + (f" (worst {fmt_num(worst)})" if worst is not None else "")
            # one condition, one row: an escalation raises the row's priority and says when and why, so the
            # table never shows a desaturation that reached high priority as a medium alarm
            priority = str(d.get("priority", ""))
            for esc in a["escalations"]:
                priority = f"{priority} → {esc.data.get('priority', '')}"
                msg += (f"; {fmt_local(esc.at, with_date=False, seconds=True)} "
                        f"{esc.data.get('message', '')}")
            rows.append(
                [
                    fmt_local(a["start"].at, with_date=False, seconds=True),
                    fmt_local(end.at, with_date=False, seconds=True) if end else "still active",
                    priority,
                    msg,
                    f"{dur:.0f} s" if isinstance(dur, (int, float)) else "--",
                    f"{ack.data.get('user', '')} {fmt_local(ack.at, with_date=False)}" if ack else "--",
                ]
            )
        for e in other:
            rows.append(
                [
                    fmt_local(e.at, with_date=False, seconds=True),
                    "",
                    str(e.data.get("priority", "")),
                    entry_text(e) + (f" by {e.data.get('user')}" if e.data.get("user") else ""),
                    "",
                    "",
                ]
            )
        w = [18 * mm, 18 * mm, 16 * mm, BODY_W - 104 * mm, 16 * mm, 36 * mm]
        self.story.append(
            _table(self.st, ["Start", "End", "Priority", "Alarm", "Duration", "Acknowledged"], rows, w)
        )

    # -- other entries ---------------------------------------------------------------------------------
    def others(self) -> None:
        self.h2("Pre-checks, notes and other entries")
        es = self.d.of_kind(*OTHER_KINDS)
        if not es:
            return self.none()
        rows = []
        for e in es:
            d = e.original_data
            if e.kind == "precheck":
                yes_no = [
                    f"{k.replace('_', ' ')}: {'yes' if d.get(k) else 'NO'}"
                    for k in ("identity_confirmed", "consent_on_file", "fasting", "escort_arranged")
                    if k in d
                ]
                conc = d.get("concomitant") or {}
                if conc:
                    yes_no.append(
                        "concomitant: "
                        + ", ".join(f"{k.replace('_', ' ')} {'yes' if v else 'no'}" for k, v in conc.items())
                    )
                for k in ("weight_kg", "iv_site", "medication_changes", "notes"):
                    if d.get(k) not in (None, ""):
                        yes_no.append(f"{k.replace('_', ' ')}: {d[k]}")
                text = "Pre-checks: " + "; ".join(yes_no)
            else:
                text = entry_text(e, d)
            rows.append([fmt_local(e.at, with_date=False), text, _by(e)])
        self.story.append(
            _table(
                self.st,
                ["Time", "Entry", "By"],
                rows,
                [14 * mm, BODY_W - 54 * mm, 40 * mm],
                _notes_for(self.st, es),
            )
        )

    # -- discharge -------------------------------------------------------------------------------------
    def discharge(self) -> None:
        self.h2("Discharge")
        es = self.d.of_kind("discharge")
        if not es:
            return self.para("<font color='#b3141b'><b>No discharge recorded.</b></font>")
        from console.clinical.discharge import CRITERIA

        labels = {k: label for k, label, _ in CRITERIA}
        for e in es:
            d = e.original_data
            crit = d.get("criteria") or {}
            detail = d.get("criteria_detail") or {}
            order = [k for k, _, _ in CRITERIA if k in crit] + [k for k in crit if k not in labels]
            rows = [
                [
                    labels.get(k, k),
                    "met" if crit[k] is True else "NOT MET" if crit[k] is False else "not judged",
                    detail.get(k, ""),
                ]
                for k in order
            ]
            self.para(
                f"<b>{self.st.text(fmt_local(e.at))}</b> by {self.st.text(_by(e))}: "
                + (
                    "all criteria met"
                    if d.get("all_met")
                    else "<font color='#b3141b'>criteria not met; reason: "
                    f"{self.st.text(d.get('override_reason'))}</font>"
                )
                + (
                    f"; ready to leave after {fmt_num(d.get('ready_minutes'))} min"
                    if d.get("ready_minutes") is not None
                    else ""
                )
                + (f"; notes: {self.st.text(d.get('notes'))}" if d.get("notes") else "")
            )
            self.story.append(
                _table(
                    self.st,
                    ["Criterion", "Result", "Detail"],
                    rows,
                    [70 * mm, 24 * mm, BODY_W - 94 * mm],
                    _notes_for(self.st, [e]),
                )
            )

    # -- REMS ------------------------------------------------------------------------------------------
    def rems(self) -> None:
        if not self.d.is_esketamine:
            return
        from console.exports.rems import fill

        self.h2("Esketamine REMS patient monitoring form")
        form = fill(self.d)
        rows = []
        for key, label, required in REMS_FIELDS:
            v = form.values.get(key)
            if v in (None, ""):
                cell = Paragraph(
                    "<font color='#b3141b'><b>missing</b></font>" if required else "--", self.st.cell
                )
            else:
                cell = Paragraph(
                    self.st.text("yes" if v is True else "no" if v is False else v), self.st.cell
                )
            rows.append([label + ("" if required else " (optional)"), cell])
        self.story.append(_table(self.st, ["Field", "Value"], rows, [95 * mm, BODY_W - 95 * mm]))
        if form.missing:
            self.para(
                f"<font color='#b3141b'><b>To complete before submitting ({len(form.missing)}):</b> "
                f"{self.st.text(', '.join(form.missing))}</font>"
            )
        else:
            self.para("All required fields are filled.")
        self.para("The form is due within 7 days of the treatment.", self.st.small)

    # -- amendments and signatures ---------------------------------------------------------------------
    def amendments(self) -> None:
        self.h2("Amendments (original beside amendment)")
        amended = [e for e in self.d.entries if e.amended]
        if not amended:
            return self.none()
        rows = []
        for e in amended:
            for a in e.amendments:
                ad = a.get("data") or {}
                corrected = EntryView({"kind": e.kind, "data": ad.get("data") or {}})
                when_o = fmt_local(e.at, with_date=False)
                when_a = fmt_local(epoch(a.get("at")), with_date=False)
                rows.append(
                    [
                        f"#{e.raw.get('seq')} {when_o} by {e.raw.get('user', '')}:\n"
                        + entry_text(e, e.original_data),
                        f"#{a.get('seq')} {when_a} by {a.get('user', '')}:\n" + entry_text(corrected),
                        ad.get("reason", ""),
                    ]
                )
        self.story.append(
            _table(
                self.st,
                ["Original (as recorded)", "Amendment", "Reason"],
                rows,
                [BODY_W * 0.36, BODY_W * 0.36, BODY_W * 0.28],
            )
        )

    def signatures(self) -> None:
        self.h2("Signatures")
        es = self.d.signatures()
        if not es:
            return self.para("<font color='#b3141b'><b>This session has not been signed.</b></font>")
        rows = []
        for e in es:
            d = e.data
            t = epoch(d.get("signed_at")) or e.at
            rows.append(
                [
                    Paragraph(f"<b>{self.st.text(d.get('signer_name', ''))}</b>", self.st.cell),
                    d.get("meaning", ""),
                    fmt_local(t, seconds=True),
                    _dt.datetime.fromtimestamp(t or 0, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    f"{d.get('entries_signed', '?')} entries",
                    Paragraph(self.st.text(seal_fingerprint(d)), self.st.cell),
                ]
            )
        self.story.append(
            _table(
                self.st,
                ["Printed name", "Meaning", "Date-time (local)", "Date-time (UTC)", "Covers", "Seal fingerprint"],
                rows,
                [38 * mm, 17 * mm, 34 * mm, 38 * mm, 19 * mm, BODY_W - 146 * mm],
            )
        )
        status = self.d.session.get("status")
        if status == "amended":
            self.para(
                "<font color='#b3141b'>Amended after the last signature: a new signature is needed.</font>"
            )
        self.para(
            "Electronic signatures: each was given with the signer's user id and password and seals every "
            "entry written before it. The seal fingerprint (signature digest and signing key) lets "
            "chairside verify match this paper copy to the record and its witness.",
            self.st.small,
        )
        self.para(
            f"Integrity: {self.st.text(self.d.integrity_summary)}; head hash "
            f"{self.st.text(str((self.d.record.get('integrity') or {}).get('head_hash', ''))[:24])}...",
            self.st.small,
        )


def build_story(data: SessionData, st: _Styles, rep: ProgressReporter | None = None) -> list[Any]:
    r = _Report(data, st)
    steps = (
        r.header,
        r.dosing,
        r.trend,
        r.checks,
        r.observations,
        r.side_effects,
        r.alarms,
        r.others,
        r.discharge,
        r.rems,
        r.amendments,
        r.signatures,
    )
    for fn in steps:
        fn()
        if rep is not None:
            rep.step(fn.__name__)
    return r.story


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the PDF session report of ``record`` to ``out``."""
    rep = ProgressReporter(progress, 15)
    data = SessionData(record, db)
    rep.step("vitals read")
    st = _Styles()
    story = build_story(data, st, rep)
    p = data.patient
    header = (
        f"Chairside session report - session #{data.session_id} - patient {p.get('code', '')}"
        f"{' (' + str(p['name']) + ')' if p.get('name') else ''} - {data.protocol_title}"
    )
    bands = int(data.demo) + int(not data.integrity_ok)
    with atomic_path(Path(out)) as tmp:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=14 * mm + bands * 8 * mm,
            bottomMargin=16 * mm,
            title=f"Chairside session {data.session_id}" + (" (DEMO)" if data.demo else ""),
            author="Chairside",
            subject=DEMO_TEXT if data.demo else "session report",
        )
        doc.build(story, canvasmaker=_canvas_class(data, st, header))
        rep.step("pages laid out")
    rep.finish("PDF written")
