"""Run settings: defaults, a YAML file, and command-line overrides, in that order.

A run's config is one flat mapping: the data settings below plus every `TextClassifier`
setting. `kmlc train` writes the config it used to `DIR/config.yaml`, and `--config` reads
such a file back, so a run can be repeated exactly.
"""

from pathlib import Path

import yaml

from kmlc.errors import KmlcInputError

def _is_int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_text_list(value):
    return isinstance(value, str) or (
        isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) and v for v in value)
    )


# The data settings of a run: name -> (default, test of a given value, what the error says is
# expected). None is always accepted (not given: the default); the values' meaning (a file
# that exists, a column that is there) is checked where they are used.
DATA_SETTINGS = {
    "data": (None, lambda v: isinstance(v, str), "a file path"),  # None: the bundled demo data
    "val": (None, lambda v: isinstance(v, str), "a file path"),
    "test": (None, lambda v: isinstance(v, str), "a file path"),
    "text_columns": (["text"], _is_text_list, "a column name or a list of column names"),
    "label_column": ("labels", _is_text_list, "a column name, or a list of NAME:KIND label group columns"),
    "label_sep": ("|", lambda v: isinstance(v, str), "a separator such as '|', or 'auto'"),
    "drop_duplicates": (False, lambda v: isinstance(v, bool), "true or false"),
    "min_label_count": (None, lambda v: _is_int(v, 1), "a positive integer"),
    "split": (
        [0.6, 0.2, 0.2],
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v),
        "a list of fractions (e.g. [0.6, 0.2, 0.2])",
    ),
    "backend": (None, lambda v: v in ("jax", "tensorflow", "torch"), "one of jax, tensorflow, torch"),
    # --stream (kmlc.streaming): None takes the module's default.
    "stream": (False, lambda v: isinstance(v, bool), "true or false"),
    "stream_sample_rows": (None, lambda v: _is_int(v, 1), "a positive integer"),
    "stream_validation_rows": (None, lambda v: _is_int(v, 0), "an integer >= 0"),
    "stream_chunk_rows": (None, lambda v: _is_int(v, 1), "a positive integer"),
    "stream_shuffle_rows": (None, lambda v: _is_int(v, 1), "a positive integer"),
    "report": (True, lambda v: isinstance(v, bool), "true or false"),  # kmlc train writes DIR/reports/
}
DATA_DEFAULTS = {name: default for name, (default, _, _) in DATA_SETTINGS.items()}


def check_data_settings(config):
    """One clear line for a data setting of the wrong type (a YAML value of the wrong shape),
    before any work."""
    for key, (_, accepts, expected) in DATA_SETTINGS.items():
        value = config.get(key)
        if value is not None and not accepts(value):
            flag = "--text-column" if key == "text_columns" else f"--{key.replace('_', '-')}"
            raise KmlcInputError(f"Expected {key} ({flag}) to be {expected}, Received: {value!r}.")
    return config


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
    return _yaml_numbers(config, path)


# Settings that take numbers. YAML 1.1 reads `1e-3` (no dot) as the string "1e-3": such a
# string is read here as the number it spells; any other string is refused by name.
NUMBER_SETTINGS = (
    "learning_rate", "dropout", "input_scale", "weight_decay", "warmup_fraction", "clipnorm",
    "min_precision", "validation_fraction",
)


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
        config["loss_params"] = {k: _number_or_text(v) for k, v in config["loss_params"].items()}
    if isinstance(config.get("hidden_units"), int) and not isinstance(config["hidden_units"], bool):
        config["hidden_units"] = [config["hidden_units"]]  # one layer, as --hidden-units 64
    return config


def _number_or_text(value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value  # e.g. mu: auto
    return value


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
