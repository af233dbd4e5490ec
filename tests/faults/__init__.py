"""Fault injection: killed processes, vanished ports, corrupt streams, unavailable storage, tampering."""
