"""Independent NumPy (float64) reference for the losses of `kmlc.losses`.

Written straight from the formulas (probability-space notation, explicit
loops where that is clearer), without sharing code with `kmlc.losses`.
Every function returns per-sample losses (mean over classes), shape [batch].
`numeric_grad` gives d(sum of a scalar function)/d(logits) by float64
central finite differences.
"""

import numpy as np

# The same documented clip as kmlc.losses.NTR_RATIO_CLIP (part of the spec).
NTR_RATIO_CLIP = (1e-6, 1e6)


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def log_sigmoid(x):
    return -softplus(-x)


def bce_elementwise(y, z):
    """-[y log p + (1 - y) log(1 - p)], p = sigmoid(z)."""
    return -(y * log_sigmoid(z) + (1.0 - y) * log_sigmoid(-z))


def bce(y, z, pos_weight=None):
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
    elem = -(pw * y * log_sigmoid(z) + (1.0 - y) * log_sigmoid(-z))
    return elem.mean(axis=-1)


def pos_weight_from_counts(counts, n, clip):
    counts = np.asarray(counts, dtype=np.float64)
    out = []
    for c in counts:
        out.append(clip[1] if c == 0 else min(max(n / (len(counts) * c), clip[0]), clip[1]))
    return np.array(out)


def focal_elementwise(y, z, gamma, alpha):
    """torchvision-style: alpha_t (1 - p_t)^gamma ce, p_t = p y + (1 - p)(1 - y)."""
    p = sigmoid(z)
    ce = bce_elementwise(y, z)
    p_t = p * y + (1.0 - p) * (1.0 - y)
    a_t = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
    return a_t * (1.0 - p_t) ** gamma * ce


def focal(y, z, gamma=2.0, alpha=0.25):
    return focal_elementwise(y, z, gamma, alpha).mean(axis=-1)


def effective_number(n, beta):
    return (1.0 - beta**n) / (1.0 - beta)


def cb_weights(y, counts, beta, mode):
    """[batch, C] class-balanced weights (counts < 1 -> 1; rows w/o positives -> by_class)."""
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    C = n.size
    raw = 1.0 / effective_number(n, beta)
    s = C / raw.sum()
    by_class = raw * s
    W = np.empty(y.shape)
    for i in range(y.shape[0]):
        pos = np.flatnonzero(y[i] > 0)
        if pos.size == 0 or mode == "by_class":
            W[i] = by_class
        elif mode == "average_n":
            n_avg = np.sum(y[i, pos] * n[pos]) / np.sum(y[i, pos])
            W[i] = s / effective_number(n_avg, beta)
        elif mode == "average_w":
            W[i] = np.sum(y[i, pos] * by_class[pos]) / np.sum(y[i, pos])
        elif mode == "min_n":
            W[i] = s / effective_number(n[pos].min(), beta)
        else:
            raise ValueError(mode)
    return W


def class_balanced(y, z, counts, beta=0.9999, gamma=2.0, base="focal", mode="by_class", alpha=None):
    W = cb_weights(y, counts, beta, mode)
    if base == "focal":
        elem = focal_elementwise(y, z, gamma, alpha)
    else:
        elem = bce_elementwise(y, z)
    return (W * elem).mean(axis=-1)


def rebalance_weights(y, counts, alpha, beta, mu):
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    W = np.empty(y.shape)
    for i in range(y.shape[0]):
        p_inst = sum(y[i, j] / n[j] for j in range(n.size))
        for c in range(n.size):
            r = (1.0 / n[c]) / p_inst if p_inst > 0 else 1.0
            W[i, c] = alpha + 1.0 / (1.0 + np.exp(-beta * (r - mu)))
    return W


def ntr_bias(counts, n_total, kappa):
    out = []
    for c in np.asarray(counts, dtype=np.float64):
        ratio = np.inf if c == 0 else n_total / c - 1.0
        out.append(-kappa * np.log(min(max(ratio, NTR_RATIO_CLIP[0]), NTR_RATIO_CLIP[1])))
    return np.array(out)


def distribution_balanced(
    y,
    z,
    counts,
    n_total,
    reweight="rebalance",
    weight_norm=None,
    alpha=0.1,
    beta=10.0,
    mu=0.9,
    ntr=True,
    kappa=0.05,
    neg_scale=2.0,
    focal=True,
    gamma=2.0,
    balance_param=0.5,
    cb_beta=0.9,
    cb_mode="by_class",
    loss_weight=1.0,
):
    """ResampleLoss form: weights -> logit regularisation -> (focal) weighted BCE."""
    counts = np.asarray(counts, dtype=np.float64)
    n = np.maximum(counts, 1.0)
    if reweight is None:
        W = np.ones(y.shape)
    elif reweight == "rebalance":
        W = rebalance_weights(y, counts, alpha, beta, mu)
    elif reweight == "inverse":
        W = np.broadcast_to((1.0 / n) / np.mean(1.0 / n), y.shape).copy()
    elif reweight == "sqrt_inverse":
        W = np.broadcast_to((1.0 / np.sqrt(n)) / np.mean(1.0 / np.sqrt(n)), y.shape).copy()
    elif reweight == "cb":
        W = cb_weights(y, counts, cb_beta, cb_mode)
    else:
        raise ValueError(reweight)
    if reweight is not None and weight_norm == "by_instance":
        W = W / W.max(axis=1, keepdims=True)
    elif reweight is not None and weight_norm == "by_batch":
        W = W / W.max()

    if ntr:
        zr = z + ntr_bias(counts, n_total, kappa)[None, :]
        lam = neg_scale
        # negatives: logits scaled by lambda, weights divided by lambda
        zz = zr * y + lam * zr * (1.0 - y)
        WW = W * y + W / lam * (1.0 - y)
    else:
        zz, WW = z, W
    bce_u = bce_elementwise(y, zz)
    if focal:
        p_t = np.exp(-bce_u)
        elem = balance_param * (1.0 - p_t) ** gamma * WW * bce_u
    else:
        elem = WW * bce_u
    return loss_weight * elem.mean(axis=-1)


def auto_mu(y_train):
    y = np.asarray(y_train, dtype=np.float64)
    n = np.maximum(y.sum(axis=0), 1.0)
    rs = []
    for i in range(y.shape[0]):
        p_inst = np.sum(y[i] / n)
        for c in np.flatnonzero(y[i] > 0):
            rs.append((1.0 / n[c]) / p_inst)
    rs = np.array(rs)
    return (rs.mean() + np.median(rs)) / 2.0


def numeric_grad(per_sample, z):
    """d(sum_i per_sample(z)_i)/dz by float64 central differences.

    Each sample's loss depends only on its own row of logits (the weights
    depend on the labels only), so the difference is taken on that row's
    loss alone, which keeps round-off small next to huge logits.
    """
    z = np.asarray(z, dtype=np.float64)
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        h = 1e-5 * max(1.0, abs(z[idx]))
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        g[idx] = (per_sample(zp)[idx[0]] - per_sample(zm)[idx[0]]) / (zp[idx] - zm[idx])
    return g
