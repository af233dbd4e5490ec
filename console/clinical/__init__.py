"""Clinical content and logic of a ketamine/esketamine session, with no Qt.

* :mod:`.scales`: rating scales and questionnaires (MOAA/S, RASS, CADSS-6, PHQ-9, GAD-7, ...), scoring, flags;
* :mod:`.protocols`: protocol templates, dose calculation, hold and alarm limits, site overrides;
* :mod:`.schedule`: what is due next, what is overdue, esketamine device spacing;
* :mod:`.entries`: the ``data`` payload of every record entry kind, built from what a form collected;
* :mod:`.entry_model`: the entry kinds and the typed payload model the record service enforces;
* :mod:`.amendments`: the one function that reads a session through its corrections (every reader uses it);
* :mod:`.discharge`: the discharge checklist; :mod:`.rems`: the esketamine REMS monitoring form;
* :mod:`.side_effects`: the side-effect catalogue; :mod:`.vitals`: vitals snapshots from the live monitor.
"""

from console.clinical._common import ClinicalDataError
from console.clinical.protocols import ALARM_LIMIT_KEYS, DosePlan, Protocol, ProtocolLibrary, load_protocol_file
from console.clinical.scales import Scale, ScaleLibrary, ScaleResult, ScoreError, load_scale_file

__all__ = [
    "ALARM_LIMIT_KEYS", "ClinicalDataError", "DosePlan", "Protocol", "ProtocolLibrary", "Scale", "ScaleLibrary",
    "ScaleResult", "ScoreError", "load_protocol_file", "load_scale_file",
]
