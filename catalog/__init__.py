"""The central domain of yuanxian: models and rules, free of Flask.

Functions here take a SQLAlchemy ``Session`` and may ``flush()``; the caller (a web request,
a command, the field kit) owns the transaction and commits.
"""
