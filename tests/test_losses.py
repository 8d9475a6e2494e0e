"""Tests of kmlc.losses against the NumPy reference in tests/reference_losses.py.

The file runs under whatever KERAS_BACKEND is set; CI runs it under jax,
tensorflow and torch.  Every backend is compared with the same float64
reference at float32 tolerance, which is what proves cross-backend agreement.
"""

import json

import keras
import numpy as np
import pytest

import reference_losses as R
from kmlc import losses as L

pytestmark = pytest.mark.backend

BACKEND = keras.backend.backend()

N = 100
# A label never seen in training, one on every sample, a rare one, ..., one on all but one.
COUNTS = [0, 100, 1, 3, 10, 50, 99]
C = len(COUNTS)
MU = 0.9
RTOL, ATOL = 1e-5, 1e-6


def make_data(seed=0, batch=8, huge=True, scale=3.0):
    rng = np.random.default_rng(seed)
    y = (rng.random((batch, C)) < 0.35).astype(np.float32)
    z = rng.normal(0.0, scale, (batch, C)).astype(np.float32)
    y[0] = 0.0  # a row with no positive label
    y[1] = 1.0  # a row with every label
    y[2] = 0.0
    y[2, 0] = 1.0  # only the label never seen in training
    if huge:
        # huge logits, right and wrong way round, and the float32 sigmoid saturation zone
        z[3, :6] = [1e4, -1e4, 30.0, -30.0, 90.0, -90.0]
        y[3, :6] = [1, 1, 0, 0, 1, 0]
        z[4, :6] = [1e4, -1e4, 0.0, 1e4, -1e4, 0.0]
        y[4, :6] = [0, 0, 1, 1, 0, 0]
    return y, z


Y, Z = make_data()
Y64, Z64 = Y.astype(np.float64), Z.astype(np.float64)


