from __future__ import annotations

from marshmallow import Schema, fields


class PullArgsSchema(Schema):
    cursor = fields.String(load_default="", metadata={"description": "opaque; empty: from the start"})
    limit = fields.Integer(load_default=None, allow_none=True)
