"""The text index behind Chinese full-text search, the same on SQLite and PostgreSQL.

Unsegmented Chinese has no spaces, and trigram indexes (FTS5 ``trigram``, ``pg_trgm``) match nothing for the
two-character words users type most (玉米, 大豆). So text is cut here into character bigrams, plus every single
character (one-character queries such as 稻 are then exact token matches — a prefix match would make PostgreSQL
scan every row), and latin words and numbers lower-cased whole. The engines index the token strings: FTS5
(``unicode61``, rank by bm25) on SQLite, a ``tsvector`` with a GIN index (rank by ts_rank) on PostgreSQL; both
created in the migration.
"""

from __future__ import annotations

import re

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[0-9a-zA-Z]+(?:[.\-][0-9a-zA-Z]+)*")
_IS_CJK = re.compile(rf"[{_CJK}]")


class ResultText(Base):
    __tablename__ = "result_text"

    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    result_id: Mapped[str] = mapped_column(
        ForeignKey("result.id", ondelete="CASCADE"), unique=True
    )
    name_tokens: Mapped[str] = mapped_column(Text, default="")
    body_tokens: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str] = mapped_column(String(8), default="zh")


def tokens(text: str) -> list[str]:
    """Index tokens of ``text``: CJK bigrams and single characters, latin words lower-cased.

    >>> tokens("高产玉米 ZD958")
    ['高产', '产玉', '玉米', '高', '产', '玉', '米', 'zd958']
    """
    out: list[str] = []
    for run in _RUNS.findall(text or ""):
        if _IS_CJK.match(run):
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            out.extend(run)
        else:
            out.append(run.lower())
    return out


def query_terms(query: str) -> list[tuple[list[str], bool]]:
    """The query as groups to match: (tokens in order, is_prefix). All groups must match.

    A CJK run of 2+ chars is the AND of its bigrams; one char is a token; latin words are prefixes.

    >>> query_terms("玉米 稻")
    [(['玉米'], False), (['稻'], False)]
    >>> query_terms("耐密高产")
    [(['耐密', '密高', '高产'], False)]
    """
    groups: list[tuple[list[str], bool]] = []
    for run in _RUNS.findall(query or ""):
        if _IS_CJK.match(run):
            if len(run) == 1:
                groups.append(([run], False))
            else:
                groups.append(([run[i : i + 2] for i in range(len(run) - 1)], False))
        else:
            groups.append(([run.lower()], True))
    return groups
