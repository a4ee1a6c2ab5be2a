"""The learned half of classification suggestions: character n-grams and linear classifiers, one per dimension.

Chinese result texts come unsegmented, so the features are character 1–3-grams within whitespace-separated runs
(scikit-learn's ``char_wb`` analyzer), tf-idf weighted (sublinear tf, smooth idf, l2-normalised rows). Each
dimension has its own classifier on those features:

- ``tech_field``: one multinomial logistic regression over the *primary* field (the first code of a result, the
  mapped primary field of a project title), so the best suggestion is the primary field and the confidences are
  the probabilities of each code being it;
- the other dimensions carry several codes each: one binary logistic regression per code (one-vs-rest), the
  confidence being the probability that the result carries the code.

A trained model serialises to plain arrays (``numpy.savez_compressed``: vocabulary, idf, weights; loaded with
``allow_pickle=False``), so loading a stored model never runs code, whatever the database holds.
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

FORMAT = 1
DIMENSIONS = ("tech_field", "industry_type", "scenario", "crop", "land_scenario")
SINGLE_CODE = frozenset({"tech_field"})  # trained on the primary code only
NGRAMS = (1, 3)
_NOISE = re.compile(r"[^\w]|[\d_]+")  # punctuation, digits: no evidence of a field, only n-gram noise


@dataclass(frozen=True)
class Params:
    min_df: int = 2
    max_features: int = 40000
    c_single: float = 10.0  # inverse regularisation of the primary-field classifier
    alpha_multi: float = 1e-4  # regularisation of each one-vs-rest classifier
    min_positives: int = 2  # a code seen fewer times is not learned (rules may still suggest it)


@dataclass(frozen=True)
class Example:
    """One labelled text. ``labels`` holds the dimensions known for it (a project title knows only its
    technology field): a dimension missing here is unknown, an empty list means "none of these codes"."""

    text: str
    labels: Mapping[str, Sequence[str]]
    group: str  # results built from one project title share a group; folds never split a group
    weight: float = 1.0
    kind: str = "result"  # result, decision, title


@dataclass(frozen=True)
class Scored:
    code: str
    confidence: float
    words: tuple[str, ...]


@dataclass
class _Head:
    kind: str  # "softmax" or "ovr"
    classes: list[str]
    coef: np.ndarray  # (classes, features) float32
    intercept: np.ndarray  # (classes,) float32


@dataclass
class CharNgramModel:
    vocabulary: list[str]
    idf: np.ndarray
    heads: dict[str, _Head]
    params: Params = field(default_factory=Params)
    _vectorizer: CountVectorizer | None = field(default=None, repr=False)

    # -- features ----------------------------------------------------------------------------------------------

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self._vectorizer is None:
            self._vectorizer = _counter(vocabulary={g: i for i, g in enumerate(self.vocabulary)})
        counts = self._vectorizer.transform([normalise(t) for t in texts])
        return _tfidf(counts, self.idf)

    # -- prediction --------------------------------------------------------------------------------------------

    def predict(self, texts: Sequence[str], limit: int = 10, words: int = 4) -> list[dict[str, list[Scored]]]:
        """For each text, per dimension, the ``limit`` most likely codes with their confidence (0–1) and the
        character n-grams of the text that weigh most for each."""
        x = self.features(texts)
        plain = [normalise(t) for t in texts]
        out: list[dict[str, list[Scored]]] = [{} for _ in texts]
        for dim, head in self.heads.items():
            scores = np.asarray(x @ head.coef.T) + head.intercept
            probs = _softmax(scores) if head.kind == "softmax" else _sigmoid(scores)
            # An n-gram counts for a code by how much more it weighs there than on average over the codes.
            distinct = head.coef - head.coef.mean(axis=0) if head.kind == "softmax" else head.coef
            for i in range(len(texts)):
                order = np.argsort(-probs[i])[:limit]
                row = x.getrow(i)
                out[i][dim] = [Scored(head.classes[k], float(probs[i, k]),
                                      self._words(plain[i], row, distinct[k], words)) for k in order]
        return out

    def _words(self, text: str, row: sp.csr_matrix, weights: np.ndarray, n: int) -> tuple[str, ...]:
        """The text's stretches covered by the n-grams that weigh most for a code: overlapping n-grams
        (粪污资, 污资源, 资源化) read back as the words they came from (粪污资源化)."""
        contrib = row.data * weights[row.indices]
        grams = [self.vocabulary[row.indices[j]].strip() for j in np.argsort(-contrib)[: 3 * n] if contrib[j] > 0]
        spans: list[tuple[int, int, int]] = []  # start, end, rank of its best n-gram
        for rank, gram in enumerate(g for g in grams if len(g) >= 2):
            at = text.find(gram)
            while at >= 0:
                spans.append((at, at + len(gram), rank))
                at = text.find(gram, at + 1)
        merged: list[list[int]] = []
        for start, end, rank in sorted(spans):
            if merged and start < merged[-1][1]:  # overlapping, not merely adjacent: one word
                merged[-1][1] = max(merged[-1][1], end)
                merged[-1][2] = min(merged[-1][2], rank)
            else:
                merged.append([start, end, rank])
        words = dict.fromkeys(text[a:b] for a, b, _r in sorted(merged, key=lambda m: m[2]))
        return tuple(list(words)[:n])

    # -- storage -----------------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "ngrams": list(NGRAMS), "params": self.params.__dict__,
                "vocabulary": self.vocabulary,
                "heads": {d: {"kind": h.kind, "classes": h.classes} for d, h in self.heads.items()}}
        arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(),
                                                               dtype=np.uint8),
                                         "idf": self.idf.astype(np.float32)}
        for dim, head in self.heads.items():
            arrays[f"{dim}.coef"] = head.coef.astype(np.float32)
            arrays[f"{dim}.intercept"] = head.intercept.astype(np.float32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> CharNgramModel:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") != FORMAT or tuple(meta.get("ngrams", ())) != NGRAMS:
                raise ValueError(f"unknown model format {meta.get('format')}")
            heads = {d: _Head(h["kind"], list(h["classes"]), z[f"{d}.coef"], z[f"{d}.intercept"])
                     for d, h in meta["heads"].items()}
            return cls(list(meta["vocabulary"]), z["idf"], heads, Params(**meta["params"]))


# -- training ------------------------------------------------------------------------------------------------


def train(examples: Sequence[Example], params: Params | None = None) -> CharNgramModel:
    """Fit the vocabulary on every example's text and one classifier per dimension on the examples that know it."""
    # One BLAS thread: these problems are small, and more threads only spin against the app's other work
    # (ten times slower on a busy two-core machine).
    with threadpool_limits(limits=1):
        return _train(examples, params or Params())


