import json

import numpy as np
import pandas as pd
import pytest

from kmlc.data import detect_label_sep, parse_label_cell, read_labeled_texts, summarize
from kmlc.errors import KmlcDataWarning, KmlcInputError

ROWS = [
    ("first text", ["a", "b"]),
    ("second text", []),
    ("third text", ["c"]),
]


def _write(tmp_path, fmt, labels_as):
    frame = pd.DataFrame({"text": [t for t, _ in ROWS], "labels": [l for _, l in ROWS]})
    if labels_as == "pipe":
        frame["labels"] = ["|".join(l) for l in frame["labels"]]
    elif labels_as == "python":
        frame["labels"] = [repr(l) for l in frame["labels"]]
    elif labels_as == "json":
        frame["labels"] = [json.dumps(l) for l in frame["labels"]]
    path = tmp_path / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif fmt == "parquet":
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
@pytest.mark.parametrize("labels_as", ["pipe", "python", "json", "list"])
def test_every_format_and_label_encoding(tmp_path, fmt, labels_as):
    if labels_as == "list" and fmt in ("csv", "tsv"):
        pytest.skip("CSV has no list cells")
    data = read_labeled_texts(_write(tmp_path, fmt, labels_as))
    assert data.texts == [t for t, _ in ROWS]
    assert data.labels == [l for _, l in ROWS]


def test_dataframe_with_real_lists_and_joined_text_columns():
    frame = pd.DataFrame(
        {"title": ["T1", "T2"], "abstract": ["A1", None], "labels": [np.array(["x", "y"]), []]}
    )
    data = read_labeled_texts(frame, text_columns=["title", "abstract"])
    assert data.texts == ["T1\nA1", "T2"]
    assert data.labels == [["x", "y"], []]


@pytest.mark.parametrize(
    "cell,sep,expected",
    [
        ("['cs.CV', 'cs.LG']", "|", ["cs.CV", "cs.LG"]),
        ('["a", "b", "a"]', "|", ["a", "b"]),
        (" a | b ||", "|", ["a", "b"]),
        ("a;b", ";", ["a", "b"]),
        ("", "|", []),
        (None, "|", []),
        (float("nan"), "|", []),
        (["x", None, " y "], "|", ["x", "y"]),
        (7, "|", ["7"]),
    ],
)
def test_parse_label_cell(cell, sep, expected):
    assert parse_label_cell(cell, sep) == expected


def test_auto_separator_detection():
    assert detect_label_sep(["a;b", "c", "d;e"]) == ";"
    assert detect_label_sep(["['a']", "['b', 'c']"]) == "list"
    assert detect_label_sep(["a,b", "c"]) == ","
    assert detect_label_sep(["a", "b"]) == "|"
    frame = pd.DataFrame({"text": ["x", "y"], "labels": ["a;b", "c"]})
    assert read_labeled_texts(frame, label_sep="auto").labels == [["a", "b"], ["c"]]


def test_missing_column_names_the_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("body,tags\nhello,a\n")
    with pytest.raises(KmlcInputError, match=r"Expected column\(s\) \['text', 'labels'\].*Received: columns \['body', 'tags'\]"):
        read_labeled_texts(path)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(KmlcInputError, match="empty file"):
        read_labeled_texts(empty)
    header = tmp_path / "header.csv"
    header.write_text("text,labels\n")
    with pytest.raises(KmlcInputError, match="header only"):
        read_labeled_texts(header)


def test_unparsable_label_cells_name_the_rows(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["ok", "bad", "also bad"], "labels": ["a", "['a', ", "[1, [2]]"]}).to_csv(path, index=False)
    with pytest.raises(KmlcInputError, match=r"2 cell\(s\).*row 2"):
        read_labeled_texts(path)


@pytest.mark.parametrize("bad_text", ["", "   ", None, float("nan")])
def test_empty_or_missing_texts_are_refused_with_row_numbers(bad_text):
    frame = pd.DataFrame({"text": ["fine", bad_text, "fine too"], "labels": ["a", "b", "c"]})
    with pytest.raises(KmlcInputError, match=r"Expected a non-empty text.*data rows \[2\]"):
        read_labeled_texts(frame)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,labels\ncaf\u00e9,a\n".encode("latin-1"))
    with pytest.raises(KmlcInputError, match="Expected a UTF-8 encoded file"):
        read_labeled_texts(path)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(KmlcInputError, match="no such file"):
        read_labeled_texts(tmp_path / "nope.csv")
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    with pytest.raises(KmlcInputError, match="Expected a file ending in one of"):
        read_labeled_texts(other)


def test_drop_duplicates_reports_conflicts():
    frame = pd.DataFrame({"text": ["x", "x", "y", "x"], "labels": ["a", "b", "c", "a"]})
    with pytest.warns(KmlcDataWarning, match="dropped 2 duplicate.*1 of them had labels different"):
        data = read_labeled_texts(frame, drop_duplicates=True)
    assert data.texts == ["x", "y"] and data.labels == [["a"], ["c"]]
    assert any("duplicate" in note for note in data.notes)


def test_min_label_count_drops_and_reports():
    frame = pd.DataFrame({"text": list("pqrs"), "labels": ["a|rare", "a", "a|b", "b"]})
    with pytest.warns(KmlcDataWarning, match=r"dropped 1 label\(s\) with fewer than 2 examples: \['rare'\]"):
        data = read_labeled_texts(frame, min_label_count=2)
    assert data.labels == [["a"], ["a"], ["a", "b"], ["b"]]


def test_summary_figures():
    frame = pd.DataFrame({"text": ["x", "x", "y", "z"], "labels": ["a|b|c", "a", "", "a"]})
    s = summarize(read_labeled_texts(frame))
    assert s["rows"] == 4 and s["labels"] == 3 and s["duplicate_texts"] == 1
    assert s["rows_with_no_label"] == 1 and s["rows_with_3_or_more_labels"] == 1
    assert s["labels_per_row_mean"] == pytest.approx(5 / 4)
    assert (s["label_frequency_min"], s["label_frequency_median"], s["label_frequency_max"]) == (1, 1, 3)
    assert s["labels_under_10_examples"] == 3
