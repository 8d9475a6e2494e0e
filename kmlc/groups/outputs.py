"""The network's outputs per group: probabilities (softmax inside a multiclass group,
sigmoid elsewhere), decisions (argmax, or a threshold policy per multi-label group) and
what an exporter needs of each group (`GroupOutput`, `output_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kmlc.errors import KmlcModelError
from kmlc.labels import sigmoid
from kmlc.thresholds import ThresholdPolicy, tune_thresholds


@dataclass
class GroupOutput:
    """What one group is in the network's output: what an exporter needs.

    `start:stop` are the group's logit columns; `labels` its vocabulary in column order;
    `thresholds` (multi-label) one per label, None for a multiclass group (argmax).
    """

    name: str
    kind: str
    start: int
    stop: int
    labels: list
    weight: float = 1.0
    thresholds: list | None = None
    strategy: str | None = None
    top_k: int | None = None
    at_least_one: bool = False

    def to_dict(self):
        return dict(self.__dict__)


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def flat_probabilities(logits, schema, slices):
    """Network logits [N, C] -> probabilities [N, C]: softmax inside each multiclass group,
    sigmoid elsewhere."""
    logits = np.asarray(logits, dtype=np.float32)
    out = np.empty_like(logits)
    for group in schema:
        a, b = slices[group.name]
        out[:, a:b] = _softmax(logits[:, a:b]) if group.kind == "multiclass" else sigmoid(logits[:, a:b])
    return out


class GroupedThresholds:
    """Argmax inside each multiclass group, a `ThresholdPolicy` inside each multi-label group.

    Behaves like a ThresholdPolicy over the whole output (`apply`, `thresholds`, `strategy`,
    `to_dict`): `thresholds` holds NaN for multiclass columns.
    """

    def __init__(self, schema, slices, policies):
        self.schema, self.slices, self.policies = schema, dict(slices), dict(policies)

    @classmethod
    def tune(cls, schema, slices, y, scores, **settings):
        policies = {}
        for group in schema:
            if group.kind == "multilabel":
                a, b = slices[group.name]
                policies[group.name] = tune_thresholds(y[:, a:b], scores[:, a:b], **settings)
        return cls(schema, slices, policies)

    @property
    def strategy(self):
        strategies = sorted({p.strategy for p in self.policies.values()})
        return "/".join(strategies + (["argmax"] if len(self.policies) < len(self.schema) else []))

    @property
    def thresholds(self):
        n = max(b for _, b in self.slices.values())
        out = np.full(n, np.nan)
        for name, policy in self.policies.items():
            a, b = self.slices[name]
            out[a:b] = np.nan if policy.strategy == "top-k" else policy.thresholds
        return out

    @property
    def n_labels(self):
        return max(b for _, b in self.slices.values())

    # ThresholdPolicy's informational attributes, for code written for one policy (export
    # metadata): the multi-label groups' common values.
    @property
    def top_k(self):
        values = {p.top_k for p in self.policies.values()}
        return values.pop() if len(values) == 1 else None

    @property
    def at_least_one(self):
        return any(p.at_least_one for p in self.policies.values())

    @property
    def metric(self):
        values = {p.metric for p in self.policies.values()}
        return values.pop() if len(values) == 1 else "micro_f1"

    def apply(self, scores):
        scores = np.asarray(scores)
        pred = np.zeros(scores.shape, dtype=bool)
        for group in self.schema:
            a, b = self.slices[group.name]
            if group.kind == "multiclass":
                if len(scores):
                    pred[np.arange(len(scores)), a + np.argmax(scores[:, a:b], axis=1)] = True
            else:
                pred[:, a:b] = self.policies[group.name].apply(scores[:, a:b])
        return pred

    __call__ = apply

    def to_dict(self):
        groups = {}
        for group in self.schema:
            a, b = self.slices[group.name]
            if group.kind == "multiclass":
                groups[group.name] = {"kind": "multiclass", "decision": "argmax", "n_labels": b - a}
            else:
                groups[group.name] = {"kind": "multilabel", **self.policies[group.name].to_dict()}
        return {"label_groups": groups}

    @classmethod
    def from_dict(cls, d, schema, slices):
        groups = d.get("label_groups") if isinstance(d, dict) else None
        if not isinstance(groups, dict) or set(groups) != set(schema.names):
            raise KmlcModelError(
                f"Expected thresholds for the label groups {schema.names}, Received: "
                f"{sorted(groups) if isinstance(groups, dict) else d!r:.80}."
            )
        policies = {}
        for group in schema:
            entry = dict(groups[group.name])
            if entry.pop("kind", None) != group.kind:
                raise KmlcModelError(f"Expected group '{group.name}' of kind {group.kind} in thresholds.json.")
            if group.kind == "multilabel":
                a, b = slices[group.name]
                try:
                    policies[group.name] = ThresholdPolicy.from_dict(entry, n_labels=b - a)
                except (KeyError, TypeError, ValueError) as e:
                    raise KmlcModelError(f"Expected valid thresholds for group '{group.name}', Received: {e}") from None
        return cls(schema, slices, policies)


def output_groups(clf):
    """The groups of a fitted grouped classifier as `GroupOutput`s, in output-column order:
    name, kind, logit slice, vocabulary, weight and (multi-label) thresholds and policy."""
    clf._check_fitted()
    schema, encoder = clf.label_schema_, clf.label_encoder_
    weights = getattr(clf, "group_weights_", None) or {}
    out = []
    for group in schema:
        a, b = encoder.slices_[group.name]
        policy = clf.thresholds_.policies.get(group.name)
        out.append(GroupOutput(
            name=group.name, kind=group.kind, start=a, stop=b,
            labels=list(encoder.encoders_[group.name].vocabulary_),
            weight=float(weights.get(group.name, 1.0)),
            thresholds=None if policy is None else [float(t) for t in policy.thresholds],
            strategy="argmax" if policy is None else policy.strategy,
            top_k=None if policy is None else policy.top_k,
            at_least_one=False if policy is None else policy.at_least_one,
        ))
    return out
