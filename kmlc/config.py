"""Run settings: defaults, a YAML file, and command-line overrides, in that order.

A run's config is one flat mapping: the data settings below plus every `TextClassifier`
setting. `kmlc train` writes the config it used to `DIR/config.yaml`, and `--config` reads
such a file back, so a run can be repeated exactly.
"""

from pathlib import Path

import yaml

from kmlc.errors import KmlcInputError

DATA_DEFAULTS = {
    "data": None,  # None: the bundled demo dataset (support tickets)
    "val": None,
    "test": None,
    "text_columns": ["text"],
    "label_column": "labels",
    "label_sep": "|",
    "drop_duplicates": False,
    "min_label_count": None,
    "split": [0.6, 0.2, 0.2],
    "backend": None,
    # --stream (kmlc.streaming): None takes the module's default.
    "stream": False,
    "stream_sample_rows": None,
    "stream_validation_rows": None,
    "stream_chunk_rows": None,
    "stream_shuffle_rows": None,
}


def classifier_defaults():
    from kmlc.estimator import TextClassifier

    return TextClassifier().get_params()


def default_config():
    return {**DATA_DEFAULTS, **classifier_defaults()}


def read_config(path):
    """Reads a YAML config; unknown keys are an error (a typo must not be ignored)."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise KmlcInputError(f"Expected an existing YAML config file, Received: '{path}'.") from None
    except yaml.YAMLError as e:
        raise KmlcInputError(
            f"Expected a valid YAML config, Received: '{path}' ({str(e).splitlines()[0]})."
        ) from None
    if not isinstance(config, dict):
        raise KmlcInputError(
            f"Expected a YAML mapping of settings in '{path}', Received: {type(config).__name__}."
        )
    known = set(default_config())
    unknown = sorted(set(config) - known)
    if unknown:
        raise KmlcInputError(
            f"Expected settings among {sorted(known)}, Received: unknown {unknown} in '{path}'."
        )
    return config


def merge_config(*layers):
    """Later layers win; a value of None in a later layer means 'not given'."""
    config = default_config()
    for layer in layers:
        config.update({k: v for k, v in (layer or {}).items() if v is not None})
    return config


def split_config(config):
    """(data settings, classifier settings) from a flat config."""
    classifier_keys = set(classifier_defaults())
    data = {k: v for k, v in config.items() if k not in classifier_keys}
    classifier = {k: v for k, v in config.items() if k in classifier_keys}
    return data, classifier


def write_config(path, config):
    Path(path).write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def resolve_label_groups(config):
    """A `label_column` given as a list, or as NAME:KIND, means label groups: it moves to
    `label_groups` (the same from YAML as from repeated --label-column flags)."""
    from kmlc.groups import split_label_columns

    column, groups = split_label_columns(config.get("label_column"))
    config = dict(config)
    if groups is not None:
        if config.get("label_groups") and [g.split(":")[0] for g in config["label_groups"]] != [
            g.split(":")[0] for g in groups
        ]:
            raise KmlcInputError(
                f"Expected the label columns and label_groups to agree, Received: {groups} and "
                f"{config['label_groups']}."
            )
        config["label_groups"] = groups
        config["label_column"] = DATA_DEFAULTS["label_column"]
    elif column is not None:
        config["label_column"] = column
    if isinstance(config.get("group_weights"), str):
        from kmlc.groups import parse_group_weights

        config["group_weights"] = parse_group_weights(config["group_weights"])
    return config
