"""Look of the session panel: large targets readable at a glance, on the console's dark palette."""

from __future__ import annotations

DEMO_COLOUR = "#ff9f1a"
RED = "#e8202a"
AMBER = "#f5c400"
GREEN = "#33cc66"
BLUE = "#1f6feb"

PANEL_QSS = f"""
QPushButton {{ min-height: 36px; font-size: 12pt; padding: 4px 10px; }}
QPushButton#quickAction {{ min-height: 56px; font-size: 14pt; font-weight: bold; }}
QPushButton#primary {{ min-height: 48px; font-size: 14pt; font-weight: bold; background-color: {BLUE};
                      color: white; }}
QPushButton:disabled, QPushButton#primary:disabled, QPushButton#quickAction:disabled {{
    color: #6b7178; background-color: #15191e; }}
QLabel#sessionTitle {{ font-size: 15pt; font-weight: bold; }}
QLabel#demoBadge {{ background-color: {DEMO_COLOUR}; color: black; font-weight: bold; font-size: 14pt;
                   padding: 2px 10px; border-radius: 4px; }}
QLabel#reason {{ color: {AMBER}; font-size: 12pt; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QDateTimeEdit, QDateEdit {{ min-height: 32px; font-size: 12pt; }}
QCheckBox {{ font-size: 12pt; min-height: 28px; }}
QCheckBox::indicator {{ width: 18px; height: 18px; border: 2px solid #9aa3ad; border-radius: 3px;
                       background-color: #0b0f14; }}
QCheckBox::indicator:checked {{ background-color: {BLUE}; border-color: #e8e8e8; }}
"""

MESSAGE_STYLES = {
    "error": f"background-color: {RED}; color: white; font-weight: bold; font-size: 13pt; padding: 8px; "
             "border-radius: 6px;",
    "urgent": f"background-color: {RED}; color: white; font-weight: bold; font-size: 15pt; padding: 10px; "
              "border-radius: 6px;",
    "warning": f"background-color: {AMBER}; color: black; font-weight: bold; font-size: 13pt; padding: 8px; "
               "border-radius: 6px;",
    "info": f"border: 1px solid {GREEN}; font-size: 12pt; padding: 6px; border-radius: 6px;",
}
