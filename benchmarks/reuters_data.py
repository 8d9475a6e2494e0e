"""The Reuters-21578 split shared by the benchmarks: train.csv split 80/20 by iterative
stratification into a fitting and a validation part; test.csv as the test set."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578_modapte"


def load_reuters(data_dir=DATA, seed=0):
    """(fit, validation, test) as kmlc.data.LabeledTexts."""
    from kmlc.data import read_labeled_texts
    from kmlc.labels import LabelEncoder
    from kmlc.splits import iterative_split

    data_dir = Path(data_dir)
    train = read_labeled_texts(data_dir / "train.csv")
    test = read_labeled_texts(data_dir / "test.csv")
    y = LabelEncoder().fit(train.labels).transform(train.labels)
    fit_idx, val_idx = iterative_split(y, (0.8, 0.2), seed=seed)
    return train.subset(fit_idx), train.subset(val_idx), test
