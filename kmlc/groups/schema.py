"""The label schema: the groups of a model, their names, kinds and loss weights.

`LabelSchema` holds the groups in the order of the network's output columns;
`parse_group_spec` and `parse_group_weights` read them from the forms a user writes (the
command line's "name:kind:weight", a list of weights or "auto").
"""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from dataclasses import dataclass

from kmlc.errors import KmlcInputError
from kmlc.labels import KINDS

AUTO = "auto"
#: Group names become file names and export output names: letters, digits and underscores.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RESERVED_NAMES = ("text", "scores", "confidence")


@dataclass(frozen=True)
class LabelGroup:
    """One label group: its name (the label column), kind and loss weight (None: 1 or auto)."""

    name: str
    kind: str = "multilabel"
    weight: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name) or self.name in RESERVED_NAMES:
            raise KmlcInputError(
                "Expected a label group name of letters, digits and underscores that starts with "
                f"a letter (not {list(RESERVED_NAMES)}), Received: {self.name!r}. Rename the column."
            )
        if self.kind not in KINDS:
            raise KmlcInputError(
                f"Expected the kind of group '{self.name}' to be one of {list(KINDS)}, Received: {self.kind!r}."
            )
        if self.weight is not None:
            object.__setattr__(self, "weight", _weight(self.weight, self.name))

    def spec(self):
        return f"{self.name}:{self.kind}"


def _weight(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise KmlcInputError(f"Expected a positive finite weight for group '{name}', Received: {value!r}.")
    return float(value)


def parse_group_spec(spec):
    """"name", "name:kind" or "name:kind:weight" (or a dict / LabelGroup) -> LabelGroup."""
    if isinstance(spec, LabelGroup):
        return spec
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"name", "kind", "weight"})
        if unknown or "name" not in spec:
            raise KmlcInputError(
                f"Expected a label group mapping with keys name, kind, weight, Received: {spec!r:.80}."
            )
        return LabelGroup(spec["name"], spec.get("kind", "multilabel"), spec.get("weight"))
    if not isinstance(spec, str):
        raise KmlcInputError(f"Expected a label group like 'emotions:multilabel', Received: {spec!r:.60}.")
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) > 3 or not parts[0]:
        raise KmlcInputError(
            f"Expected a label group written NAME or NAME:KIND (KIND one of {list(KINDS)}), Received: {spec!r}."
        )
    weight = None
    if len(parts) == 3:
        try:
            weight = float(parts[2])
        except ValueError:
            raise KmlcInputError(f"Expected NAME:KIND:WEIGHT with a number, Received: {spec!r}.") from None
    kind = parts[1] if len(parts) > 1 and parts[1] else "multilabel"
    return LabelGroup(parts[0], kind, weight)


def parse_group_weights(value):
    """None, "auto", "0.7,4,4" or a list of numbers -> None, "auto" or a list of floats."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == AUTO:
            return AUTO
        try:
            value = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise KmlcInputError(
                f"Expected group weights as comma-separated numbers (0.7,4,4) or 'auto', Received: {text!r}."
            ) from None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = [value]
    try:
        values = list(value)
    except TypeError:
        raise KmlcInputError(f"Expected group weights as a list of numbers or 'auto', Received: {value!r}.") from None
    return [_weight(v, f"#{i + 1}") for i, v in enumerate(values)]


class LabelSchema:
    """The label groups of a model, in the order of the network's output columns.

    Args:
        groups: LabelGroup objects, or "name:kind" strings, or dicts {name, kind, weight}.
        weights: None (each group's own weight, else 1), "auto" (inverse initial losses) or
            one positive number per group (overrides the groups' own weights).
    """

    def __init__(self, groups, weights=None):
        if isinstance(groups, (str, dict, LabelGroup)):
            groups = [groups]
        groups = [parse_group_spec(g) for g in (groups or [])]
        if not groups:
            raise KmlcInputError("Expected at least one label group, Received: none.")
        names = [g.name for g in groups]
        dupes = sorted(n for n, c in Counter(names).items() if c > 1)
        if dupes:
            raise KmlcInputError(f"Expected distinct label group names, Received: {dupes} more than once.")
        weights = parse_group_weights(weights)
        if isinstance(weights, list):
            if len(weights) != len(groups):
                raise KmlcInputError(
                    f"Expected one group weight per label group ({len(groups)}: {names}), "
                    f"Received: {len(weights)} weight(s) {weights}."
                )
            groups = [LabelGroup(g.name, g.kind, w) for g, w in zip(groups, weights)]
        self.groups = groups
        self.auto_weights = weights == AUTO

    @classmethod
    def parse(cls, label_groups, group_weights=None):
        if isinstance(label_groups, LabelSchema):
            if group_weights is None:
                return label_groups
            return cls(label_groups.groups, group_weights)
        return cls(label_groups, group_weights)

    @property
    def names(self):
        return [g.name for g in self.groups]

    def __iter__(self):
        return iter(self.groups)

    def __len__(self):
        return len(self.groups)

    def __getitem__(self, name):
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def __eq__(self, other):
        return isinstance(other, LabelSchema) and self.to_config() == other.to_config()

    def __repr__(self):
        return f"LabelSchema({[g.spec() for g in self.groups]}, weights={self.weights_setting()!r})"

    def weights_setting(self):
        """What `group_weights` holds: "auto", a list of floats, or None (all 1)."""
        if self.auto_weights:
            return AUTO
        if all(g.weight is None for g in self.groups):
            return None
        return [1.0 if g.weight is None else g.weight for g in self.groups]

    def fixed_weights(self):
        return [1.0 if g.weight is None else g.weight for g in self.groups]

    def to_config(self):
        return {"label_groups": [g.spec() for g in self.groups], "group_weights": self.weights_setting()}


def split_label_columns(values):
    """The values of repeated --label-column flags -> (label_column, label_groups).

    One plain name is the ordinary multi-label case (label_groups None); several names, or
    any NAME:KIND, make a schema (label_column None).
    """
    if values is None:
        return None, None
    if isinstance(values, str):
        values = [values]
    values = list(values)
    if len(values) == 1 and ":" not in str(values[0]):
        return values[0], None
    return None, [parse_group_spec(v).spec() for v in values]
