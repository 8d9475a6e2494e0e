"""Tests of the generated demo datasets (kmlc.datasets)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from kmlc.datasets import (
    DEMO_DATASETS,
    SUPPORT_TICKET_LABELS,
    SURVEY_GROUPS,
    load_support_tickets,
    load_survey,
    support_tickets_label_descriptions,
    survey_label_names,
    write_support_tickets,
    write_survey,
)

SCORES = ["S%d" % i for i in range(1, 6)]
EMOTIONS = ["E%d" % i for i in range(1, 12)]
CAUSES = ["C%d" % i for i in range(1, 13)]


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return load_support_tickets()


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return load_survey()


# --------------------------------------------------------------------------- #
# Support tickets
# --------------------------------------------------------------------------- #


def test_tickets_schema_and_row_count(tickets):
    assert list(tickets.columns) == ["text", "labels"]
    assert len(tickets) == 2000
    assert len(load_support_tickets(n_rows=123, seed=3)) == 123
    assert len(load_support_tickets(n_rows=0)) == 0
    for text, labels in zip(tickets["text"], tickets["labels"]):
        assert isinstance(text, str) and text.strip()
        assert isinstance(labels, list)
        assert len(set(labels)) == len(labels)
        assert all(isinstance(lab, str) for lab in labels)


def test_tickets_deterministic():
    a = load_support_tickets(n_rows=300, seed=7)
    b = load_support_tickets(n_rows=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = load_support_tickets(n_rows=300, seed=8)
    assert not a["text"].equals(c["text"])


def test_tickets_default_is_seed_zero(tickets):
    pd.testing.assert_frame_equal(tickets, load_support_tickets(2000, seed=0))


def test_tickets_label_set(tickets):
    seen = {lab for labels in tickets["labels"] for lab in labels}
    assert seen <= set(SUPPORT_TICKET_LABELS)
    assert 12 <= len(seen) <= 16
    assert len(SUPPORT_TICKET_LABELS) == len(set(SUPPORT_TICKET_LABELS))


def test_tickets_long_tail(tickets):
    counts = Counter(lab for labels in tickets["labels"] for lab in labels)
    most, least = max(counts.values()), min(counts.values())
    assert most >= 10 * least
    n = len(tickets)
    assert 0.20 <= most / n <= 0.35  # head label ~25-30% of rows
    assert least / n <= 0.025  # tail labels ~1-2% of rows


def test_tickets_cardinality(tickets):
    n_labels = tickets["labels"].map(len)
    assert 0.02 <= (n_labels == 0).mean() <= 0.10
    assert (n_labels >= 3).sum() > 0
    assert 0.02 <= (n_labels >= 3).mean() <= 0.12
    assert 1.4 <= n_labels.mean() <= 1.9


def test_tickets_cooccurrence(tickets):
    sets = [set(labels) for labels in tickets["labels"]]

    def lift(a, b):
        n = len(sets)
        pa = sum(a in s for s in sets) / n
        pb = sum(b in s for s in sets) / n
        pab = sum(a in s and b in s for s in sets) / n
        return pab / (pa * pb)

    assert lift("refund", "damaged_item") > 1.5
    assert lift("account_access", "password_reset") > 1.5
    assert lift("cancellation", "pricing") > 1.5


def test_tickets_descriptions():
    desc = support_tickets_label_descriptions()
    assert set(desc) == set(SUPPORT_TICKET_LABELS)
    assert all(isinstance(v, str) and v and "\n" not in v for v in desc.values())


def test_write_support_tickets(tmp_path, tickets):
    path = tmp_path / "sub" / "tickets.csv"
    write_support_tickets(path, n_rows=2000, seed=0)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns) == ["text", "labels"]
    assert len(back) == 2000
    assert back["text"].tolist() == tickets["text"].tolist()
    parsed = [[x for x in v.split("|") if x] for v in back["labels"]]
    assert parsed == tickets["labels"].tolist()
    assert (back["labels"] == "").any()


def test_tickets_learnable_but_not_trivial(tickets):
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=SUPPORT_TICKET_LABELS)
    y = mlb.fit_transform(tickets["labels"])
    vec = TfidfVectorizer()
    x_train = vec.fit_transform(tickets["text"][:1500])
    x_test = vec.transform(tickets["text"][1500:])
    clf = OneVsRestClassifier(LogisticRegression(C=10.0, max_iter=2000))
    clf.fit(x_train, y[:1500])
    f1 = f1_score(y[1500:], clf.predict(x_test), average="micro")
    assert 0.6 <= f1 <= 0.97, f1


# --------------------------------------------------------------------------- #
# Survey
# --------------------------------------------------------------------------- #


def test_survey_schema(survey):
    assert list(survey.columns) == ["text", "global_score", "emotions", "causes"]
    assert len(survey) == 1500
    assert len(load_survey(n_rows=50, seed=2)) == 50
    assert SURVEY_GROUPS == {
        "global_score": "multiclass",
        "emotions": "multilabel",
        "causes": "multilabel",
    }
    assert all(isinstance(t, str) and t.strip() for t in survey["text"])


def test_survey_deterministic():
    a = load_survey(n_rows=200, seed=5)
    pd.testing.assert_frame_equal(a, load_survey(n_rows=200, seed=5))
    assert not a["text"].equals(load_survey(n_rows=200, seed=6)["text"])


def test_survey_codes_valid(survey):
    # exactly one score per row
    assert survey["global_score"].map(lambda v: isinstance(v, str)).all()
    assert set(survey["global_score"]) == set(SCORES)
    for col, codes in (("emotions", EMOTIONS), ("causes", CAUSES)):
        for labels in survey[col]:
            assert isinstance(labels, list)
            assert set(labels) <= set(codes)
            assert len(set(labels)) == len(labels)
        seen = {c for labels in survey[col] for c in labels}
        assert seen == set(codes)


def test_survey_cardinality(survey):
    for col in ("emotions", "causes"):
        n = survey[col].map(len)
        assert 1.0 <= n.mean() <= 2.0, (col, n.mean())
        assert 0.0 < (n == 0).mean() <= 0.2


def test_survey_coherence(survey):
    score = survey["global_score"].str[1].astype(int)

    def mean_score(col, code):
        mask = survey[col].map(lambda labels: code in labels)
        return score[mask].mean()

    # joy / gratitude come with high scores, anger / frustration with low ones
    assert mean_score("emotions", "E1") > 4.0
    assert mean_score("emotions", "E4") > 3.5
    assert mean_score("emotions", "E3") < 2.5
    assert mean_score("emotions", "E2") < 2.8
    # negative-prone causes show up with lower scores than staff friendliness
    assert mean_score("causes", "C2") < mean_score("causes", "C1")


def test_survey_label_names():
    names = survey_label_names()
    assert set(names) == set(SCORES + EMOTIONS + CAUSES)
    assert names["E1"] == "joy"
    assert set(survey_label_names("emotions")) == set(EMOTIONS)
    assert set(survey_label_names("causes")) == set(CAUSES)
    assert set(survey_label_names("global_score")) == set(SCORES)
    with pytest.raises(KeyError):
        survey_label_names("nope")


def test_write_survey(tmp_path, survey):
    path = tmp_path / "survey.csv"
    write_survey(path)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns) == ["text", "global_score", "emotions", "causes"]
    assert back["text"].tolist() == survey["text"].tolist()
    assert back["global_score"].tolist() == survey["global_score"].tolist()
    for col in ("emotions", "causes"):
        parsed = [[x for x in v.split("|") if x] for v in back[col]]
        assert parsed == survey[col].tolist()


def test_demo_datasets_registry():
    assert set(DEMO_DATASETS) == {"support_tickets", "survey"}
    assert DEMO_DATASETS["support_tickets"] is load_support_tickets
    assert DEMO_DATASETS["survey"] is load_survey
    df = DEMO_DATASETS["survey"](n_rows=10, seed=1)
    assert isinstance(df, pd.DataFrame) and len(df) == 10
    assert np.all(df["global_score"].isin(SCORES))
