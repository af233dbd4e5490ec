"""Look of the session panel: large targets readable at a glance, on the console's dark palette."""

from __future__ import annotations

from widgets.tap_row import TOUCH_MIN

DEMO_COLOUR = "#ff9f1a"
RED = "#e8202a"
AMBER = "#f5c400"
GREEN = "#33cc66"
BLUE = "#1f6feb"

PANEL_QSS = f"""
QPushButton {{ min-height: {TOUCH_MIN}px; min-width: {TOUCH_MIN}px; font-size: 12pt; padding: 4px 10px; }}
QPushButton#quickAction {{ min-height: 52px; font-size: 14pt; font-weight: bold; }}
QPushButton#primary {{ min-height: 48px; font-size: 14pt; font-weight: bold; background-color: {BLUE};
                      color: white; }}
QPushButton:disabled, QPushButton#primary:disabled, QPushButton#quickAction:disabled {{
    color: #6b7178; background-color: #15191e; }}
QLabel#sessionTitle {{ font-size: 15pt; font-weight: bold; }}
QLabel#stepIndicator {{ font-size: 13pt; font-weight: bold; color: #9aa3ad; }}
QLabel#demoBadge {{ background-color: {DEMO_COLOUR}; color: black; font-weight: bold; font-size: 14pt;
                   padding: 2px 10px; border-radius: 4px; }}
QLabel#reason {{ color: {AMBER}; font-size: 12pt; }}
QLabel#tapRowDetail {{ font-size: 12pt; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QDateTimeEdit, QDateEdit {{ min-height: {TOUCH_MIN}px;
    font-size: 12pt; }}
QLineEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled, QDateEdit:disabled {{
    color: #8a929b; }}
QCheckBox, QRadioButton {{ font-size: 12pt; min-height: {TOUCH_MIN}px; spacing: 10px; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 26px; height: 26px; border: 2px solid #9aa3ad;
                       background-color: #0b0f14; }}
QCheckBox::indicator {{ border-radius: 4px; }}
QRadioButton::indicator {{ border-radius: 15px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{ background-color: {BLUE};
                       border-color: #e8e8e8; }}
QFrame#tapRow {{ border-bottom: 1px solid #262c33; }}
QTabBar::tab {{ min-height: {TOUCH_MIN}px; min-width: 96px; font-size: 13pt; font-weight: bold;
               padding: 0px 16px; }}
QTabBar::tab:selected {{ background-color: #1c2530; border-bottom: 3px solid {BLUE}; }}
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
