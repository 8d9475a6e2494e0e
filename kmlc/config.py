"""Run settings: defaults, a YAML file, and command-line overrides, in that order.

A run's config is one flat mapping: every setting of `kmlc.settings` (the run's data settings
and every `TextClassifier` setting). `kmlc train` writes the config it used to `DIR/config.yaml`, and `--config` reads
such a file back, so a run can be repeated exactly.
"""

from pathlib import Path

import yaml

from kmlc.errors import KmlcInputError
from kmlc.groups import parse_group_weights, split_label_columns
from kmlc.settings import (
    CLASSIFIER_SETTINGS,
    RUN_SETTINGS,
    SETTINGS,
    check_all,
    number_or_text,
    run_defaults,
)

# The data settings of a run (kmlc train's own: data, splits, streaming), from the table.
DATA_DEFAULTS = run_defaults()


def check_data_settings(config):
    """One clear line for a data setting of the wrong type (a YAML value of the wrong shape),
    before any work."""
    return check_all(config, [s.name for s in RUN_SETTINGS])


def classifier_defaults():
    """The classifier's settings at their defaults, in YAML form (lists, not tuples)."""
    return {s.name: list(s.default) if isinstance(s.default, tuple) else s.default for s in CLASSIFIER_SETTINGS}


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
    return _yaml_numbers(config, path)


# YAML 1.1 reads `1e-3` (no dot) as the string "1e-3": for a setting that takes a number such
# a string is read as the number it spells; any other string is refused by name.
NUMBER_SETTINGS = tuple(s.name for s in SETTINGS if s.kind == "float")


def _yaml_numbers(config, path):
    config = dict(config)
    for key in NUMBER_SETTINGS:
        value = config.get(key)
        if isinstance(value, str):
            try:
                config[key] = float(value)
            except ValueError:
                raise KmlcInputError(
                    f"Expected a number for '{key}' in '{path}', Received: the text {value!r}."
                ) from None
    if isinstance(config.get("loss_params"), dict):
        config["loss_params"] = {k: number_or_text(v) for k, v in config["loss_params"].items()}
    for setting in SETTINGS:
        value = config.get(setting.name)
        if setting.kind == "int_list" and isinstance(value, int) and not isinstance(value, bool):
            config[setting.name] = [value]  # `hidden_units: 64` is one layer, as --hidden-units 64
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
        config["group_weights"] = parse_group_weights(config["group_weights"])
    return config
