"""A grouped model's own files in its model directory: groups.json (schema, weights,
column slices) and labels/<group>.txt (see saved_models/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from kmlc.errors import KmlcModelError
from kmlc.groups.encoder import GroupedLabelEncoder
from kmlc.groups.outputs import GroupedThresholds, output_groups
from kmlc.groups.schema import LabelGroup, LabelSchema
from kmlc.io import write_json

GROUPS_FILE = "groups.json"


def save_group_files(clf, directory):
    """groups.json (schema, weights, column slices) and labels/<group>.txt."""

    clf.label_encoder_.save_groups(directory)
    write_json(Path(directory) / GROUPS_FILE, {
        "groups": [g.to_dict() for g in output_groups(clf)],
        "group_weights": clf.label_schema_.weights_setting(),
        "n_outputs": clf.label_encoder_.num_labels,
    })


def load_group_state(clf, expected, directory, training, thresholds):
    """Fills a loaded classifier's grouped state from groups.json, labels/ and thresholds.json;
    `expected` is the schema of its config.yaml."""
    directory = Path(directory)
    try:
        stored = json.loads((directory / GROUPS_FILE).read_text(encoding="utf-8"))
        groups = [LabelGroup(g["name"], g["kind"]) for g in stored["groups"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KmlcModelError(
            f"Expected a readable '{GROUPS_FILE}' in '{directory}', Received: a damaged file ({type(e).__name__})."
        ) from None
    schema = LabelSchema(groups, stored.get("group_weights"))
    if schema.names != expected.names:
        raise KmlcModelError(
            f"Expected config.yaml and {GROUPS_FILE} to agree on the label groups, Received: "
            f"{expected.names} and {schema.names} in '{directory}'."
        )
    clf.label_schema_ = schema
    clf.label_encoder_ = GroupedLabelEncoder.load(
        directory, schema, counts=training.get("class_counts"), n_samples=training.get("n_train")
    )
    for g in stored["groups"]:
        a, b = clf.label_encoder_.slices_[g["name"]]
        if (g.get("start"), g.get("stop")) != (a, b) or list(g.get("labels", [])) != clf.label_encoder_.encoders_[g["name"]].vocabulary_:
            raise KmlcModelError(
                f"Expected labels/{g['name']}.txt to match {GROUPS_FILE}, Received: a different vocabulary "
                f"in '{directory}'. The model directory is damaged: train or copy it again."
            )
    clf.labels_ = list(clf.label_encoder_.vocabulary_)
    clf.thresholds_ = GroupedThresholds.from_dict(thresholds, schema, clf.label_encoder_.slices_)
    clf.group_weights_ = {g["name"]: float(g.get("weight", 1.0)) for g in stored["groups"]}
    clf.group_training_info_ = training.get("label_groups", {})
    return clf
