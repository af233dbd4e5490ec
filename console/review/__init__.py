"""Read-only review of recorded sessions: browser, patient course, review window (timeline, log, audit trail,
verify, export).

Qt-free layer (unit-tested without Qt): :mod:`.browser_model` (sessions with flags, filters, sorting),
:mod:`.course` (per-session course values), :mod:`.timeline` (markers and entry texts, amendments applied),
:mod:`.log_model` (log rows, amendments beside originals), :mod:`.trends` (numerics as numpy arrays, lazy wave
windows), :mod:`.sample` (simulated sessions with known entries for tests).

Qt views: :class:`.browser.SessionBrowser`, :class:`.course_view.PatientCourseView`,
:class:`.review_window.ReviewWindow`; :func:`open_review` wires them together for one user.
"""

from __future__ import annotations

from typing import Any


def open_review(db: Any, user: Any) -> Any:
    """Show the session browser for ``user``; opening a row or a course shows those windows (kept alive on
    the browser). Returns the browser."""
    from console.review.browser import SessionBrowser
    from console.review.course_view import PatientCourseView
    from console.review.review_window import ReviewWindow

    browser = SessionBrowser(db, user)
    browser._children = []  # type: ignore[attr-defined]

    from console.record.errors import RecordError

    def open_session(sid: int) -> None:
        try:
            w = ReviewWindow(db, user, sid)
        except RecordError as err:  # gone, or the database is unreachable: say so, keep the browser
            browser.show_message(f"Session {sid} cannot be opened: {err}")
            return
        w.resize(1500, 950)
        browser._children.append(w)  # type: ignore[attr-defined]
        w.show()

    def open_course(pid: int) -> None:
        try:
            v = PatientCourseView(db, user, pid)
        except RecordError as err:
            browser.show_message(f"The course of patient {pid} cannot be shown: {err}")
            return
        v.openSession.connect(open_session)
        v.resize(1200, 700)
        browser._children.append(v)  # type: ignore[attr-defined]
        v.show()

    browser.openSession.connect(open_session)
    browser.openCourse.connect(open_course)
    browser.resize(1400, 800)
    browser.show()
    return browser
