"""Fixed-seed results of every training path, recorded before the one-pipeline redesign
(issue 20) with the code of commit 'Issue 19', per backend: a refactor of the training code
must reproduce them to 1e-6. Real-data comparisons: benchmarks/pipeline_equivalence.py.

To record again after a change that is meant to move them:
    KERAS_BACKEND=jax python tests/test_pipeline_equivalence.py   (then tensorflow, torch)
and replace the backend's entry in EXPECTED with what it prints.
"""

import os
import sys

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

pytestmark = pytest.mark.backend

SETTINGS = dict(
    model="tfidf", max_tokens=300, ngrams=2, normalize="l2", sublinear_tf=True, tfidf_input="sparse",
    hidden_units=(16,), input_scale=2.0, dropout=0.2, learning_rate=1e-2, batch_size=16, epochs=4, patience=3,
    loss="db", loss_params={}, threshold="global", threshold_metric="micro_f1", top_k=None, at_least_one=False,
    min_precision=None, group_cutoffs=(35, 8), validation_fraction=0.2, seed=3, verbose=0,
    # Settings added after the record, at the values that reproduce the code it was made with.
    min_df=1, tokens="keras", idf="keras", oov="keep", wide="none",
)
GROUPS = ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]


def _corpus():
    from kmlc.datasets import load_support_tickets

    frame = load_support_tickets().iloc[:300]
    return frame.text.tolist(), frame.labels.tolist()


def _fingerprint(clf, scores):
    flat = np.concatenate([np.asarray(v) for v in scores.values()], axis=1) if isinstance(scores, dict) else scores
    return {
        "n_train": int(clf.n_train_),
        "best_epoch": int(clf.best_epoch_),
        "loss": [float(v) for v in clf.history_["loss"]],
        "val_micro_f1": [float(v) for v in clf.history_["val_micro_f1"]],
        "validation_micro_f1": float(clf.metrics_["validation"]["micro_f1"]),
        "validation_macro_f1": float(clf.metrics_["validation"]["macro_f1"]),
        "proba_sum": float(np.asarray(flat, dtype=np.float64).sum()),
        "proba_head": [float(v) for v in np.asarray(flat)[0, :6]],
    }


def run_fit():
    import kmlc

    texts, labels = _corpus()
    clf = kmlc.TextClassifier(**SETTINGS).fit(texts, labels)
    return _fingerprint(clf, clf.predict_proba(texts[:50]))


def run_groups():
    import kmlc
    from kmlc.datasets import load_survey

    frame = load_survey(n_rows=300, seed=1)
    names = [g.split(":")[0] for g in GROUPS]
    clf = kmlc.TextClassifier(**{**SETTINGS, "label_groups": GROUPS, "group_weights": "auto"})
    clf.fit(frame.text.tolist(), frame[names])
    return _fingerprint(clf, clf.predict_proba(frame.text.tolist()[:50]))


def run_stream(directory):
    import kmlc
    from kmlc.streaming import TableStream

    texts, labels = _corpus()
    path = os.path.join(directory, "tickets.csv")
    pd.DataFrame({"text": texts, "labels": ["|".join(row) for row in labels]}).to_csv(path, index=False)
    clf = kmlc.TextClassifier(**SETTINGS).fit_stream(TableStream(path, chunk_rows=64), shuffle_rows=100)
    return _fingerprint(clf, clf.predict_proba(texts[:50]))


RUNS = {"fit": lambda d: run_fit(), "groups": lambda d: run_groups(), "stream": run_stream}

