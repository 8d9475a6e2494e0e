import numpy as np
import pytest
from sklearn.preprocessing import MultiLabelBinarizer

from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError
from kmlc.labels import LabelEncoder

pytestmark = pytest.mark.backend

ROWS = [["b", "a"], [], ["c"], ["a"], ["a", "c", "b"]]


def test_vocabulary_order_and_counts():
    enc = LabelEncoder().fit(ROWS)
    assert enc.vocabulary_ == ["a", "b", "c"] or enc.vocabulary_ == ["a", "c", "b"]
    assert enc.vocabulary_[0] == "a"  # most frequent first
    assert enc.vocabulary_ == ["a", "b", "c"]  # ties by name
    np.testing.assert_array_equal(enc.counts_, [3, 2, 2])
    assert enc.n_samples_ == 5


def test_transform_matches_sklearn_and_has_no_oov_column():
    enc = LabelEncoder().fit(ROWS)
    y = enc.transform(ROWS)
    reference = MultiLabelBinarizer(classes=enc.vocabulary_).fit_transform(ROWS)
    assert y.shape == (5, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, reference)


def test_round_trip():
    enc = LabelEncoder().fit(ROWS)
    back = enc.inverse_transform(enc.transform(ROWS))
    assert [sorted(r) for r in back] == [sorted(r) for r in ROWS]


def test_unknown_labels_warn_error_or_ignore():
    enc = LabelEncoder().fit(ROWS)
    with pytest.warns(KmlcDataWarning, match=r"1 label\(s\) are not in the model's vocabulary \['zzz'\]"):
        y = enc.transform([["a", "zzz"]])
    np.testing.assert_array_equal(y, [[1, 0, 0]])
    with pytest.raises(KmlcInputError, match="Expected labels from the model's vocabulary"):
        enc.transform([["zzz"]], unknown="error")
    assert enc.unknown_labels([["zzz", "a"], ["zzz"]]) == {"zzz": 2}


def test_label_in_every_row_warns():
    with pytest.warns(KmlcDataWarning, match="appear in every training row"):
        LabelEncoder().fit([["a", "b"], ["a"], ["a"]])


def test_fixed_vocabulary_and_save_load(tmp_path):
    enc = LabelEncoder(vocabulary=["z", "a"]).fit([["a"], ["z", "a"]])
    assert enc.vocabulary_ == ["z", "a"]
    enc.save(tmp_path / "labels.txt")
    loaded = LabelEncoder.load(tmp_path / "labels.txt", counts=enc.counts_)
    assert loaded.vocabulary_ == ["z", "a"]
    np.testing.assert_array_equal(loaded.transform([["a"]]), [[0, 1]])


def test_damaged_label_file(tmp_path):
    (tmp_path / "labels.txt").write_text("a\na\n")
    with pytest.raises(KmlcModelError, match="Expected one distinct label per line"):
        LabelEncoder.load(tmp_path / "labels.txt")


def test_no_labels_at_all():
    with pytest.raises(KmlcInputError, match="Expected at least one label"):
        LabelEncoder().fit([[], []])
