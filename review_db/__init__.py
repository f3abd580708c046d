"""The review database: typed models, engine set-up, service functions, import and export.

Contract: service functions are keyword-only, take a SQLAlchemy ``Session`` and never commit; the
caller owns the transaction (``with session_scope(...) as s:``). Every change made through a
session writes audit rows automatically (see :mod:`review_db.audit`). No gradio here.
"""