# Recorded with the code before the redesign (see the module docstring).
EXPECTED = {'jax': {'fit': {'n_train': 240,
                 'best_epoch': 4,
                 'loss': [0.02091585285961628,
                          0.014478438533842564,
                          0.01299163606017828,
                          0.011797543615102768],
                 'val_micro_f1': [0.24742268025875092,
                                  0.3700787425041199,
                                  0.38866397738456726,
                                  0.42592594027519226],
                 'validation_micro_f1': 0.45320197044334976,
                 'validation_macro_f1': 0.28975756699440913,
                 'proba_sum': 292.96263213455677,
                 'proba_head': [0.37700799107551575,
                                0.7009662985801697,
                                0.3491863012313843,
                                0.447040855884552,
                                0.3385241627693176,
                                0.18224063515663147]},
         'groups': {'n_train': 235,
                    'best_epoch': 4,
                    'loss': [2.555460214614868, 2.1424286365509033, 1.9823120832443237, 1.8474947214126587],
                    'val_micro_f1': [0.23387669026851654,
                                     0.27450981736183167,
                                     0.2950819730758667,
                                     0.31134021282196045],
                    'validation_micro_f1': 0.32872503840245776,
                    'validation_macro_f1': 0.26485278529654954,
                    'proba_sum': 489.46185467392206,
                    'proba_head': [0.07491078972816467,
                                   0.07724816352128983,
                                   0.17041265964508057,
                                   0.3419141471385956,
                                   0.33551424741744995,
                                   0.3642244040966034]},
         'stream': {'n_train': 240,
                    'best_epoch': 4,
                    'loss': [0.0209539532661438,
                             0.014566939324140549,
                             0.01278937142342329,
                             0.011795959435403347],
                    'val_micro_f1': [0.2831050157546997,
                                     0.3569023609161377,
                                     0.3644859790802002,
                                     0.3777777850627899],
                    'validation_micro_f1': 0.4025157232704403,
                    'validation_macro_f1': 0.1823183705409111,
                    'proba_sum': 294.73657274246216,
                    'proba_head': [0.41857609152793884,
                                   0.5605922937393188,
                                   0.45481887459754944,
                                   0.40534868836402893,
                                   0.2947045564651489,
                                   0.3202575445175171]}},
 'tensorflow': {'fit': {'n_train': 240,
                        'best_epoch': 4,
                        'loss': [0.0205677580088377,
                                 0.01451030746102333,
                                 0.012558291666209698,
                                 0.011224973015487194],
                        'val_micro_f1': [0.2748091518878937,
                                         0.3849056661128998,
                                         0.469565212726593,
                                         0.5443037748336792],
                        'validation_micro_f1': 0.5534591194968553,
                        'validation_macro_f1': 0.3094564043048982,
                        'proba_sum': 294.14082645624876,
                        'proba_head': [0.3588610291481018,
                                       0.7374881505966187,
                                       0.3446941673755646,
                                       0.3717203736305237,
                                       0.3217490017414093,
                                       0.15043006837368011]},
                'groups': {'n_train': 235,
                           'best_epoch': 4,
                           'loss': [2.580047369003296,
                                    2.1206371784210205,
                                    1.9267256259918213,
                                    1.7911930084228516],
                           'val_micro_f1': [0.2552664279937744,
                                            0.3042912781238556,
                                            0.33786848187446594,
                                            0.39759036898612976],
                           'validation_micro_f1': 0.42016806722689076,
                           'validation_macro_f1': 0.3291211063878909,
                           'proba_sum': 482.82686901744455,
                           'proba_head': [0.049969010055065155,
                                          0.04905473813414574,
                                          0.05907364562153816,
                                          0.43799132108688354,
                                          0.403911292552948,
                                          0.3382376432418823]},
                'stream': {'n_train': 240,
                           'best_epoch': 4,
                           'loss': [0.020729443058371544,
                                    0.014011029154062271,
                                    0.012185126543045044,
                                    0.010701705701649189],
                           'val_micro_f1': [0.2822384536266327,
                                            0.38032788038253784,
                                            0.4040403962135315,
                                            0.46209385991096497],
                           'validation_micro_f1': 0.47808764940239046,
                           'validation_macro_f1': 0.28420053581299487,
                           'proba_sum': 284.0078941658139,
                           'proba_head': [0.3901125192642212,
                                          0.6334777474403381,
                                          0.4077492654323578,
                                          0.41886091232299805,
                                          0.3246378004550934,
                                          0.24280956387519836]}},
 'torch': {'fit': {'n_train': 240,
                   'best_epoch': 4,
                   'loss': [0.020829616114497185,
                            0.014141390100121498,
                            0.012793284840881824,
                            0.011596325784921646],
                   'val_micro_f1': [0.2526881694793701,
                                    0.3935742974281311,
                                    0.42323651909828186,
                                    0.47058823704719543],
                   'validation_micro_f1': 0.4975124378109453,
                   'validation_macro_f1': 0.3242787233470463,
                   'proba_sum': 292.8871725127101,
                   'proba_head': [0.37706685066223145,
                                  0.6820542216300964,
                                  0.3529108464717865,
                                  0.45503494143486023,
                                  0.3175504803657532,
                                  0.1871739774942398]},
           'groups': {'n_train': 235,
                      'best_epoch': 4,
                      'loss': [2.5622808933258057, 2.1265807151794434, 1.9724477529525757, 1.838412880897522],
                      'val_micro_f1': [0.22980500757694244,
                                       0.2777070105075836,
                                       0.30078125,
                                       0.34259259700775146],
                      'validation_micro_f1': 0.35759897828863346,
                      'validation_macro_f1': 0.3264447931204068,
                      'proba_sum': 485.38211763557047,
                      'proba_head': [0.05518212541937828,
                                     0.0745672881603241,
                                     0.12454819679260254,
                                     0.3654384911060333,
                                     0.38026389479637146,
                                     0.35046884417533875]},
           'stream': {'n_train': 240,
                      'best_epoch': 4,
                      'loss': [0.0210560392588377,
                               0.014400805346667767,
                               0.012498585507273674,
                               0.01149639580398798],
                      'val_micro_f1': [0.30630630254745483,
                                       0.3720930218696594,
                                       0.37837839126586914,
                                       0.4363636374473572],
                      'validation_micro_f1': 0.4467005076142132,
                      'validation_macro_f1': 0.20396409455842995,
                      'proba_sum': 293.906911239028,
                      'proba_head': [0.40347662568092346,
                                     0.6076686382293701,
                                     0.40646615624427795,
                                     0.4231472909450531,
                                     0.3451833724975586,
                                     0.3043707311153412]}}}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_training_paths_give_the_recorded_results(run, tmp_path):
    import keras

    expected = EXPECTED.get(keras.backend.backend(), {}).get(run)
    if expected is None:
        pytest.skip(f"nothing recorded for {run} on {keras.backend.backend()}")
    got = RUNS[run](str(tmp_path))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, atol=1e-6, rtol=0, err_msg=f"{run}: {key}")


if __name__ == "__main__":
    import json
    import tempfile
    import warnings

    import keras

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: RUNS[name](tmp) for name in sorted(RUNS)}
    json.dump({keras.backend.backend(): results}, sys.stdout, indent=1)
    print()
