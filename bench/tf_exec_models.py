#!/usr/bin/env python3
"""Writes the graphs bench/exec_bench and bench/tf_session_run.py run.

TensorFlow (tf.compat.v1 graph mode) builds two inference graphs, gives their
variables seeded random values, and writes each with Saver.save
(<dir>/<model>/model.meta + model.index + model.data-*):

  iris  the inference graph of TF 1.x's canned DNNClassifier for Iris, with
        its node names: 4 float placeholders [?] (SepalLength, SepalWidth,
        PetalLength, PetalWidth), the input layer (ExpandDims each feature,
        ConcatV2 in sorted name order), dnn/hiddenlayer_0 and _1 (10 units,
        MatMul + BiasAdd + Relu), dnn/logits (3), and the head's
        dnn/head/predictions/probabilities (Softmax) and
        dnn/head/predictions/class_ids (ArgMax). Ref variables (VariableV2),
        as Estimator wrote them.
  cnn   a small MNIST-style CNN: x [?,28,28,1], conv 3x3x32 SAME + relu,
        max_pool 2x2, conv 3x3x64 SAME + relu, max_pool 2x2, reshape,
        dense 128 relu, dense 10, softmax. Resource variables (VarHandleOp /
        ReadVariableOp), as TF 2's compat.v1 layers write them.

The inputs and TF's own outputs go into one more TF checkpoint,
<dir>/io (tf.raw_ops.SaveV2), so both benchmark sides read the same values
and can check their answers against TF's:
  <model>/feeds, <model>/fetches   string vectors: tensor names to feed/fetch
  <model>/batches                  int64 vector: the batch sizes (1, 100)
  <model>/flops_per_example        int64 scalar: multiply-adds x 2 of the
                                   MatMuls and Conv2Ds (for the reports'
                                   "distance from the compute limit")
  <model>/b<N>/feed_<i>            the i-th feed's value at batch N
  <model>/b<N>/fetch_<j>           TF's value of the j-th fetch at batch N
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

v1 = tf.compat.v1
BATCHES = [1, 100]
IRIS_FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]


def dense(h, n_in, n_out, scope, relu, use_resource):
    with v1.variable_scope(scope):
        k = v1.get_variable("kernel", [n_in, n_out], initializer=v1.glorot_uniform_initializer(),
                            use_resource=use_resource)
        b = v1.get_variable("bias", [n_out], initializer=v1.random_normal_initializer(0, 0.1),
                            use_resource=use_resource)
        h = tf.nn.bias_add(tf.matmul(h, k), b)
        return tf.nn.relu(h) if relu else h


def build_iris():
    feeds = {f: v1.placeholder(tf.float32, [None], name=f) for f in IRIS_FEATURES}
    v1.train.get_or_create_global_step()
    with v1.variable_scope("dnn"):
        with v1.variable_scope("input_from_feature_columns/input_layer"):
            cols = [tf.expand_dims(feeds[f], -1, name=f + "/ExpandDims")
                    for f in sorted(IRIS_FEATURES)]
            h = tf.concat(cols, 1, name="concat")
        h = dense(h, 4, 10, "hiddenlayer_0", True, False)
        h = dense(h, 10, 10, "hiddenlayer_1", True, False)
        logits = dense(h, 10, 3, "logits", False, False)
    with v1.name_scope("dnn/head/predictions"):
        probs = tf.nn.softmax(logits, name="probabilities")
        class_ids = tf.argmax(logits, axis=-1, name="class_ids")
    return [feeds[f] for f in IRIS_FEATURES], [probs, class_ids]


def iris_inputs(data, n, rng):
    rows = data[rng.choice(len(data), n, replace=n > len(data))]
    return [rows[:, i].astype(np.float32) for i in range(4)]


def build_cnn():
    x = v1.placeholder(tf.float32, [None, 28, 28, 1], name="x")
    v1.train.get_or_create_global_step()
    h = x
    for i, (cin, cout) in enumerate([(1, 32), (32, 64)]):
        with v1.variable_scope(f"conv{i}"):
            k = v1.get_variable("kernel", [3, 3, cin, cout],
                                initializer=v1.glorot_uniform_initializer(), use_resource=True)
            b = v1.get_variable("bias", [cout], initializer=v1.random_normal_initializer(0, 0.1),
                                use_resource=True)
            h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, k, [1, 1, 1, 1], "SAME"), b))
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.reshape(h, [-1, 7 * 7 * 64])
    h = dense(h, 7 * 7 * 64, 128, "dense0", True, True)
    logits = dense(h, 128, 10, "logits", False, True)
    return [x], [tf.nn.softmax(logits, name="probabilities")]


# 2 x multiply-adds per example of the layers above.
FLOPS = {
    "iris": 2 * (4 * 10 + 10 * 10 + 10 * 3),
    "cnn": 2 * (28 * 28 * 32 * 3 * 3 * 1 + 14 * 14 * 64 * 3 * 3 * 32 + 7 * 7 * 64 * 128 + 128 * 10),
}


def write_model(out_dir, name, build, make_inputs, io):
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1)
        feeds, fetches = build()
        init = v1.global_variables_initializer()
        saver = v1.train.Saver()
    os.makedirs(os.path.join(out_dir, name), exist_ok=True)
    with v1.Session(graph=g) as sess:
        sess.run(init)
        saver.save(sess, os.path.join(out_dir, name, "model"))
        io[f"{name}/feeds"] = np.array([t.name.encode() for t in feeds], dtype=object)
        io[f"{name}/fetches"] = np.array([t.name.encode() for t in fetches], dtype=object)
        io[f"{name}/batches"] = np.array(BATCHES, dtype=np.int64)
        io[f"{name}/flops_per_example"] = np.array(FLOPS[name], dtype=np.int64)
        for n in BATCHES:
            values = make_inputs(n)
            got = sess.run(fetches, dict(zip(feeds, values)))
            for i, v in enumerate(values):
                io[f"{name}/b{n}/feed_{i}"] = v
            for j, v in enumerate(got):
                io[f"{name}/b{n}/fetch_{j}"] = v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="data/iris/iris_training.csv")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    data = np.loadtxt(args.data, delimiter=",", skiprows=1, dtype=np.float64)[:, :4]
    rng = np.random.default_rng(7)
    io = {}
    write_model(args.out, "iris", build_iris, lambda n: iris_inputs(data, n, rng), io)
    write_model(args.out, "cnn", build_cnn,
                lambda n: [rng.random((n, 28, 28, 1), dtype=np.float32)], io)
    names = sorted(io)
    tf.raw_ops.SaveV2(prefix=os.path.join(args.out, "io"), tensor_names=names,
                      shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(io[k]) for k in names])


if __name__ == "__main__":
    main()
