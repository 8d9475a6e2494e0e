"""Every setting is declared once (kmlc.settings): the estimator's signature and checks, the
command line's flags, the YAML keys and the family defaults all come from the table."""

import argparse
import inspect

import pytest

import kmlc
from kmlc.cli import build_parser
from kmlc.config import default_config, read_config
from kmlc.errors import KmlcInputError
from kmlc.families import family_names, get_family
from kmlc.settings import BY_NAME, CLASSIFIER_SETTINGS, RUN_SETTINGS, SETTINGS, accepts, check, expected


def _train_actions():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action for action in commands.choices["train"]._actions}


def test_the_estimator_signature_is_the_table():
    parameters = inspect.signature(kmlc.TextClassifier).parameters
    assert list(parameters) == [s.name for s in CLASSIFIER_SETTINGS]
    assert {name: p.default for name, p in parameters.items()} == {s.name: s.default for s in CLASSIFIER_SETTINGS}
    clf = kmlc.TextClassifier()
    assert all(getattr(clf, s.name) == s.default for s in CLASSIFIER_SETTINGS)
    for s in CLASSIFIER_SETTINGS:  # the docstring documents each setting
        assert f"        {s.name}: " in kmlc.TextClassifier.__doc__
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        kmlc.TextClassifier(epoch=3)


def test_every_setting_with_a_flag_is_a_flag_of_train():
    actions = _train_actions()
    for s in SETTINGS:
        if s.cli_flag is None:
            assert s.name not in actions
            continue
        action = actions[s.name]
        assert s.cli_flag in action.option_strings
        assert action.default is None  # not given: the config file's value, else the table's default
        assert s.help.split(".")[0][:40] in (action.help or "")
        if action.choices is not None:
            assert tuple(action.choices) == s.allowed_choices()


def test_yaml_keys_are_the_table_and_unknown_keys_are_refused(tmp_path):
    assert set(default_config()) == {s.name for s in SETTINGS}
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 2\nepoch: 3\n")
    with pytest.raises(KmlcInputError, match=r"unknown \['epoch'\]"):
        read_config(path)


def test_family_defaults_are_the_settings_that_take_them():
    per_family = {s.name for s in SETTINGS if s.per_family}
    for name in family_names():
        assert set(get_family(name).defaults) == per_family
        resolved = kmlc.TextClassifier(model=name).resolved_params()
        assert {k: resolved[k] for k in per_family} == get_family(name).defaults


@pytest.mark.parametrize("name, good, bad", [
    ("max_tokens", 10, [0, 2.5, True, "10"]),
    ("dropout", 0.0, [1.0, -0.1, float("nan"), "0.1"]),
    ("learning_rate", 1e-3, [0, float("inf"), -1e-3]),
    ("hidden_units", [8, 4], [8, [0], [2.5], "8"]),
    ("group_cutoffs", (10, 2), [(10,), (10, 2, 1)]),
    ("threshold", "per-label", ["best", 1]),
    ("verbose", 0, [3, "loud"]),
    ("split", [0.8, 0.2], [0.8, [0.8, -0.2]]),
    ("seed", 2**32 - 1, [-1, 2**32]),
    ("text_columns", ["title", "body"], ["", [], [1]]),
])
def test_check_takes_the_range_and_refuses_the_rest(name, good, bad):
    s = BY_NAME[name]
    assert accepts(s, good) and accepts(s, None)
    for value in bad:
        with pytest.raises(KmlcInputError, match=rf"Expected {name}( \(--[a-z-]+\))? to be .*Received: "):
            check(name, value)
    assert expected(s)  # a phrase for the message


def test_run_settings_are_not_classifier_parameters():
    names = set(inspect.signature(kmlc.TextClassifier).parameters)
    assert not names & {s.name for s in RUN_SETTINGS}