def _train(examples: Sequence[Example], params: Params) -> CharNgramModel:
    if not examples:
        raise ValueError("no labelled examples to train on")
    counter = _counter(min_df=min(params.min_df, len(examples)), max_features=params.max_features)
    counts = counter.fit_transform([normalise(e.text) for e in examples])
    vocabulary = [""] * len(counter.vocabulary_)
    for gram, i in counter.vocabulary_.items():
        vocabulary[i] = gram
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float64)
    x = _tfidf(counts, idf)
    heads: dict[str, _Head] = {}
    for dim in DIMENSIONS:
        rows = [i for i, e in enumerate(examples) if dim in e.labels]
        head = (_fit_single(x, examples, rows, dim, params) if dim in SINGLE_CODE
                else _fit_multi(x, examples, rows, dim, params))
        if head is not None:
            heads[dim] = head
    return CharNgramModel(vocabulary, idf.astype(np.float32), heads, params,
                          _counter(vocabulary=dict(counter.vocabulary_)))


def _fit_single(x: sp.csr_matrix, examples: Sequence[Example], rows: list[int], dim: str,
                params: Params) -> _Head | None:
    rows = [i for i in rows if examples[i].labels[dim]]
    if not rows:
        return None
    y = np.array([examples[i].labels[dim][0] for i in rows])
    w = np.array([examples[i].weight for i in rows])
    classes = sorted(set(y))
    features = x.shape[1]
    if len(classes) == 1:  # nothing to tell apart: the one code, always
        return _Head("softmax", classes, np.zeros((1, features), np.float32), np.zeros(1, np.float32))
    lr = LogisticRegression(C=params.c_single, max_iter=3000)
    lr.fit(x[rows], y, sample_weight=w)
    coef, intercept = lr.coef_, lr.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes: logits (0, w·x + b) give the same softmax
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    return _Head("softmax", [str(c) for c in lr.classes_], coef.astype(np.float32), intercept.astype(np.float32))


def _fit_multi(x: sp.csr_matrix, examples: Sequence[Example], rows: list[int], dim: str,
               params: Params) -> _Head | None:
    if not rows:
        return None
    sub = x[rows]
    w = np.array([examples[i].weight for i in rows])
    label_sets = [set(examples[i].labels[dim]) for i in rows]
    codes = sorted({c for s in label_sets for c in s})
    classes, coefs, intercepts = [], [], []
    for code in codes:
        y = np.array([code in s for s in label_sets])
        positives = int(y.sum())
        if positives < params.min_positives:
            continue
        if positives == len(y):  # every example carries it: a constant, not a classifier
            coefs.append(np.zeros(x.shape[1]))
            intercepts.append(6.0)
        else:
            # Stochastic gradient descent on the same logistic loss: a hundred codes per dimension train in
            # seconds, where an exact solver per code takes minutes.
            sgd = SGDClassifier(loss="log_loss", alpha=params.alpha_multi, max_iter=1000, tol=1e-3, random_state=0)
            sgd.fit(sub, y, sample_weight=w)
            coefs.append(sgd.coef_[0])
            intercepts.append(float(sgd.intercept_[0]))
        classes.append(code)
    if not classes:
        return None
    return _Head("ovr", classes, np.vstack(coefs).astype(np.float32), np.array(intercepts, np.float32))


# -- helpers -------------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and digits to spaces."""
    return " ".join(_NOISE.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())


def _counter(**kwargs: Any) -> CountVectorizer:
    return CountVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=False, dtype=np.float64, **kwargs)


def _tfidf(counts: sp.spmatrix, idf: np.ndarray) -> sp.csr_matrix:
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    x.data = 1.0 + np.log(x.data)  # sublinear tf: a repeated word is evidence, not proportionally more
    x = x.multiply(idf.astype(np.float64)).tocsr()
    return normalize(x, norm="l2", copy=False)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def clamp(value: float) -> float:
    """A confidence in [0, 1] (floating-point sums may stray by an ulp)."""
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))
