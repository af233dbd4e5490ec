"""Alembic migrations of the record schema, run programmatically by :mod:`console.record.schema`.

No ``alembic.ini`` is needed at run time. To write a new revision during development::

    python -m console.record.schema revision -m "what changes"

then edit the generated file under ``versions/`` (keep the ``NNNN_`` numbering) and add a test.
"""
