#!/usr/bin/env python3
"""Where a TF-IDF MLP training step spends its time (JAX): the first layer's forward and
backward pass, and Adam's update of all its weights, for three layouts of the sparse input.

The first layer is a 20,000 x 512 kernel (10.2M weights) on a TF-IDF vector with about 121
non-zeros per document (Reuters' mean), followed by a 512 x 90 output layer. Layouts:

* padded:  ids and weights [batch, K], each row padded to K (kmlc's current sparse input pads
           to the next power of two >= the batch's longest document, so K is often 512-1024
           although the mean is 121), gather + batched vector-matrix product;
* flat:    the batch's non-zeros in one vector (padded to a power of two), gather, scale and
           segment-sum per document: cost follows the real non-zeros;
* dense:   the [batch, 20,000] vector and a matrix product.

For each, the median time of a jitted gradient (forward + backward) and of a full step
(gradient + Adam over every weight). The difference is Adam's share, which no input layout
changes: it touches all 10.4M weights every step, so fewer, larger steps (or row-sparse
updates) are what can make training much faster.

    python benchmarks/first_layer_step.py [--repeats 20]
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

VOCABULARY, UNITS, LABELS, MEAN_NONZEROS = 20_000, 512, 90, 121


def _adam(params, grads, m, v, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    params = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, m, v)
    return params, m, v


def _head(params, hidden, y):
    return jnp.mean((jax.nn.relu(hidden) @ params["out"] - y) ** 2)


def loss_padded(params, ids, weights, y):
    rows = jnp.take(params["kernel"], ids, axis=0)  # [batch, K, units]
    return _head(params, jnp.einsum("bk,bku->bu", weights, rows), y)


def loss_flat(params, ids, weights, rows, y):
    gathered = jnp.take(params["kernel"], ids, axis=0) * weights[:, None]
    return _head(params, jax.ops.segment_sum(gathered, rows, num_segments=y.shape[0]), y)


def loss_dense(params, x, y):
    return _head(params, x @ params["kernel"], y)


def _timed(function, args, repeats):
    jax.block_until_ready(function(*args))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-sizes", default="32,256")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    params = {
        "kernel": jnp.asarray(rng.normal(size=(VOCABULARY, UNITS)).astype(np.float32) * 0.01),
        "out": jnp.asarray(rng.normal(size=(UNITS, LABELS)).astype(np.float32) * 0.01),
    }
    zeros = jax.tree.map(jnp.zeros_like, params)

    def grad_of(loss):
        return jax.jit(jax.grad(loss))

    def step_of(loss):
        @jax.jit
        def step(params, m, v, *inputs):
            return _adam(params, jax.grad(loss)(params, *inputs), m, v)

        return step

    results = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        y = jnp.zeros((batch, LABELS))
        nonzeros = batch * MEAN_NONZEROS
        cases = {}
        for width in (128, 1024):
            ids = rng.integers(0, VOCABULARY, size=(batch, width)).astype(np.int32)
            cases[f"padded K={width}"] = (loss_padded, (ids, rng.random((batch, width)).astype(np.float32), y))
        size = 1 << int(np.ceil(np.log2(nonzeros)))
        ids, weights, rows = np.zeros(size, np.int32), np.zeros(size, np.float32), np.zeros(size, np.int32)
        ids[:nonzeros] = rng.integers(0, VOCABULARY, size=nonzeros)
        weights[:nonzeros] = rng.random(nonzeros)
        rows[:nonzeros] = np.sort(rng.integers(0, batch, size=nonzeros))
        cases[f"flat T={size}"] = (loss_flat, (ids, weights, rows, y))
        cases["dense"] = (loss_dense, (jnp.zeros((batch, VOCABULARY)), y))
        for name, (loss, inputs) in cases.items():
            grad_ms = _timed(grad_of(loss), (params, *inputs), args.repeats)
            step_ms = _timed(step_of(loss), (params, zeros, zeros, *inputs), args.repeats)
            row = {"batch": batch, "layout": name, "grad_ms": round(grad_ms, 1), "step_ms": round(step_ms, 1),
                   "adam_share": round(max(step_ms - grad_ms, 0.0) / step_ms, 2)}
            results.append(row)
            print(json.dumps(row), flush=True)

    print("\n| batch | layout | gradient ms | step ms (gradient + Adam) | Adam's share |")
    print("|---|---|--:|--:|--:|")
    for r in results:
        print(f"| {r['batch']} | {r['layout']} | {r['grad_ms']} | {r['step_ms']} | {r['adam_share']:.0%} |")


if __name__ == "__main__":
    main()