def _grad(loss_fn, y, logits):
    """(value, d value / d logits) of the scalar ``loss_fn(y, logits)`` on the current backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        value, grad = jax.value_and_grad(lambda z: loss_fn(jnp.asarray(y), z))(jnp.asarray(logits))
        return np.asarray(value), np.asarray(grad)
    if backend == "tensorflow":
        import tensorflow as tf

        z = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(z)
            value = loss_fn(tf.constant(y), z)
        return value.numpy(), tape.gradient(value, z).numpy()
    if backend == "torch":
        import torch

        z = torch.tensor(logits, requires_grad=True)
        value = loss_fn(torch.tensor(y), z)
        value.backward()
        return value.detach().numpy(), z.grad.numpy()
    raise NotImplementedError(backend)


def _np(x):
    if keras.backend.standardize_dtype(x.dtype) in ("float16", "bfloat16"):
        x = keras.ops.cast(x, "float32")  # TF cannot hand a 0-d bfloat16 tensor to NumPy
    return keras.ops.convert_to_numpy(x).astype(np.float64)


# --------------------------------------------------------------------------
# Cases: (id, loss factory, reference per-sample function of (y, z)).
# --------------------------------------------------------------------------

PW = [2.0, 0.5, 1.0, 3.0, 1.5, 1.0, 10.0]


def _db(**kw):
    ref_kw = {"mu": MU, **kw}
    return (
        lambda: L.DistributionBalancedLoss(COUNTS, N, **{"mu": MU, **kw}),
        lambda y, z: R.distribution_balanced(y, z, COUNTS, N, **ref_kw),
    )


def _cb(**kw):
    return (
        lambda: L.ClassBalancedLoss(COUNTS, **kw),
        lambda y, z: R.class_balanced(y, z, COUNTS, **kw),
    )


CASES = {
    "bce": (lambda: L.BinaryCrossentropy(), lambda y, z: R.bce(y, z)),
    "bce-pos_weight": (lambda: L.BinaryCrossentropy(pos_weight=PW), lambda y, z: R.bce(y, z, PW)),
    "focal": (lambda: L.FocalLoss(), lambda y, z: R.focal(y, z, 2.0, 0.25)),
    "focal-no-alpha-g0.5": (lambda: L.FocalLoss(gamma=0.5, alpha=None), lambda y, z: R.focal(y, z, 0.5, None)),
    "focal-g0": (lambda: L.FocalLoss(gamma=0.0, alpha=0.7), lambda y, z: R.focal(y, z, 0.0, 0.7)),
}
for _mode in L.CB_MODES:
    CASES[f"cb-focal-{_mode}"] = _cb(beta=0.9999, gamma=2.0, base="focal", mode=_mode, alpha=0.25)
    CASES[f"cb-bce-{_mode}"] = _cb(beta=0.9, base="bce", mode=_mode)
CASES["cb-beta0"] = _cb(beta=0.0, base="focal", mode="average_n")
for _rw in L.REWEIGHT_CHOICES:
    for _wn in L.WEIGHT_NORM_CHOICES:
        CASES[f"db-{_rw}-{_wn}"] = _db(reweight=_rw, weight_norm=_wn)
for _ntr, _focal in [(False, False), (False, True), (True, False)]:
    CASES[f"db-rebalance-ntr{_ntr}-focal{_focal}"] = _db(ntr=_ntr, focal=_focal)
    CASES[f"db-cb_avg_n-ntr{_ntr}-focal{_focal}"] = _db(reweight="cb", cb_mode="average_n", ntr=_ntr, focal=_focal)
for _mode in ("average_w", "min_n"):
    CASES[f"db-cb-{_mode}"] = _db(reweight="cb", cb_mode=_mode, cb_beta=0.999)
CASES["db-custom"] = _db(
    alpha=0.3, beta=5.0, mu=0.5, kappa=0.2, neg_scale=3.0, gamma=1.5, balance_param=0.7, loss_weight=2.0
)
CASES["db-neg_scale<1"] = _db(neg_scale=0.5, weight_norm="by_batch")

# Presets: get_loss with the training labels given as counts, and their reference.
PRESET_REFS = {
    "bce": lambda y, z: R.bce(y, z),
    "wbce": lambda y, z: R.bce(y, z, R.pos_weight_from_counts(COUNTS, N, (1.0, 100.0))),
    "focal": lambda y, z: R.focal(y, z, 2.0, 0.5),
    "cb": lambda y, z: R.class_balanced(y, z, COUNTS, beta=0.9, gamma=2.0, base="focal", alpha=0.5),
    "db": lambda y, z: R.distribution_balanced(y, z, COUNTS, N, mu=L.DEFAULT_MU),
    "ntr-focal": lambda y, z: R.distribution_balanced(y, z, COUNTS, N, reweight=None),
    "cb-ntr": lambda y, z: R.distribution_balanced(y, z, COUNTS, N, reweight="cb", cb_beta=0.9),
    "db-no-focal": lambda y, z: R.distribution_balanced(y, z, COUNTS, N, mu=L.DEFAULT_MU, focal=False),
}
assert tuple(PRESET_REFS) == L.LOSS_NAMES
for _name, _ref in PRESET_REFS.items():
    CASES[f"preset-{_name}"] = (lambda n=_name: L.get_loss(n, class_counts=COUNTS, num_samples=N), _ref)


@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference_value_and_gradient(case):
    factory, ref = CASES[case]
    loss = factory()
    # per-sample values (reduction=None) against the reference
    per_sample = loss.from_config({**loss.get_config(), "reduction": None})
    got = _np(per_sample(Y, Z))
    want = ref(Y64, Z64)
    assert got.shape == (Y.shape[0],)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    # the reduced loss and its gradient w.r.t. the logits
    value, grad = _grad(loss, Y, Z)
    np.testing.assert_allclose(float(value), want.mean(), rtol=RTOL, atol=ATOL)
    want_grad = R.numeric_grad(lambda z: ref(Y64, z), Z64) / Y.shape[0]
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, want_grad, rtol=RTOL, atol=ATOL)


def test_functional_forms_match_classes():
    cases = [
        (L.binary_crossentropy(Y, Z, pos_weight=PW), L.BinaryCrossentropy(pos_weight=PW, reduction=None)),
        (L.focal_loss(Y, Z, gamma=1.0, alpha=0.4), L.FocalLoss(1.0, 0.4, reduction=None)),
        (
            L.class_balanced_loss(Y, Z, COUNTS, beta=0.99, mode="min_n"),
            L.ClassBalancedLoss(COUNTS, beta=0.99, mode="min_n", reduction=None),
        ),
        (
            L.distribution_balanced_loss(Y, Z, COUNTS, N, weight_norm="by_instance", mu=0.8),
            L.DistributionBalancedLoss(COUNTS, N, weight_norm="by_instance", mu=0.8, reduction=None),
        ),
    ]
    for functional, loss in cases:
        np.testing.assert_array_equal(_np(functional), _np(loss(Y, Z)))


def test_presets_are_consistent_with_the_general_form():
    # "focal" and "cb" are the ResampleLoss form without NTR (balance_param 0.5 == alpha 0.5)
    pairs = [
        (L.get_loss("focal"), L.DistributionBalancedLoss(COUNTS, N, reweight=None, ntr=False)),
        (
            L.get_loss("cb", class_counts=COUNTS),
            L.DistributionBalancedLoss(COUNTS, N, reweight="cb", ntr=False),
        ),
        (L.get_loss("bce"), L.DistributionBalancedLoss(COUNTS, N, reweight=None, ntr=False, focal=False)),
    ]
    for a, b in pairs:
        np.testing.assert_allclose(_np(a(Y, Z)), _np(b(Y, Z)), rtol=1e-6, atol=1e-7)


def test_sample_weight():
    sw = np.linspace(0.0, 2.0, Y.shape[0]).astype(np.float32)
    loss = L.get_loss("db", class_counts=COUNTS, num_samples=N)
    want = np.sum(sw * PRESET_REFS["db"](Y64, Z64)) / Y.shape[0]
    np.testing.assert_allclose(_np(loss(Y, Z, sample_weight=sw)), want, rtol=RTOL, atol=ATOL)
    loss = L.get_loss("cb", class_counts=COUNTS, reduction="mean_with_sample_weight")
    want = np.sum(sw * PRESET_REFS["cb"](Y64, Z64)) / sw.sum()
    np.testing.assert_allclose(_np(loss(Y, Z, sample_weight=sw)), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", L.LOSS_NAMES)
def test_extreme_inputs_are_finite(name):
    rng = np.random.default_rng(1)
    y = (rng.random((6, C)) < 0.5).astype(np.float32)
    y[0] = 0.0
    y[:, 0] = 1.0  # the never-seen label positive everywhere
    z = rng.choice([-1e4, -200.0, -88.0, 0.0, 88.0, 200.0, 1e4], size=(6, C)).astype(np.float32)
    loss = L.get_loss(name, class_counts=COUNTS, num_samples=N)
    value, grad = _grad(loss, y, z)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(float(value), PRESET_REFS[name](y.astype(np.float64), z.astype(np.float64)).mean(), rtol=RTOL)


# --------------------------------------------------------------------------
# Compiled graphs (jax.jit / tf.function; torch runs eagerly).
# --------------------------------------------------------------------------


def _compiled(fn):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn  # torch: eager (torch.compile is not exercised here)


@pytest.mark.parametrize("name", L.LOSS_NAMES)
def test_compiled_matches_reference(name):
    loss = L.get_loss(name, class_counts=COUNTS, num_samples=N)
    ref = PRESET_REFS[name]
    per_sample = L.get_loss(name, class_counts=COUNTS, num_samples=N, reduction="none")
    got = _np(_compiled(lambda y, z: per_sample(y, z))(keras.ops.convert_to_tensor(Y), keras.ops.convert_to_tensor(Z)))
    np.testing.assert_allclose(got, ref(Y64, Z64), rtol=RTOL, atol=ATOL)
    if BACKEND == "jax":
        import jax

        grad = np.asarray(jax.jit(jax.grad(lambda z: loss(Y, z)))(Z))
        want_grad = R.numeric_grad(lambda z: ref(Y64, z), Z64) / Y.shape[0]
        np.testing.assert_allclose(grad, want_grad, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------
# Half precision.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", L.LOSS_NAMES)
def test_half_precision_close_to_float32(name, dtype):
    y, z = make_data(seed=3, batch=16, huge=False, scale=2.0)
    full = L.get_loss(name, class_counts=COUNTS, num_samples=N, reduction="none")
    half = L.get_loss(name, class_counts=COUNTS, num_samples=N, reduction="none", dtype=dtype)
    want = _np(full(y, z))
    out = half(y, z)  # the Loss casts both inputs to its dtype
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    got = _np(out)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-3)
    # half-precision logits fed to a float32 loss (mixed-precision models)
    got = _np(full(y, keras.ops.cast(z, dtype)))
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-3)
    # huge logits stay finite in half precision too
    assert np.all(np.isfinite(_np(half(Y, np.clip(Z, -6e4, 6e4)))))


def test_functional_keeps_half_dtype():
    z16 = keras.ops.cast(Z, "bfloat16")
    out = L.distribution_balanced_loss(Y, z16, COUNTS, N)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert np.all(np.isfinite(_np(out)))


# --------------------------------------------------------------------------
# Serialisation.
# --------------------------------------------------------------------------

NON_DEFAULT = [
    L.BinaryCrossentropy(pos_weight=PW, reduction="sum", name="b", dtype="float16"),
    L.FocalLoss(gamma=1.0, alpha=None),
    L.ClassBalancedLoss(COUNTS, beta=0.99, gamma=0.5, base="bce", mode="average_w", alpha=0.3),
    L.DistributionBalancedLoss(
        np.array(COUNTS),
        np.int64(N),
        reweight="sqrt_inverse",
        weight_norm="by_batch",
        alpha=0.2,
        beta=4.0,
        mu=0.75,
        ntr=False,
        kappa=0.1,
        neg_scale=3.0,
        focal=False,
        gamma=1.0,
        balance_param=1.0,
        cb_beta=0.5,
        cb_mode="min_n",
        loss_weight=3.0,
        dtype="bfloat16",
    ),
]


def _all_losses():
    return NON_DEFAULT + [L.get_loss(n, class_counts=COUNTS, num_samples=N) for n in L.LOSS_NAMES]


@pytest.mark.parametrize("index", range(len(NON_DEFAULT) + len(L.LOSS_NAMES)))
def test_config_round_trip(index):
    loss = _all_losses()[index]
    config = loss.get_config()
    assert json.loads(json.dumps(config)) == config  # plain Python values only
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    ser = keras.saving.serialize_keras_object(loss)
    back = keras.saving.deserialize_keras_object(json.loads(json.dumps(ser)))
    assert type(back) is type(loss)
    assert back.get_config() == config
    assert back.dtype == loss.dtype
    np.testing.assert_array_equal(_np(back(Y, Z)), _np(loss(Y, Z)))


def test_config_holds_every_constructor_argument():
    import inspect

    for loss in NON_DEFAULT:
        params = set(inspect.signature(type(loss).__init__).parameters) - {"self"}
        assert params == set(loss.get_config())


@pytest.mark.parametrize("name", L.LOSS_NAMES)
def test_model_fit_save_load_keeps_training(name, tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8)).astype(np.float32)
    y = (rng.random((16, C)) < 0.3).astype(np.float32)
    y[:, 0] = 0.0  # a label with no training example
    y[:, 1] = 1.0  # a label on every training example
    y[5] = 0.0  # a row with no positive label
    loss = L.get_loss(name, y_train=y)
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(C)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    history = loaded.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# --------------------------------------------------------------------------
# Helpers, factory and validation (backend-independent, cheap).
# --------------------------------------------------------------------------


def test_pos_weight_from_counts():
    got = L.pos_weight_from_counts(COUNTS, N, clip=(0.5, 20.0))
    np.testing.assert_allclose(got, R.pos_weight_from_counts(COUNTS, N, (0.5, 20.0)))
    assert got[0] == 20.0  # n_c = 0 -> upper clip
    assert all(isinstance(v, float) for v in got)
    with pytest.raises(ValueError, match="Expected clip"):
        L.pos_weight_from_counts(COUNTS, N, clip=3.0)


def test_class_balanced_weights_and_ntr_bias():
    w = np.array(L.class_balanced_weights(COUNTS, beta=0.99))
    np.testing.assert_allclose(w.sum(), C)
    np.testing.assert_allclose(w, R.cb_weights(np.zeros((1, C)), COUNTS, 0.99, "by_class")[0])
    b = np.array(L.ntr_bias(COUNTS, N, kappa=0.05))
    np.testing.assert_allclose(b, R.ntr_bias(COUNTS, N, 0.05))
    assert np.all(np.isfinite(b))
    assert b[0] < 0 < b[1]  # never-seen label pushed down, ubiquitous label pushed up


def test_auto_mu():
    # rows [1, 0] and [1, 1], counts [2, 1]: r = 1, 1/3, 2/3 -> mean 2/3, median 2/3
    assert L.auto_mu([[1, 0], [1, 1]]) == pytest.approx(2.0 / 3.0)
    rng = np.random.default_rng(5)
    y = (rng.random((200, 12)) < rng.random(12) * 0.4).astype(np.float32)
    y[:3] = 0.0
    assert L.auto_mu(y) == pytest.approx(R.auto_mu(y), rel=1e-12)
    with pytest.raises(ValueError, match="at least one positive"):
        L.auto_mu(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Expected y_train"):
        L.auto_mu([1, 0, 1])


def test_get_loss_resolves_mu_and_counts_from_y_train():
    rng = np.random.default_rng(2)
    y = (rng.random((50, 5)) < 0.3).astype(np.float32)
    loss = L.get_loss("db", y_train=y)
    config = loss.get_config()
    assert config["mu"] == pytest.approx(R.auto_mu(y))
    assert config["class_counts"] == y.sum(axis=0).tolist()
    assert config["num_samples"] == 50.0
    # without y_train "auto" falls back to DEFAULT_MU; an explicit mu wins over y_train
    assert L.get_loss("db", class_counts=COUNTS, num_samples=N).mu == L.DEFAULT_MU == 0.9
    assert L.get_loss("db", y_train=y, mu=0.7).mu == 0.7
    assert L.DistributionBalancedLoss(COUNTS, N, mu="auto").get_config()["mu"] == 0.9


def test_get_loss_names_and_defaults():
    assert L.LOSS_NAMES == ("bce", "wbce", "focal", "cb", "db", "ntr-focal", "cb-ntr", "db-no-focal")
    expected = {
        "bce": L.BinaryCrossentropy,
        "wbce": L.BinaryCrossentropy,
        "focal": L.FocalLoss,
        "cb": L.ClassBalancedLoss,
    }
    for name in L.LOSS_NAMES:
        loss = L.get_loss(name.upper(), class_counts=COUNTS, num_samples=N)
        assert type(loss) is expected.get(name, L.DistributionBalancedLoss)
        assert loss.name == name.replace("-", "_")
    db = L.get_loss("db", class_counts=COUNTS, num_samples=N).get_config()
    assert (db["reweight"], db["alpha"], db["beta"], db["kappa"], db["neg_scale"], db["gamma"]) == (
        "rebalance",
        0.1,
        10.0,
        0.05,
        2.0,
        2.0,
    )
    assert (db["ntr"], db["focal"], db["balance_param"], db["weight_norm"]) == (True, True, 0.5, None)
    assert L.get_loss("ntr-focal", class_counts=COUNTS, num_samples=N).reweight is None
    cb_ntr = L.get_loss("cb-ntr", class_counts=COUNTS, num_samples=N)
    assert (cb_ntr.reweight, cb_ntr.ntr, cb_ntr.focal) == ("cb", True, True)
    no_focal = L.get_loss("db-no-focal", class_counts=COUNTS, num_samples=N)
    assert (no_focal.reweight, no_focal.ntr, no_focal.focal) == ("rebalance", True, False)
    assert L.get_loss("wbce", class_counts=COUNTS, num_samples=N).pos_weight == L.pos_weight_from_counts(
        COUNTS, N, clip=(1.0, 100.0)
    )
    assert L.get_loss_defaults("focal") == {"gamma": 2.0, "alpha": 0.5}


def test_get_loss_coerces_cli_strings():
    loss = L.get_loss(
        "db",
        class_counts=COUNTS,
        num_samples=N,
        alpha="0.2",
        ntr="false",
        focal="1",
        weight_norm="by_instance",
        reweight="None",
        mu="0.7",
        neg_scale=3,
        reduction="sum",
    )
    config = loss.get_config()
    assert config["alpha"] == 0.2 and config["ntr"] is False and config["focal"] is True
    assert config["weight_norm"] == "by_instance" and config["reweight"] is None
    assert config["mu"] == 0.7 and config["neg_scale"] == 3.0 and config["reduction"] == "sum"
    assert L.get_loss("focal", alpha="none").alpha is None
    assert L.get_loss("db", class_counts=COUNTS, num_samples=N, mu="auto").mu == L.DEFAULT_MU
    wbce = L.get_loss("wbce", class_counts=COUNTS, num_samples=N, clip_min="0.5", clip_max="2")
    assert max(wbce.pos_weight) == 2.0 and min(wbce.pos_weight) == 0.5


def test_get_loss_errors():
    with pytest.raises(ValueError, match=r"Expected loss to be one of \[.*'db-no-focal'\], Received: 'xyz'"):
        L.get_loss("xyz")
    with pytest.raises(ValueError, match=r"Expected parameters of loss 'focal' to be among \[.*'gamma'.*\], Received: \['beta'\]"):
        L.get_loss("focal", beta=0.5)
    with pytest.raises(ValueError, match="Expected parameter 'gamma' of loss 'focal' to be a float, Received: 'abc'"):
        L.get_loss("focal", gamma="abc")
    with pytest.raises(ValueError, match="Expected parameter 'ntr' of loss 'db' to be a bool"):
        L.get_loss("db", class_counts=COUNTS, num_samples=N, ntr="maybe")
    with pytest.raises(ValueError, match="Expected parameter 'weight_norm' of loss 'db' to be one of"):
        L.get_loss("db", class_counts=COUNTS, num_samples=N, weight_norm="by_row")
    with pytest.raises(ValueError, match="Expected class_counts and num_samples"):
        L.get_loss("db")
    with pytest.raises(ValueError, match="Expected class_counts and num_samples"):
        L.get_loss("wbce", class_counts=COUNTS)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: L.ClassBalancedLoss(COUNTS, beta=1.0), "Expected beta"),
        (lambda: L.ClassBalancedLoss(COUNTS, mode="max_n"), "Expected mode to be one of"),
        (lambda: L.ClassBalancedLoss([1, -2]), "Expected class_counts to hold finite non-negative"),
        (lambda: L.ClassBalancedLoss([]), "Expected class_counts to be a non-empty"),
        (lambda: L.DistributionBalancedLoss(COUNTS, N, neg_scale=0.0), "Expected neg_scale"),
        (lambda: L.DistributionBalancedLoss(COUNTS, 0), "Expected num_samples"),
        (lambda: L.DistributionBalancedLoss(COUNTS, N, reweight="inv"), "Expected reweight to be one of"),
        (lambda: L.DistributionBalancedLoss(COUNTS, N, ntr="yes"), "Expected ntr to be True or False"),
        (lambda: L.DistributionBalancedLoss(COUNTS, N, mu="0.9"), "Expected mu to be a number"),
        (lambda: L.FocalLoss(alpha=1.5), "Expected alpha"),
        (lambda: L.FocalLoss(gamma=float("nan")), "Expected gamma"),
        (lambda: L.BinaryCrossentropy(pos_weight=[1.0, 0.0]), "Expected pos_weight to hold finite positive"),
    ],
)
def test_constructor_validation(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_class_count_mismatch_is_reported():
    loss = L.get_loss("db", class_counts=COUNTS[:5], num_samples=N)
    with pytest.raises(ValueError, match=r"Expected logits with 5 classes .*Received: logits of shape \(8, 7\)"):
        loss(Y, Z)
