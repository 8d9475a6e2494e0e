"""The bad-input matrix of docs/reliability.md: every case gets a clear error ("Expected ...,
Received: ...") before any work starts, or a warning with a count, never a traceback from
deep inside pandas or TensorFlow and never a silent drop."""

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kmlc
from kmlc.data import MAX_DISTINCT_LABELS, read_labeled_texts
from kmlc.errors import KmlcDataWarning, KmlcInputError

TINY = dict(max_tokens=200, hidden_units=(8,), dropout=0.0, epochs=2, patience=2, batch_size=16,
            learning_rate=0.01, verbose=0)


def _one_line_error(excinfo):
    message = str(excinfo.value)
    assert message.startswith("Expected ") and "Received" in message and "\n" not in message
    return message


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    "case,content,match",
    [
        ("missing text column", b"body,labels\nhi,a\n", r"Expected column\(s\) \['text'\].*Received: columns \['body', 'labels'\]"),
        ("misnamed label column", b"text,tags\nhi,a\n", r"Expected column\(s\) \['labels'\].*columns \['text', 'tags'\]"),
        ("empty file", b"", "empty file"),
        ("blank lines only", b"\n\n\n", "empty file"),
        ("header only", b"text,labels\n", "header only"),
        ("latin-1 file", "text,labels\ncaf\u00e9,a\n".encode("latin-1"), r"not UTF-8 .*first at line 2"),
        ("mixed encodings", "text,labels\ncaf\u00e9,a\n".encode() + "na\u00efve,b\n".encode("latin-1"),
         r"1 line\(s\) that are not UTF-8 .*mixed encodings.*line 3"),
        ("utf-16", "text,labels\ncaf\u00e9,a\n".encode("utf-16"), "UTF-16"),
        ("binary garbage", b"\x00\x01PK\x03\x04\xff\xfe\xfa", "not UTF-8"),
        ("unterminated quote", b'text,labels\n"never closed,a\nb,c\n', "could not be parsed"),
        ("more fields than header (first row)", b"text,labels\na,b,c\nd,e\n", "as many fields as its header"),
        ("more fields than header (later row)", b"text,labels\nd,e\na,b,c\n", "Expected 2 fields in line 3"),
        ("empty text cell", b"text,labels\n,a\nok,b\n", r"non-empty text.*data rows \[1\]"),
        ("whitespace text cell", b"text,labels\nok,a\n   ,b\n", r"non-empty text.*data rows \[2\]"),
        ("unparsable label cell", b"text,labels\nok,a\nbad,\"['a', \"\n", r"1 cell\(s\).*row 2"),
        ("nested list label cell", b"text,labels\nok,\"[1, [2]]\"\n", r"cannot be parsed \(row 1"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, case, content, match):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(KmlcInputError, match=match) as excinfo:
        read_labeled_texts(path)
    _one_line_error(excinfo)


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,labels\ncaf\u00e9,a\n".encode("utf-8-sig"))
    assert read_labeled_texts(path).texts == ["caf\u00e9"]


def test_jsonl_null_text_and_float_label(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": null, "labels": ["a"]}\n{"text": "ok", "labels": ["b"]}\n')
    with pytest.raises(KmlcInputError, match=r"data rows \[1\]"):
        read_labeled_texts(path)
    path.write_text('{"text": "x", "labels": 1.5}\n')
    with pytest.raises(KmlcInputError, match=r"cannot be parsed \(row 1: '1.5'\)"):
        read_labeled_texts(path)


def test_numbers_as_text_are_text_and_integer_floats_are_labels():
    # A number in a free-text column is a legitimate text; pandas turns an integer label
    # column with a missing cell into floats, and 3.0 is read back as label "3".
    frame = pd.DataFrame({"text": [1, 2.5, "x"], "labels": [3.0, float("nan"), 4.0]})
    data = read_labeled_texts(frame)
    assert data.texts == ["1", "2.5", "x"]
    assert data.labels == [["3"], [], ["4"]]


@pytest.mark.parametrize("bad", [None, float("nan"), "", "  \t", ["a", "list"]])
def test_missing_or_non_text_cells_in_a_dataframe(bad):
    frame = pd.DataFrame({"text": ["fine", bad, "fine"], "labels": ["a", "b", "c"]}, dtype=object)
    with pytest.raises(KmlcInputError, match=r"Expected a non-empty text.*\[2\]") as excinfo:
        read_labeled_texts(frame)
    _one_line_error(excinfo)


def test_csv_with_embedded_newlines_quotes_and_separators(tmp_path):
    texts = ['line one\nline two', 'she said "hi", then left', "tab\there; semi;colon", "\u00e9\u00e8 \U0001f600"]
    labels = [["a"], ["b", "c"], [], ["a"]]
    frame = pd.DataFrame({"text": texts, "labels": ["|".join(row) for row in labels]})
    path = tmp_path / "tricky.csv"
    frame.to_csv(path, index=False)
    data = read_labeled_texts(path)
    assert data.texts == texts and data.labels == labels
    frame.to_csv(tmp_path / "tricky.tsv", sep="\t", index=False)
    assert read_labeled_texts(tmp_path / "tricky.tsv").texts == texts


def test_parquet_list_column_with_nulls(tmp_path):
    table = pa.table({
        "text": ["a", "b", "c", "d"],
        "labels": pa.array([["x", None, "y"], None, [], [None]], type=pa.list_(pa.string())),
    })
    pq.write_table(table, tmp_path / "lists.parquet")
    data = read_labeled_texts(tmp_path / "lists.parquet")
    assert data.labels == [["x", "y"], [], [], []]


def test_a_label_containing_the_separator():
    # In a list literal the separator is part of the label; in a separated cell it separates.
    frame = pd.DataFrame({"text": ["x", "y"], "labels": ["['a|b', 'c']", "a|b"]})
    assert read_labeled_texts(frame).labels == [["a|b", "c"], ["a", "b"]]
    # Labels with "|" train and survive save/load (labels.txt is one label per line).
    with_bar = read_labeled_texts(pd.DataFrame({"text": ["x", "y"], "labels": ['["a|b"]', '["c"]']}))
    assert with_bar.labels == [["a|b"], ["c"]]


def test_a_label_with_a_line_break_is_refused_before_training(tiny_corpus):
    texts, labels = tiny_corpus
    labels = [list(row) for row in labels]
    labels[0] = ["food\nand more"]
    with pytest.raises(KmlcInputError, match="Expected labels without line breaks") as excinfo:
        kmlc.TextClassifier(**TINY).fit(texts, labels)
    _one_line_error(excinfo)


def test_duplicate_rows_with_conflicting_labels_warn_with_counts():
    frame = pd.DataFrame({"text": ["x", "x", "y", "x", "y"], "labels": ["a", "b", "c", "a", "c"]})
    with pytest.warns(KmlcDataWarning, match=r"2 text\(s\) occur more than once .*\(3 extra copies, 1 of them with labels different.*kept all rows"):
        data = read_labeled_texts(frame)
    assert len(data) == 5 and any("inconsistent annotation" in note for note in data.notes)
    with pytest.warns(KmlcDataWarning, match=r"dropped 3 duplicate text\(s\).*1 of them had labels different"):
        assert len(read_labeled_texts(frame, drop_duplicates=True)) == 2
    # Exact repeats with the same labels are counted too: copies straddling a split inflate metrics.
    with pytest.warns(KmlcDataWarning, match=r"1 text\(s\) occur more than once .*\(1 extra copies\); kept all rows. "
                                             r"kmlc keeps the copies of a text in one split"):
        read_labeled_texts(pd.DataFrame({"text": ["x", "x"], "labels": ["a", "a"]}))


def test_free_text_column_given_as_labels_warns():
    n = MAX_DISTINCT_LABELS + 1
    frame = pd.DataFrame({"text": [f"text {i}" for i in range(n)], "labels": [f"a sentence number {i}" for i in range(n)]})
    with pytest.warns(KmlcDataWarning, match=rf"{n} distinct labels .*free-text column"):
        read_labeled_texts(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KmlcDataWarning)
        read_labeled_texts(frame.head(MAX_DISTINCT_LABELS))  # at the limit: no warning


# ----------------------------------------------------------------------------- labels in fit


@pytest.fixture(scope="module")
def corpus():
    from conftest import make_tiny_corpus

    return make_tiny_corpus()


def test_rows_with_no_label_are_kept_and_counted(corpus):
    texts, labels = corpus
    assert kmlc.summarize(kmlc.LabeledTexts(texts, labels))["rows_with_no_label"] == 6
    clf = kmlc.TextClassifier(**TINY).fit(texts, labels)
    assert clf.n_train_ + clf.metrics_["validation"]["n_examples"] == len(texts)


def test_no_label_at_all_is_an_error(corpus):
    texts, _ = corpus
    with pytest.raises(KmlcInputError, match="Expected at least one label in the training data") as excinfo:
        kmlc.TextClassifier(**TINY).fit(texts, [[] for _ in texts])
    _one_line_error(excinfo)


def test_a_label_in_every_row_and_a_single_label_overall(corpus):
    texts, _ = corpus
    with pytest.warns(KmlcDataWarning, match=r"\['all'\] appear in every training row"):
        clf = kmlc.TextClassifier(**TINY).fit(texts, [["all"] for _ in texts])
    assert clf.labels_ == ["all"] and clf.predict_proba(texts[:3]).shape == (3, 1)
    # One label on some rows: a binary problem, which works like any other.
    single = [["food"] if "pizza" in t or "pasta" in t else [] for t in texts]
    clf = kmlc.TextClassifier(**TINY).fit(texts, single)
    assert clf.labels_ == ["food"]
    assert set(map(tuple, clf.predict(texts))) <= {(), ("food",)}


def test_a_label_seen_once(corpus):
    texts, labels = corpus
    texts = texts + ["the parking lot was full"]
    labels = labels + [["parking"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = kmlc.TextClassifier(**TINY).fit(texts, labels)
    # Stratification keeps the single example on one side: a trained label, or a warned one.
    warned = [str(w.message) for w in caught if "parking" in str(w.message)]
    assert ("parking" in clf.labels_) != bool(warned)
    if "parking" in clf.labels_:
        assert clf.label_encoder_.counts_[clf.labels_.index("parking")] == 1


def test_labels_only_in_validation_warn_and_count_as_misses(corpus):
    texts, labels = corpus
    val_labels = [list(row) for row in labels[:10]]
    val_labels[0] = val_labels[0] + ["parking"]
    val_labels[1] = val_labels[1] + ["parking", "music"]
    with pytest.warns(KmlcDataWarning, match=r"2 label\(s\) occur in the validation data but never in the training data \['music', 'parking'\]"):
        clf = kmlc.TextClassifier(**TINY).fit(texts, labels, validation_data=(texts[:10], val_labels))
    assert clf.metrics_["validation"]["unseen_labels"] == {"music": 1, "parking": 2}
    assert clf.metrics_["validation"]["unseen_label_positives"] == 3
    # Labels only in a test set: counted the same way by evaluate.
    test = clf.evaluate(texts[:2], [["parking"], ["food"]])
    assert test["unseen_labels"] == {"parking": 1}


# ----------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def fitted(corpus):
    texts, labels = corpus
    return kmlc.TextClassifier(seed=2, **TINY).fit(texts, labels)


@pytest.mark.parametrize(
    "texts,match",
    [
        (None, "Expected texts to be a list of strings, Received: None"),
        ("just one string", "a single string"),
        (42, r"Received: int"),
        ([None], r"1 value\(s\) of type \['NoneType'\] at position\(s\) \[0\]"),
        (["ok", 3, 4.5, b"bytes"], r"3 value\(s\) of type \['bytes', 'float', 'int'\] at position\(s\) \[1, 2, 3\]"),
        (["ok", float("nan")], r"type \['float'\] at position\(s\) \[1\]"),
        (["ok", "bad \ud800 surrogate"], r"valid Unicode.*lone surrogate.*position\(s\) \[1\]"),
    ],
)
def test_predict_refuses_non_texts(fitted, texts, match):
    for method in (fitted.predict, fitted.predict_proba):
        with pytest.raises(KmlcInputError, match=match) as excinfo:
            method(texts)
        _one_line_error(excinfo)


def test_predict_edge_cases_that_work(fitted):
    assert fitted.predict([]) == [] and fitted.predict_proba([]).shape == (0, 3)
    proba = fitted.predict_proba(["", " ", "\x00\x01", "pizza"])
    assert proba.shape == (4, 3) and np.all(np.isfinite(proba))
    # An empty text is an all-zero TF-IDF vector: the same output as any other text with no
    # known word.
    np.testing.assert_allclose(proba[0], proba[1], atol=1e-7)
    assert fitted.predict(np.array(["pizza", "waiter"])) == fitted.predict(["pizza", "waiter"])
    assert fitted.predict(pd.Series(["pizza"])) == fitted.predict(["pizza"])


def test_a_10_mb_text(fitted, tmp_path):
    rng = np.random.default_rng(0)
    words = np.array("pizza pasta waiter rude cheap price the a of and".split())
    big = " ".join(rng.choice(words, size=2_100_000))
    assert len(big) > 10_000_000
    path = tmp_path / "big.csv"
    pd.DataFrame({"text": [big, "small"], "labels": ["food", "price"]}).to_csv(path, index=False)
    data = read_labeled_texts(path)
    assert len(data.texts[0]) == len(big)
    proba = fitted.predict_proba([big, "pizza"])
    assert proba.shape == (2, 3) and np.all(np.isfinite(proba))


def test_cli_predict_without_texts_and_with_an_empty_input_file(fitted, tmp_path, capsys):
    from kmlc.cli import main

    fitted.save(tmp_path / "m")
    assert main(["predict", "--model", str(tmp_path / "m")]) == 2
    assert "Expected texts to classify, Received: none" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["predict", "--model", str(tmp_path / "m"), "--input", str(empty)]) == 2
    assert "Expected texts to classify" in capsys.readouterr().err
    assert main(["predict", "--model", str(tmp_path / "m"), "emoji \U0001f355 and \x07 bell"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["text"] == "emoji \U0001f355 and \x07 bell" and set(row["scores"]) == set(fitted.labels_)
