"""The device profiles editor: list, create, edit, duplicate, delete, assign to a chair, test, auto-detect.

Every write goes through the record service (:meth:`SessionService.save_device_profile` /
:meth:`~SessionService.delete_device_profile`), which checks the user's role and writes the audit trail; the
editing controls are disabled for roles that may not change profiles, but a refusal from the service is shown
in plain words too. Form checking is Qt-free (:mod:`console.technician.profiles`).

Connection tests and auto-detection run in background QThreads (:mod:`console.technician.workers`) and are
stopped when the widget is closed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.message_boxes import confirm_box, confirmed
from console.record.errors import PermissionDenied, RecordError
from console.record.roles import allowed
from console.technician.profiles import (
    COMMON_BAUD_RATES,
    NO_PORT,
    PORT_EXAMPLES,
    FormValues,
    available_ports,
    needs_port,
    profile_history,
    settings_of,
    validate,
)
from console.technician.workers import AutodetectThread, ProbeThread, probe_seconds
from devices import registry
from devices.autodetect import Result
from devices.transport import PortSettings

PARITY_CHOICES = (("N", "None (N)"), ("E", "Even (E)"), ("O", "Odd (O)"), ("M", "Mark (M)"),
                  ("S", "Space (S)"))
STOP_CHOICES = ("1", "1.5", "2")
MESSAGE_STYLES = {
    "ok": "border: 2px solid #33cc66; border-radius: 6px; padding: 6px; font-size: 12pt;",
    "info": "border: 2px solid #7fd4ff; border-radius: 6px; padding: 6px; font-size: 12pt;",
    "warning": "background-color: #f5c400; color: black; border-radius: 6px; padding: 6px; font-size: 12pt;",
    "error": "background-color: #e8202a; color: white; border-radius: 6px; padding: 6px; font-size: 12pt;",
}
INVALID_STYLE = "border: 2px solid #e8202a;"
FIELD_QSS = """
QLineEdit, QComboBox { min-height: 30px; font-size: 12pt; }
QPushButton { min-height: 32px; font-size: 12pt; padding: 2px 10px; }
QCheckBox, QLabel { font-size: 12pt; }
"""


def _protocol_title(name: str) -> str:
    try:
        return registry.get(name).driver.title
    except (KeyError, ImportError):
        return name


def _as_text(profile: Any) -> str:
    if not isinstance(profile, dict):
        return "(none)"
    return json.dumps(profile, sort_keys=True)


class DeviceProfilesWidget(QWidget):
    """List + form + history of device profiles for one logged-in user's ``service``."""

    def __init__(self, service: Any, parent: QWidget | None = None, *,
                 autodetect_seconds: float = 3.0) -> None:
        super().__init__(parent)
        self.service = service
        self.role = getattr(getattr(service, "user", None), "role", "")
        self.can_edit = allowed(self.role, "save_device_profile") if self.role else False
        self.autodetect_seconds = autodetect_seconds
        #: protocols auto-detect tries (None: every one with a port)
        self.autodetect_protocols: list[str] | None = None
        #: asks the user to confirm a deletion; tests replace it
        self.confirm: Callable[[str], bool] = self._confirm_dialog
        self.profiles: list[Any] = []
        self.editing: str | None = None  # name of the stored profile in the form; None = a new one
        self.probe: ProbeThread | None = None
        self.autodetector: AutodetectThread | None = None
        self.autodetect_results: list[Result] = []
        self._loading = False
        self._clean: FormValues | None = None  # the form as last loaded, to notice unsaved changes
        self.setStyleSheet(FIELD_QSS)
        self._build()
        self.reload()
        self._apply_permissions()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.readonly_label = QLabel("")
        self.readonly_label.setObjectName("readonly")
        self.readonly_label.setWordWrap(True)
        root.addWidget(self.readonly_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(split, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Device profiles</b>"))
        self.list = QListWidget()
        self.list.setObjectName("profileList")
        # selection, not the current row: Qt makes the first row current (unselected) when the list gets the
        # focus, which must not replace a new profile being typed
        self.list.itemSelectionChanged.connect(self._on_select)
        left_layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.duplicate_button = QPushButton("Duplicate")
        self.delete_button = QPushButton("Delete")
        for b in (self.new_button, self.duplicate_button, self.delete_button):
            buttons.addWidget(b)
        self.new_button.clicked.connect(self._on_new_clicked)
        self.duplicate_button.clicked.connect(self.duplicate_profile)
        self.delete_button.clicked.connect(self.delete_profile)
        left_layout.addLayout(buttons)
        split.addWidget(left)

        right_inner = QWidget()
        right = QVBoxLayout(right_inner)
        form_box = QGroupBox("Profile")
        form = QFormLayout(form_box)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Chair 2 IntelliVue")
        form.addRow("Name", self.name_edit)
        self.protocol_combo = QComboBox()
        for name in registry.available():
            self.protocol_combo.addItem(_protocol_title(name), name)
        self.protocol_combo.currentIndexChanged.connect(self._on_protocol_changed)
        form.addRow("Protocol", self.protocol_combo)
        self.help_label = QLabel("")
        self.help_label.setObjectName("setupHelp")
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet("font-size: 11pt; border-left: 4px solid #7fd4ff; padding-left: 8px;")
        form.addRow("", self.help_label)
        port_row = QHBoxLayout()
        self.port_combo = QComboBox()
        self.port_combo.setEditable(True)
        self.port_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._placeholder(self.port_combo, PORT_EXAMPLES)
        self.port_combo.setMinimumWidth(260)
        self.refresh_ports_button = QPushButton("Refresh ports")
        self.refresh_ports_button.clicked.connect(self.refresh_ports)
        port_row.addWidget(self.port_combo, 1)
        port_row.addWidget(self.refresh_ports_button)
        form.addRow("Port", port_row)

        line_row = QHBoxLayout()
        self.baud_combo = QComboBox()
        self.baud_combo.setEditable(True)
        self.baud_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for rate in COMMON_BAUD_RATES:
            self.baud_combo.addItem(str(rate))
        self.bytesize_combo = QComboBox()
        for bits in ("8", "7", "6", "5"):
            self.bytesize_combo.addItem(bits)
        self.parity_combo = QComboBox()
        for code, text in PARITY_CHOICES:
            self.parity_combo.addItem(text, code)
        self.stop_combo = QComboBox()
        for stop in STOP_CHOICES:
            self.stop_combo.addItem(stop)
        line_row.addWidget(QLabel("Baud"))
        line_row.addWidget(self.baud_combo, 1)
        line_row.addWidget(QLabel("Data bits"))
        line_row.addWidget(self.bytesize_combo)
        line_row.addWidget(QLabel("Parity"))
        line_row.addWidget(self.parity_combo)
        line_row.addWidget(QLabel("Stop bits"))
        line_row.addWidget(self.stop_combo)
        form.addRow("Line", line_row)
        flow_row = QHBoxLayout()
        self.rtscts_check = QCheckBox("RTS/CTS handshake")
        self.xonxoff_check = QCheckBox("XON/XOFF")
        self.defaults_button = QPushButton("Protocol defaults")
        self.defaults_button.setToolTip("Set the line to the protocol's own settings")
        self.defaults_button.clicked.connect(self.apply_protocol_defaults)
        flow_row.addWidget(self.rtscts_check)
        flow_row.addWidget(self.xonxoff_check)
        flow_row.addStretch(1)
        flow_row.addWidget(self.defaults_button)
        form.addRow("Flow control", flow_row)
        self.chair_combo = QComboBox()
        self.chair_combo.setEditable(True)
        self.chair_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._placeholder(self.chair_combo, "not assigned")
        form.addRow("Chair", self.chair_combo)
        right.addWidget(form_box)

        self.message_label = QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        right.addWidget(self.message_label)

        actions = QHBoxLayout()
        self.save_button = QPushButton("Save profile")
        self.save_button.setObjectName("primary")
        self.save_button.setStyleSheet("QPushButton { background-color: #1f5fc8; color: white; "
                                       "font-weight: bold; } "
                                       "QPushButton:disabled { background-color: #8a9099; color: #e0e0e0; }")
        self.save_button.clicked.connect(self.save)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.autodetect_button = QPushButton("Auto-detect")
        self.autodetect_button.setToolTip("Try every protocol and line setting on this port")
        self.autodetect_button.clicked.connect(self.start_autodetect)
        actions.addWidget(self.save_button)
        actions.addStretch(1)
        actions.addWidget(self.test_button)
        actions.addWidget(self.autodetect_button)
        right.addLayout(actions)

        self.test_label = QLabel("")
        self.test_label.setObjectName("testResult")
        self.test_label.setWordWrap(True)
        self.test_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_label.hide()
        right.addWidget(self.test_label)

        self.autodetect_box = QGroupBox("Auto-detect results (best first)")
        auto_layout = QVBoxLayout(self.autodetect_box)
        self.autodetect_list = QListWidget()
        self.autodetect_list.setObjectName("autodetectResults")
        self.autodetect_list.itemDoubleClicked.connect(lambda _item: self.use_autodetect_result())
        auto_layout.addWidget(self.autodetect_list)
        self.use_result_button = QPushButton("Use the selected result")
        self.use_result_button.clicked.connect(self.use_autodetect_result)
        auto_layout.addWidget(self.use_result_button)
        self.autodetect_box.hide()
        right.addWidget(self.autodetect_box)

        history_box = QGroupBox("History of this profile")
        history_layout = QVBoxLayout(history_box)
        self.history_table = QTableWidget(0, 4)
        self.history_table.setObjectName("history")
        self.history_table.setHorizontalHeaderLabels(["When", "Who", "What", "Changes"])
        self.history_table.verticalHeader().setVisible(False)
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.setWordWrap(True)
        header = self.history_table.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history_table.setMinimumHeight(140)
        history_layout.addWidget(self.history_table)
        right.addWidget(history_box, 1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(right_inner)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([340, 940])

        self.field_widgets: dict[str, QWidget] = {
            "name": self.name_edit, "protocol": self.protocol_combo, "port": self.port_combo,
            "baudrate": self.baud_combo, "bytesize": self.bytesize_combo, "parity": self.parity_combo,
            "stopbits": self.stop_combo, "chair": self.chair_combo,
        }
        self.refresh_ports()
        self._on_protocol_changed()

    @staticmethod
    def _placeholder(combo: QComboBox, text: str) -> None:
        editor = combo.lineEdit()
        assert editor is not None  # an editable combo box always has its line edit
        editor.setPlaceholderText(text)

    def _apply_permissions(self) -> None:
        edit_widgets = [self.new_button, self.duplicate_button, self.delete_button, self.save_button,
                        self.name_edit, self.protocol_combo, self.port_combo, self.baud_combo,
                        self.bytesize_combo, self.parity_combo, self.stop_combo, self.rtscts_check,
                        self.xonxoff_check, self.defaults_button, self.chair_combo, self.use_result_button]
        for w in edit_widgets:
            w.setEnabled(self.can_edit)
        self._update_protocol_help()
        if self.can_edit:
            self.readonly_label.hide()
            self._update_name_editable()
        else:
            self.readonly_label.setText(
                f"Read only: your role ({self.role or 'unknown'}) cannot change device profiles; only "
                "admins or technicians can. You can still test a connection.")
            self.readonly_label.setStyleSheet(MESSAGE_STYLES["info"])
            self.readonly_label.show()

    def _update_name_editable(self) -> None:
        # a stored profile keeps its name (the audit trail follows it); rename = duplicate + delete
        self.name_edit.setReadOnly(self.editing is not None)
        self.name_edit.setToolTip("To rename, duplicate the profile and delete the old one"
                                  if self.editing is not None else "")

    # ------------------------------------------------------------------ list
    def reload(self, select: str | None = None) -> None:
        """Read the profiles from the service and show them; select ``select`` (or keep the current one)."""
        keep = select if select is not None else self.editing
        try:
            self.profiles = self.service.device_profiles()
        except RecordError as exc:
            self.show_message("error", f"Cannot read the device profiles: {exc}")
            self.profiles = []
        self._loading = True
        try:
            self.list.clear()
            for p in self.profiles:
                port = "no port" if p.port == NO_PORT else p.port
                chair = f" · {p.chair}" if p.chair else ""
                item = QListWidgetItem(f"{p.name}\n   {p.protocol} · {port}{chair}")
                item.setData(Qt.ItemDataRole.UserRole, p.name)
                self.list.addItem(item)
            chairs = sorted({p.chair for p in self.profiles if p.chair})
            current_chair = self.chair_combo.currentText()
            self.chair_combo.clear()
            self.chair_combo.addItems(chairs)
            self.chair_combo.setEditText(current_chair)
        finally:
            self._loading = False
        names = [p.name for p in self.profiles]
        if keep in names or names:
            chosen = keep if keep is not None and keep in names else names[0]
            self._loading = True
            self.list.setCurrentRow(names.index(chosen))
            self._loading = False
            self.load_profile(chosen)
        else:
            self.new_profile()

    def profile(self, name: str) -> Any | None:
        """The stored profile called ``name`` (as last read), or None."""
        return next((p for p in self.profiles if p.name == name), None)

    def has_unsaved_changes(self) -> bool:
        """True when the form differs from the profile (or blank form) last loaded into it."""
        return self.can_edit and self._clean is not None and self.form_values() != self._clean

    def _discard_ok(self) -> bool:
        if not self.has_unsaved_changes():
            return True
        what = f"\"{self.editing}\"" if self.editing else "the new profile"
        return self.confirm(f"Discard the unsaved changes to {what}?")

    def _on_select(self) -> None:
        items = self.list.selectedItems()
        if self._loading or not items:
            return
        name = items[0].data(Qt.ItemDataRole.UserRole)
        if name == self.editing:
            return
        if not self._discard_ok():
            # stay on what is being edited
            self._loading = True
            try:
                names = [p.name for p in self.profiles]
                if self.editing in names:
                    self.list.setCurrentRow(names.index(self.editing))
                else:
                    self.list.clearSelection()
                    self.list.setCurrentRow(-1)
            finally:
                self._loading = False
            return
        self.load_profile(name)

    def load_profile(self, name: str) -> None:
        """Show stored profile ``name`` in the form, with its history."""
        p = self.profile(name)
        if p is None:
            return
        self.editing = name
        self._loading = True
        try:
            self.name_edit.setText(p.name)
            idx = self.protocol_combo.findData(p.protocol)
            if idx < 0:  # a protocol this build lacks: show it, so saving does not silently change it
                self.protocol_combo.addItem(p.protocol, p.protocol)
                idx = self.protocol_combo.count() - 1
            self.protocol_combo.setCurrentIndex(idx)
            self.port_combo.setEditText("" if p.port == NO_PORT else p.port)
            self.set_line_settings(settings_of(p.settings, p.protocol))
            self.chair_combo.setEditText(p.chair or "")
        finally:
            self._loading = False
        self._update_protocol_help()
        self._clear_problems()
        self._update_name_editable()
        self.show_history(name)
        self._clean = self.form_values()

    # ------------------------------------------------------------------ form
    def form_values(self) -> FormValues:
        """What the form holds now."""
        return FormValues(
            name=self.name_edit.text(), protocol=self.protocol_combo.currentData() or "",
            port=self._port_text(), baudrate=self.baud_combo.currentText(),
            bytesize=self.bytesize_combo.currentText(), parity=self.parity_combo.currentData() or "N",
            stopbits=self.stop_combo.currentText(), rtscts=self.rtscts_check.isChecked(),
            xonxoff=self.xonxoff_check.isChecked(), chair=self.chair_combo.currentText())

    def _port_text(self) -> str:
        text = self.port_combo.currentText().strip()
        # list entries read "COM3 — USB Serial"; the port is the part before the dash
        return text.split(" — ", 1)[0].strip()

    def set_line_settings(self, s: PortSettings) -> None:
        """Put ``s`` into the line-setting fields."""
        self.baud_combo.setEditText(str(s.baudrate))
        self.bytesize_combo.setCurrentText(str(s.bytesize))
        self.parity_combo.setCurrentIndex(max(0, self.parity_combo.findData(s.parity)))
        self.stop_combo.setCurrentText("1.5" if s.stopbits == 1.5 else str(int(s.stopbits)))
        self.rtscts_check.setChecked(s.rtscts)
        self.xonxoff_check.setChecked(s.xonxoff)

    def apply_protocol_defaults(self) -> None:
        """Set the line settings to the chosen protocol's defaults."""
        protocol = self.protocol_combo.currentData()
        try:
            self.set_line_settings(registry.get(protocol).driver.default_settings)
        except (KeyError, ImportError):
            pass

    def _on_protocol_changed(self, *_: Any) -> None:
        self._update_protocol_help()
        if not self._loading:
            self.apply_protocol_defaults()

    def _update_protocol_help(self) -> None:
        protocol = self.protocol_combo.currentData() or ""
        try:
            driver = registry.get(protocol).driver
            text = driver.setup_help
            if needs_port(protocol):
                text += f"\nDefault line: {driver.default_settings}."
        except (KeyError, ImportError) as exc:
            text = f"This protocol is not available in this installation ({exc})."
        self.help_label.setText(text)
        port_needed = needs_port(protocol)
        for w in (self.port_combo, self.refresh_ports_button, self.baud_combo, self.bytesize_combo,
                  self.parity_combo, self.stop_combo, self.rtscts_check, self.xonxoff_check,
                  self.defaults_button, self.autodetect_button):
            w.setEnabled(port_needed and (self.can_edit or w is self.autodetect_button))

    def refresh_ports(self) -> None:
        """Offer the serial ports the system lists (the typed text is kept)."""
        text = self.port_combo.currentText()
        self.port_combo.clear()
        for device, description in available_ports():
            self.port_combo.addItem(f"{device} — {description}" if description and description != "n/a"
                                    else device, device)
        self.port_combo.setEditText(text)

    def new_profile(self) -> None:
        """Clear the form for a new profile (protocol defaults prefilled)."""
        self.editing = None
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self._loading = True
        try:
            self.name_edit.clear()
            self.port_combo.setEditText("")
            self.chair_combo.setEditText("")
        finally:
            self._loading = False
        self.apply_protocol_defaults()
        self._update_protocol_help()
        self._clear_problems()
        self._update_name_editable()
        self.show_history(None)
        self._clean = self.form_values()

    def _on_new_clicked(self) -> None:
        if self._discard_ok():
            self.new_profile()

    def duplicate_profile(self) -> None:
        """Start a new profile from the one shown, named "<name> copy"."""
        if self.editing is None:
            self.show_message("info", "Select a profile to duplicate.")
            return
        base = self.editing
        names = {p.name for p in self.profiles}
        candidate, n = f"{base} copy", 2
        while candidate in names:
            candidate, n = f"{base} copy {n}", n + 1
        self.editing = None
        self.list.setCurrentRow(-1)
        self.name_edit.setText(candidate)
        self._update_name_editable()
        self.show_history(None)
        self.show_message("info", f"Copy of {base}: change what differs, then Save.")

    # ------------------------------------------------------------------ writes (through the service)
    def save(self) -> bool:
        """Validate and save the form through the service; True when stored."""
        self._clear_problems()
        draft, problems = validate(self.form_values())
        if self.editing is None and draft is not None and self.profile(draft.name) is not None:
            problems = {"name": f"A profile named \"{draft.name}\" already exists: select it to change it, "
                                "or choose another name."}
            draft = None
        if draft is None:
            self._show_problems(problems)
            return False
        try:
            self.service.save_device_profile(**draft.save_args())
        except PermissionDenied as exc:
            self.show_message("error", f"Not saved: {exc}")
            return False
        except RecordError as exc:
            self.show_message("error", f"Not saved: {exc}")
            return False
        self.editing = draft.name
        self.reload(select=draft.name)
        self.show_message("ok", f"Saved profile \"{draft.name}\".")
        return True

    def delete_profile(self) -> bool:
        """Delete the profile shown (after confirmation) through the service; True when deleted."""
        name = self.editing
        if name is None:
            self.show_message("info", "Select a profile to delete.")
            return False
        if not self.confirm(f"Delete the device profile \"{name}\"? The change is kept in the audit trail."):
            return False
        try:
            self.service.delete_device_profile(name)
        except RecordError as exc:
            self.show_message("error", f"Not deleted: {exc}")
            return False
        self.editing = None
        self.reload()
        self.show_message("ok", f"Deleted profile \"{name}\".")
        return True

    def _confirm_dialog(self, text: str) -> bool:
        return confirmed(confirm_box("Delete device profile", text, self))

    # ------------------------------------------------------------------ messages
    def show_message(self, level: str, text: str) -> None:
        """One message under the form (``ok``, ``info``, ``warning``, ``error``)."""
        self.message_label.setText(text)
        self.message_label.setStyleSheet(MESSAGE_STYLES.get(level, ""))
        self.message_label.setProperty("level", level)
        self.message_label.show()

    def _show_problems(self, problems: dict[str, str]) -> None:
        for key, widget in self.field_widgets.items():
            widget.setStyleSheet(INVALID_STYLE if key in problems else "")
            widget.setToolTip(problems.get(key, ""))
        listed = "\n".join(f"• {m}" for m in problems.values())
        self.show_message("error", "Not saved. Please correct:\n" + listed)

    def _clear_problems(self) -> None:
        for widget in self.field_widgets.values():
            widget.setStyleSheet("")
        self.message_label.hide()

    def show_history(self, name: str | None) -> None:
        """The audit rows of profile ``name`` (who, when, what changed), newest first."""
        table = self.history_table
        table.setRowCount(0)
        if name is None:
            return
        try:
            rows = profile_history(self.service.audit_trail(), name)
        except RecordError as exc:
            rows = []
            self.show_message("warning", f"Cannot read the history: {exc}")
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            when = row.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            full = f"Before: {_as_text(row.before)}\nAfter: {_as_text(row.after)}"
            for c, text in enumerate((when, row.who, row.action, row.changes)):
                item = QTableWidgetItem(text)
                item.setToolTip(full if c == 3 else text)  # the whole profile before and after
                table.setItem(r, c, item)
        table.resizeRowsToContents()

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> bool:
        """Run a short connection test with what the form holds (saved or not), in the background."""
        if self._busy():
            return False
        values = self.form_values()
        if not values.name.strip():
            values.name = "connection test"
        draft, problems = validate(values)
        if draft is None:
            self._show_problems(problems)
            return False
        self._clear_problems()
        url = draft.port if needs_port(draft.protocol) else None
        seconds = probe_seconds(draft.protocol)
        self.probe = ProbeThread(draft.protocol, url, draft.settings, seconds, name=draft.name, parent=self)
        self.probe.finished_report.connect(self._on_probe_report)
        self.test_button.setEnabled(False)
        self.autodetect_button.setEnabled(False)  # one program at a time on a port
        self.test_button.setText("Testing ...")
        what = f"{url} at {draft.settings}" if url else "the simulator"
        self._show_test("info", f"Testing {what} for up to {seconds:g} s ...")
        self.probe.start()
        return True

    def _on_probe_report(self, level: str, text: str) -> None:
        self.test_button.setEnabled(True)
        self.test_button.setText("Test connection")
        self._update_protocol_help()  # re-enables auto-detect where it applies
        self._show_test(level, text)

    def _show_test(self, level: str, text: str) -> None:
        self.test_label.setText(html.escape(text).replace("\n", "<br>"))
        self.test_label.setStyleSheet(MESSAGE_STYLES.get(level, ""))
        self.test_label.setProperty("level", level)
        self.test_label.show()

    # ------------------------------------------------------------------ auto-detect
    def start_autodetect(self) -> bool:
        """Try every protocol and line setting on the port in the form, in the background."""
        if self._busy():
            return False
        url = self._port_text()
        from console.technician.profiles import check_port

        problem = check_port(url)
        if problem:
            self._show_problems({"port": problem})
            return False
        self.autodetect_results = []
        self.autodetect_list.clear()
        self.autodetect_box.show()
        self.autodetect_box.setTitle(f"Auto-detect on {url}: trying ...")
        self.autodetector = AutodetectThread(url, self.autodetect_protocols,
                                             seconds_per_try=self.autodetect_seconds, parent=self)
        self.autodetector.result_ready.connect(self._on_autodetect_result)
        self.autodetector.done.connect(self._on_autodetect_done)
        self._clear_problems()
        self.autodetect_button.setEnabled(False)
        self.test_button.setEnabled(False)  # one program at a time on a port
        self.autodetect_button.setText("Detecting ...")
        self.autodetector.start()
        return True

    def _busy(self) -> bool:
        """True while a test or auto-detect holds the port (the other one would fight it for the port)."""
        return any(w is not None and w.isRunning() for w in (self.probe, self.autodetector))

    def _on_autodetect_result(self, result: Result) -> None:
        self.autodetect_list.addItem(result.describe())

    def _on_autodetect_done(self, results: list[Result]) -> None:
        self.autodetect_results = list(results)
        self.autodetect_list.clear()
        for r in results:
            item = QListWidgetItem(("✔ " if r.answered else "✘ ") + r.describe())
            self.autodetect_list.addItem(item)
        answered = [r for r in results if r.answered]
        if answered:
            self.autodetect_list.setCurrentRow(0)
            best = answered[0]
            self.autodetect_box.setTitle(f"Auto-detect: best match {best.title} at {best.settings}")
        else:
            self.autodetect_box.setTitle("Auto-detect: no monitor answered (see each try below)")
        self.autodetect_button.setEnabled(True)
        self.test_button.setEnabled(True)
        self.autodetect_button.setText("Auto-detect")

    def use_autodetect_result(self) -> None:
        """Put the selected auto-detect result's protocol and line settings into the form."""
        row = self.autodetect_list.currentRow()
        if not self.can_edit or row < 0 or row >= len(self.autodetect_results):
            return
        result = self.autodetect_results[row]
        self._loading = True
        try:
            self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(result.protocol)))
        finally:
            self._loading = False
        self._update_protocol_help()
        self.set_line_settings(result.settings)
        self.show_message("info", f"Using {result.title} at {result.settings}: Save to keep it.")

    # ------------------------------------------------------------------ life cycle
    def shutdown(self) -> None:
        """Stop any running test or auto-detect (waits for them to release the port)."""
        for worker in (self.probe, self.autodetector):
            if worker is not None:
                worker.stop()
        # deliver their last signals now, while the widget is still whole
        for worker in (self.probe, self.autodetector):
            if worker is not None:
                worker.wait()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)
