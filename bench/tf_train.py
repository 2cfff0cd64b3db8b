#!/usr/bin/env python3
"""TensorFlow side of bench/train_bench: Iris DNNClassifier steps per second.

Same network and optimizer as ckpt's DnnClassifierModel (and TF 1.8's canned
DNNClassifier in premade_estimator.py): 4 float features, Dense(10, relu),
Dense(10, relu), Dense(3) logits, glorot-uniform kernels, zero biases,
sparse softmax cross-entropy reduced with SUM, Adagrad(lr 0.05, initial
accumulator 0.1), batch 100 from data/iris/iris_training.csv through
shuffle(1000), repeat, batch(100).

Variants (each: --warmup untimed steps, then --steps timed, --reps times):
  keras_train_on_batch  Keras 3 model.compile(Adagrad, SUM loss) +
                        model.train_on_batch(x, y) on numpy batches made
                        before timing (6 batches of the shuffled pipeline,
                        reused round-robin, as train_bench's step_only).
  keras_tf_function     the same Keras model and optimizer, one training step
                        as a tf.function (jit_compile=False): GradientTape,
                        loss, optimizer.apply_gradients; same batches as
                        tf.constant.
  v1_session            tf.compat.v1 graph mode, the closest to TF 1.8's
                        Estimator: an in-graph tf.data pipeline (shuffle,
                        repeat, batch) feeding the network,
                        tf.compat.v1.train.AdagradOptimizer(0.05,
                        initial_accumulator_value=0.1).minimize(loss,
                        global_step), one session.run(train_op) per step.
Writes JSON: {"tf_version":..., "results": [{"name":..., "steps":...,
"steps_per_sec": [...]}]}.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

BATCH = 100


def load_iris(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return data[:, :4].astype(np.float32), data[:, 4].astype(np.int64)


def fixed_batches(x, y, n=6):
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=7)
          .repeat().batch(BATCH))
    return [(bx.numpy(), by.numpy()) for bx, by in ds.take(n)]


def keras_model():
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(4,)),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(3),
    ])
    opt = tf.keras.optimizers.Adagrad(learning_rate=0.05, initial_accumulator_value=0.1)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    return model, opt, loss


def timed(step, warmup, steps):
    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def run_train_on_batch(batches, warmup, steps):
    model, opt, loss = keras_model()
    model.compile(optimizer=opt, loss=loss)
    i = [0]

    def step():
        bx, by = batches[i[0] % len(batches)]
        i[0] += 1
        model.train_on_batch(bx, by)
    return timed(step, warmup, steps)


def run_tf_function(batches, warmup, steps):
    model, opt, loss_fn = keras_model()
    tb = [(tf.constant(bx), tf.constant(by)) for bx, by in batches]

    @tf.function(jit_compile=False)
    def train_step(bx, by):
        with tf.GradientTape() as tape:
            loss = loss_fn(by, model(bx, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    i = [0]

    def step():
        bx, by = tb[i[0] % len(tb)]
        i[0] += 1
        train_step(bx, by)
    return timed(step, warmup, steps)


def run_v1_session(x, y, warmup, steps):
    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1)
        ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=7)
              .repeat().batch(BATCH))
        bx, by = v1.data.make_one_shot_iterator(ds).get_next()
        gs = v1.train.get_or_create_global_step()
        h = bx
        init = v1.glorot_uniform_initializer()
        for i, (n_in, n_out) in enumerate([(4, 10), (10, 10), (10, 3)]):
            name = f"dnn/hiddenlayer_{i}" if i < 2 else "dnn/logits"
            with v1.variable_scope(name):
                k = v1.get_variable("kernel", [n_in, n_out], initializer=init)
                b = v1.get_variable("bias", [n_out], initializer=v1.zeros_initializer())
            h = tf.matmul(h, k) + b
            if i < 2:
                h = tf.nn.relu(h)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=by, logits=h))
        opt = v1.train.AdagradOptimizer(0.05, initial_accumulator_value=0.1)
        train_op = opt.minimize(loss, global_step=gs)
        init_op = v1.global_variables_initializer()
    with v1.Session(graph=g) as sess:
        sess.run(init_op)
        return timed(lambda: sess.run(train_op), warmup, steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tf.random.set_seed(1)
    x, y = load_iris(args.data)
    batches = fixed_batches(x, y)
    runs = {
        "keras_train_on_batch": lambda: run_train_on_batch(batches, args.warmup, args.steps),
        "keras_tf_function": lambda: run_tf_function(batches, args.warmup, args.steps),
        "v1_session": lambda: run_v1_session(x, y, args.warmup, args.steps),
    }
    results = {name: [] for name in runs}
    for _ in range(args.reps):  # interleaved, so a slow period hits every variant
        for name, fn in runs.items():
            results[name].append(fn())
            print(f"tf_train: {name} {results[name][-1]:.0f} steps/s", file=sys.stderr)
    out = {"tf_version": tf.__version__, "keras_version": tf.keras.__version__
           if hasattr(tf.keras, "__version__") else "?",
           "python": sys.version.split()[0],
           "results": [{"name": n, "steps": args.steps, "warmup": args.warmup,
                        "steps_per_sec": v} for n, v in results.items()]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
