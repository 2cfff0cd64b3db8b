"""TF1-style models that TensorFlow builds, trains a few steps and saves with
`tf.compat.v1.train.Saver.save` (which writes the `.meta`), for
test_graph_exec.py: ckpt imports each `.meta`, restores through the imported
Saver and must reproduce TensorFlow's `session.run`.

TF 2.21 ships Keras 3, so `tf.compat.v1.layers` is gone ("`dense` is not
available with Keras 3"). The layer-style parts below build what those layers
built, by hand: the same variable names (`<layer>/kernel`, `<layer>/bias`,
`gamma`/`beta`/`moving_mean`/`moving_variance`) and the same op types
(MatMul + BiasAdd + activation, Conv2D + BiasAdd, FusedBatchNormV3 or the
non-fused Rsqrt/Mul/Sub/AddV2 form). `tf.compat.v1.feature_column` still
exists and is used as TF 1.x's canned estimators used it.

Run as a script for the op coverage report:
    python tests/interop/exec_models.py [OUT_DIR]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
tf.get_logger().setLevel("ERROR")

REPO = pathlib.Path(__file__).resolve().parents[2]
IRIS = REPO / "data" / "iris"
IRIS_FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]

Feeds = Dict[str, np.ndarray]


@dataclass
class Model:
    """A saved model: `prefix` (+ ".meta"), a feed maker and the fetches."""

    name: str
    prefix: str
    make_feeds: Callable[[int], Feeds]  # batch size -> {tensor name: value}
    fetches: List[str]
    notes: Dict[str, object] = field(default_factory=dict)

    @property
    def meta(self) -> str:
        return self.notes.get("meta", self.prefix + ".meta")


# ------------------------------------------------------------------ helpers

def _rng(seed):
    return np.random.default_rng(seed)


def _dense(x, units, name, activation=None, partitioner=None, initializer=None):
    """What tf.compat.v1.layers.dense built for a rank-2 input."""
    with v1.variable_scope(name, partitioner=partitioner):
        kernel = v1.get_variable("kernel", [x.shape[-1], units],
                                 initializer=initializer or v1.glorot_uniform_initializer())
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return activation(y) if activation is not None else y


def _conv(x, filters, size, name, strides=1, padding="SAME", dilations=1, activation=None):
    """What tf.compat.v1.layers.conv2d built (NHWC)."""
    with v1.variable_scope(name):
        kernel = v1.get_variable("kernel", [size, size, x.shape[-1], filters],
                                 initializer=v1.glorot_uniform_initializer())
        bias = v1.get_variable("bias", [filters], initializer=v1.constant_initializer(0.05))
        y = tf.nn.conv2d(x, kernel, strides=strides, padding=padding, dilations=dilations)
        y = tf.nn.bias_add(y, bias)
        return activation(y) if activation is not None else y


def _variables(resource=False):
    """A root variable scope making get_variable's variables ref variables
    (VariableV2, TF 1.x's default) or resource variables (VarHandleOp)."""
    return v1.variable_scope(v1.get_variable_scope(), use_resource=resource)


def _save(sess, saver, out_dir, name="model.ckpt", global_step=None):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return saver.save(sess, str(out_dir / name), global_step=global_step)


def _train(sess, train_op, feeds_fn, steps, extra=()):
    for step in range(steps):
        sess.run([train_op, *extra], feeds_fn(step))


# ------------------------------------------------------------------ 1. MLP

def build_mlp(out_dir, resource=False, v1_format=False, steps=5) -> Model:
    """The seed's network: placeholder 'input', op 'output_layer/output'.
    A PlaceholderWithDefault 'scale' (default 1) multiplies the last hidden
    layer; dropout with 'keep_prob' (default 1) after the second. `resource` makes every variable a resource variable (and adds an
    embedding lookup: ResourceGather); `v1_format` saves a V1 checkpoint."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(1)
        x = v1.placeholder(tf.float32, [None, 8], name="input")
        y = v1.placeholder(tf.float32, [None, 3], name="labels")
        scale = v1.placeholder_with_default(tf.constant(1.0), [], name="scale")

        def var(name, shape, stddev=0.5):
            if resource:
                return v1.get_variable(name, shape, use_resource=True,
                                       initializer=v1.random_normal_initializer(stddev=stddev))
            return v1.Variable(v1.random_normal(shape, stddev=stddev), name=name,
                               use_resource=False)

        with tf.name_scope("hidden_1"):
            h = tf.nn.relu(tf.matmul(x, var("w1", [8, 16])) + var("b1", [16], 0.1))
        with tf.name_scope("hidden_2"):
            h = tf.tanh(tf.matmul(h, var("w2", [16, 12])) + var("b2", [12], 0.1))
        # The seed-era dropout: keep_prob fed in training, 1 by default.
        keep_prob = v1.placeholder_with_default(1.0, [], name="keep_prob")
        h = v1.nn.dropout(h, keep_prob=keep_prob)
        with tf.name_scope("hidden_3"):
            h = tf.sigmoid(tf.matmul(h, var("w3", [12, 10])) + var("b3", [10], 0.1)) * scale
        extra_fetches = []
        if resource:
            ids = v1.placeholder(tf.int32, [None], name="ids")
            emb = var("emb", [20, 10])
            h = h + tf.nn.embedding_lookup(emb, ids, name="embedded")
        with tf.name_scope("output_layer"):
            model_y = tf.matmul(h, var("w5", [10, 3]), name="output")
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=model_y))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        version = v1.train.SaverDef.V1 if v1_format else v1.train.SaverDef.V2
        saver = v1.train.Saver(write_version=version)
        rng = _rng(11)
        xs = rng.normal(size=(64, 8)).astype(np.float32)
        ys = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 64)]
        id_vals = rng.integers(0, 20, 64).astype(np.int32)

        def train_feeds(step):
            d = {x: xs, y: ys}
            if resource:
                d[ids] = id_vals
            return d

        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            _train(sess, train_op, train_feeds, steps)
            prefix = _save(sess, saver, out_dir)

    def feeds(batch):
        r = _rng(100 + batch)
        d = {"input:0": r.normal(size=(batch, 8)).astype(np.float32)}
        if resource:
            d["ids:0"] = r.integers(0, 20, batch).astype(np.int32)
        return d

    name = "mlp" + ("_resource" if resource else "") + ("_v1" if v1_format else "")
    fetches = ["output_layer/output:0", "hidden_1/Relu:0"] + extra_fetches
    return Model(name, prefix, feeds, fetches, {"train_op": "train"})


# ------------------------------------------------------------------ 2. CNN

def build_cnn(out_dir, steps=3) -> Model:
    """conv2d SAME/VALID, a stride 2, a dilation, depthwise, max/avg pool
    SAME and VALID, two flatten spellings, dense, softmax."""
    graph = tf.Graph()
    with graph.as_default(), _variables():
        v1.set_random_seed(2)
        x = v1.placeholder(tf.float32, [None, 16, 16, 3], name="input")
        labels = v1.placeholder(tf.int64, [None], name="labels")
        h = _conv(x, 8, 3, "conv1", activation=tf.nn.relu)                        # 16x16x8
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool1")                       # 8x8
        # TF's CPU kernels have no dilated Conv2D backprop: no gradient flows
        # through this layer (its kernel keeps its initial values).
        h = _conv(h, 8, 3, "conv_dilated", dilations=2, activation=tf.nn.relu)    # 8x8
        h = tf.stop_gradient(h)
        h = tf.nn.avg_pool2d(h, 2, 1, "VALID", name="pool2")                       # 7x7
        with v1.variable_scope("conv2"):  # raw tf.nn, stride 2, VALID
            k = v1.get_variable("w", [3, 3, 8, 12], initializer=v1.glorot_uniform_initializer())
            h = tf.nn.relu6(tf.nn.conv2d(h, k, strides=[1, 2, 2, 1], padding="VALID"))  # 3x3x12
        h = tf.nn.max_pool2d(h, 3, 2, "SAME", name="pool3")                        # 2x2x12
        with v1.variable_scope("depthwise"):
            k = v1.get_variable("w", [2, 2, 12, 2], initializer=v1.glorot_uniform_initializer())
            h = tf.nn.elu(tf.nn.depthwise_conv2d(h, k, [1, 1, 1, 1], "SAME"))      # 2x2x24
        h = tf.nn.avg_pool2d(h, 2, 1, "SAME", name="pool4")                        # 2x2x24
        flat_a = tf.reshape(h, [-1, 96], name="flatten_static")
        flat_b = tf.reshape(h, tf.stack([tf.shape(h)[0], -1]), name="flatten")  # layers.flatten
        flat_b.set_shape([None, 96])
        logits = _dense(flat_a, 10, "dense") + _dense(flat_b, 10, "dense_b")
        logits = tf.identity(logits, name="logits")
        probs = tf.nn.softmax(logits, name="probs")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = v1.train.MomentumOptimizer(0.05, 0.9).minimize(loss, name="train")
        saver = v1.train.Saver()
        rng = _rng(21)
        xs = rng.normal(size=(32, 16, 16, 3)).astype(np.float32)
        ls = rng.integers(0, 10, 32)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            _train(sess, train_op, lambda s: {x: xs, labels: ls}, steps)
            prefix = _save(sess, saver, out_dir)

    def feeds(batch):
        return {"input:0": _rng(200 + batch).normal(size=(batch, 16, 16, 3)).astype(np.float32)}

    return Model("cnn", prefix, feeds, ["probs:0", "logits:0", "pool1:0", "conv2/Relu6:0"],
                 {"train_op": "train"})


# ------------------------------------------------------------ 3. batch norm

def _batch_norm(x, name, training, fused, momentum=0.5, epsilon=1e-3, updates=True):
    """tf.compat.v1.layers.batch_normalization's variables and ops;
    `training` True adds the moving-average updates to UPDATE_OPS (unless
    `updates` is False)."""
    channels = x.shape[-1]
    with v1.variable_scope(name, reuse=v1.AUTO_REUSE):
        gamma = v1.get_variable("gamma", [channels], initializer=v1.ones_initializer())
        beta = v1.get_variable("beta", [channels], initializer=v1.zeros_initializer())
        mean = v1.get_variable("moving_mean", [channels], initializer=v1.zeros_initializer(),
                               trainable=False)
        var = v1.get_variable("moving_variance", [channels], initializer=v1.ones_initializer(),
                              trainable=False)
    if fused:
        if training:
            y, bmean, bvar = v1.nn.fused_batch_norm(x, gamma, beta, epsilon=epsilon,
                                                   is_training=True)
        else:
            y, _, _ = v1.nn.fused_batch_norm(x, gamma, beta, mean=mean, variance=var,
                                             epsilon=epsilon, is_training=False)
    else:
        axes = list(range(len(x.shape) - 1))
        if training:
            bmean, bvar = tf.nn.moments(x, axes)
            y = tf.nn.batch_normalization(x, bmean, bvar, beta, gamma, epsilon)
        else:
            y = tf.nn.batch_normalization(x, mean, var, beta, gamma, epsilon)
    if training and updates:
        for moving, batch in ((mean, bmean), (var, bvar)):
            update = v1.assign_sub(moving, (moving - batch) * (1 - momentum))
            v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, update)
    return y


def build_batch_norm(out_dir, steps=4) -> Model:
    """Fused (FusedBatchNormV3 on NHWC) and non-fused batch norm, trained in
    training mode (moving stats move), fetched from the inference tower."""
    graph = tf.Graph()
    with graph.as_default(), _variables():
        v1.set_random_seed(3)
        x = v1.placeholder(tf.float32, [None, 8, 8, 4], name="input")
        target = v1.placeholder(tf.float32, [None, 5])

        def tower(training, updates=True):
            with v1.variable_scope("model", reuse=v1.AUTO_REUSE):
                h = _conv(x, 6, 3, "conv")
                h = tf.nn.relu(_batch_norm(h, "batch_normalization", training, fused=True,
                                           updates=updates))
                h = tf.reduce_mean(h, axis=[1, 2])
                h = _dense(h, 5, "dense")
                h = _batch_norm(h, "batch_normalization_1", training, fused=False,
                                updates=updates)
            return h

        train_out = tower(True)
        infer_out = tf.identity(tower(False), name="output")
        # layers.batch_normalization(training=<bool tensor>): a cond between
        # the two modes, written with TF 1.x's control flow (Switch/Merge).
        is_training = v1.placeholder_with_default(False, [], name="is_training")
        v1.disable_control_flow_v2()
        try:
            cond_out = v1.cond(is_training, lambda: tower(True, updates=False),
                               lambda: tower(False))
        finally:
            v1.enable_control_flow_v2()
        tf.identity(cond_out, name="output_cond")
        loss = tf.reduce_mean(tf.square(train_out - target))
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            train_op = v1.train.AdamOptimizer(0.01).minimize(loss, name="train")
        saver = v1.train.Saver()
        rng = _rng(31)
        xs = (rng.normal(size=(16, 8, 8, 4)) * 2 + 1).astype(np.float32)
        ts = rng.normal(size=(16, 5)).astype(np.float32)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            _train(sess, train_op, lambda s: {x: xs, target: ts}, steps)
            moving = {v.op.name: sess.run(v) for v in v1.global_variables()
                      if "moving_" in v.op.name}
            prefix = _save(sess, saver, out_dir)

    def feeds(batch):
        return {"input:0": (_rng(300 + batch).normal(size=(batch, 8, 8, 4)) * 2 + 1)
                .astype(np.float32)}

    return Model("batch_norm", prefix, feeds, ["output:0", "output_cond:0"], {"moving": moving})


# ---------------------------------------------------- 4. partitioned, sharded

def build_partitioned(out_dir, steps=3) -> Model:
    """fixed_size_partitioner and min_max_variable_partitioner variables,
    embedding_lookup over partitioned variables ('mod' and 'div'), sharded
    Saver."""
    graph = tf.Graph()
    with graph.as_default(), _variables():
        v1.set_random_seed(4)
        x = v1.placeholder(tf.float32, [None, 6], name="input")
        ids = v1.placeholder(tf.int64, [None], name="ids")
        init = v1.random_normal_initializer(stddev=0.5)
        with v1.variable_scope("fixed", partitioner=v1.fixed_size_partitioner(3)):
            w = v1.get_variable("w", [6, 10], initializer=init)       # parts of 2 rows
            emb = v1.get_variable("emb", [40, 4], initializer=init)   # 14, 13, 13 rows
        partitioner = v1.min_max_variable_partitioner(max_partitions=4, min_slice_size=64)
        with v1.variable_scope("minmax", partitioner=partitioner):
            table = v1.get_variable("table", [40, 8], initializer=init)  # 4 x 10 rows
        y = tf.matmul(x, w)
        e = v1.nn.embedding_lookup(emb, ids)  # partition_strategy "mod"
        e2 = v1.nn.embedding_lookup(table, ids, partition_strategy="div")
        out = tf.concat([y, e, e2], axis=1, name="output")
        loss = tf.reduce_sum(tf.square(out))
        train_op = v1.train.GradientDescentOptimizer(0.01).minimize(loss, name="train")
        saver = v1.train.Saver(sharded=True)
        rng = _rng(41)
        xs = rng.normal(size=(16, 6)).astype(np.float32)
        id_vals = rng.integers(0, 40, 16)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            _train(sess, train_op, lambda s: {x: xs, ids: id_vals}, steps)
            parts = sorted(v.op.name for v in v1.global_variables())
            prefix = _save(sess, saver, out_dir)

    def feeds(batch):
        r = _rng(400 + batch)
        return {"input:0": r.normal(size=(batch, 6)).astype(np.float32),
                "ids:0": r.integers(0, 40, batch).astype(np.int64)}

    return Model("partitioned", prefix, feeds, ["output:0"], {"variables": parts})


# ------------------------------------------------ 6. canned-estimator graphs

def iris(which="training"):
    data = np.loadtxt(IRIS / f"iris_{which}.csv", delimiter=",", skiprows=1)
    return data[:, :4].astype(np.float32), data[:, 4].astype(np.int64)


def _head_predictions(logits, n_classes):
    """TF 1.x's canned heads' prediction ops (head.py), inside the 'head'
    name scope of the model."""
    with tf.name_scope("predictions"):
        if n_classes == 2:
            logistic = tf.sigmoid(logits, name="logistic")
            two_class_logits = tf.concat([tf.zeros_like(logits), logits], axis=-1,
                                         name="two_class_logits")
            probabilities = tf.nn.softmax(two_class_logits, name="probabilities")
            class_ids = tf.argmax(two_class_logits, axis=-1, name="class_ids")
        else:
            logistic = None
            probabilities = tf.nn.softmax(logits, name="probabilities")
            class_ids = tf.argmax(logits, axis=-1, name="class_ids")
        class_ids = tf.expand_dims(class_ids, axis=-1)
        classes = tf.strings.as_string(class_ids, name="str_classes")
        batch_size = tf.shape(logits)[0]
        all_class_ids = tf.tile(tf.expand_dims(tf.range(n_classes), axis=0),
                                [batch_size, 1], name="all_class_ids")
        all_classes = tf.strings.as_string(all_class_ids, name="all_classes")
    return logistic, probabilities, class_ids, classes, all_class_ids, all_classes


def _canned_train(head_scope, logits, labels, n_classes, optimizer):
    with tf.name_scope(head_scope):
        preds = _head_predictions(logits, n_classes)
        if n_classes == 2:
            loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(tf.expand_dims(labels, -1), tf.float32), logits=logits))
        else:
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits))
        train_op = optimizer.minimize(loss, global_step=v1.train.get_global_step())
    return preds, train_op


def build_canned(out_dir, kind="dnn", n_classes=3, steps=60) -> Model:
    """DNNClassifier (`kind` 'dnn') or LinearClassifier ('linear') as TF 1.x's
    canned estimators name the graph, on Iris (n_classes 2: setosa or not)."""
    graph = tf.Graph()
    with graph.as_default(), _variables():
        v1.set_random_seed(6)
        global_step = v1.train.get_or_create_global_step()
        features = {k: v1.placeholder(tf.float32, [None], name=k) for k in IRIS_FEATURES}
        labels = v1.placeholder(tf.int64, [None], name="labels")
        columns = [tf.feature_column.numeric_column(k) for k in IRIS_FEATURES]
        units = 1 if n_classes == 2 else n_classes
        if kind == "dnn":
            partitioner = v1.min_max_variable_partitioner(max_partitions=1)
            with v1.variable_scope("dnn", partitioner=partitioner):
                with v1.variable_scope(
                        "input_from_feature_columns",
                        partitioner=v1.min_max_variable_partitioner(
                            max_partitions=1, min_slice_size=64 << 20)):
                    net = v1.feature_column.input_layer(features, columns)
                for i, width in enumerate((10, 10)):
                    net = _dense(net, width, f"hiddenlayer_{i}", activation=tf.nn.relu)
                    with tf.name_scope(f"hiddenlayer_{i}/"):
                        v1.summary.scalar("fraction_of_zero_values", tf.math.zero_fraction(net))
                        v1.summary.histogram("activation", net)
                logits = _dense(net, units, "logits")
            optimizer = v1.train.AdagradOptimizer(0.1)
        else:
            with v1.variable_scope("linear"):
                logits = v1.feature_column.linear_model(features, columns, units=units)
            optimizer = v1.train.FtrlOptimizer(0.2)
        with tf.name_scope(kind + "/"):
            preds, train_op = _canned_train("head", logits, labels, n_classes, optimizer)
        saver = v1.train.Saver(sharded=True)
        xs, ys = iris("training")
        if n_classes == 2:
            ys = (ys == 0).astype(np.int64)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            feeds = {features[k]: xs[:, i] for i, k in enumerate(IRIS_FEATURES)}
            feeds[labels] = ys
            _train(sess, train_op, lambda s: feeds, steps)
            prefix = _save(sess, saver, out_dir, global_step=global_step)

    def make_feeds(batch):
        test_x, _ = iris("test")
        reps = -(-batch // len(test_x))
        rows = np.concatenate([test_x] * reps)[:batch]
        return {f"{k}:0": rows[:, i].copy() for i, k in enumerate(IRIS_FEATURES)}

    fetches = [t.name for t in preds if t is not None] + [logits.name]
    return Model(f"{kind}{n_classes}", prefix, make_feeds, fetches)


# ------------------------------------------------- 7. feature columns

def _words(rng, n):
    """[n, 2] strings; '' is a missing value, as categorical columns treat it."""
    vocab = np.array([b"", b"cat", b"dog", b"a longer word than sixteen bytes", b"x" * 70],
                     dtype=object)
    words = vocab[rng.integers(0, len(vocab), (n, 2))]
    words[0] = b""
    return words


def build_feature_columns(out_dir, steps=5) -> Model:
    """tf.feature_column's dense paths over non-string features:
    bucketized_column (Bucketize), embedding_column over an identity
    categorical column (Where, GatherNd, SparseFillEmptyRows, SparseReshape,
    SparseSegmentMean / SqrtN / Sum), indicator_column, and an embedding of a
    hash-bucket column over strings (StringToHashBucketFast), into a dense
    layer. Id -1 and '' are "missing" (the sparse row stays empty)."""
    fc = tf.feature_column
    graph = tf.Graph()
    with graph.as_default(), _variables():
        v1.set_random_seed(7)
        id_keys = ("id", "id_b", "id_c")
        features = {"x": v1.placeholder(tf.float32, [None], name="x")}
        for k in id_keys:
            features[k] = v1.placeholder(tf.int64, [None, 2], name=k)
        features["word"] = v1.placeholder(tf.string, [None, 2], name="word")
        target = v1.placeholder(tf.float32, [None, 1])
        ids = [fc.categorical_column_with_identity(k, 10) for k in id_keys]
        columns = [fc.bucketized_column(fc.numeric_column("x"), [-1.0, 0.0, 0.5, 2.0]),
                   fc.embedding_column(ids[0], 3, combiner="mean"),
                   fc.embedding_column(ids[1], 2, combiner="sqrtn"),
                   fc.embedding_column(ids[2], 2, combiner="sum"),
                   fc.indicator_column(ids[0]),
                   fc.embedding_column(fc.categorical_column_with_hash_bucket("word", 20), 3)]
        with v1.variable_scope("input_from_feature_columns"):
            net = v1.feature_column.input_layer(features, columns)
        net = tf.identity(net, name="input_layer_out")
        out = tf.identity(_dense(net, 1, "logits"), name="output")
        loss = tf.reduce_mean(tf.square(out - target))
        train_op = v1.train.AdagradOptimizer(0.1).minimize(loss, name="train")
        saver = v1.train.Saver()
        rng = _rng(71)

        def train_feeds(_):
            d = {features[k]: rng.integers(-1, 10, (32, 2)) for k in id_keys}
            d[features["x"]] = rng.normal(size=32).astype(np.float32)
            d[features["word"]] = _words(rng, 32)
            d[target] = rng.normal(size=(32, 1)).astype(np.float32)
            return d

        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            _train(sess, train_op, train_feeds, steps)
            prefix = _save(sess, saver, out_dir)

    def feeds(batch):
        r = _rng(700 + batch)
        d = {"x:0": r.normal(size=batch).astype(np.float32)}
        for k in ("id", "id_b", "id_c"):
            d[k + ":0"] = r.integers(-1, 10, (batch, 2))
            d[k + ":0"][0] = -1  # a row with no ids: SparseFillEmptyRows' default row
        d["word:0"] = _words(r, batch)
        return d

    return Model("feature_columns", prefix, feeds, ["output:0", "input_layer_out:0"],
                 {"train_op": "train"})


# ------------------------------------------------------------------ oracle

def tf_run(meta, prefix, feeds: Feeds, fetches: Sequence[str], targets: Sequence[str] = ()):
    """The seed's three steps in TF: import the .meta, restore `prefix`
    through the imported Saver, run."""
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(meta)
        with v1.Session(graph=graph) as sess:
            if prefix is not None:
                saver.restore(sess, prefix)
            out = sess.run(list(fetches) + list(targets), feeds)
    return out[:len(fetches)]


def export_other_forms(model: Model, out_dir, outputs: Sequence[str]):
    """Re-export a saved model the two other ways TF1 users shipped it: a
    SavedModel (tag 'serve', variables/variables) and a frozen GraphDef
    (variables folded into Consts by convert_variables_to_constants), binary
    and text. Returns (saved_model_dir, frozen.pb, frozen.pbtxt)."""
    out_dir = pathlib.Path(out_dir)
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(model.meta)
        with v1.Session(graph=graph) as sess:
            saver.restore(sess, model.prefix)
            saved = out_dir / "saved_model"
            builder = v1.saved_model.Builder(str(saved))
            builder.add_meta_graph_and_variables(sess, [v1.saved_model.tag_constants.SERVING])
            builder.save()
            frozen = v1.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), [o.split(":")[0] for o in outputs])
    v1.train.write_graph(frozen, str(out_dir), "frozen.pb", as_text=False)
    v1.train.write_graph(frozen, str(out_dir), "frozen.pbtxt", as_text=True)
    return saved, out_dir / "frozen.pb", out_dir / "frozen.pbtxt"


def inference_op_types(meta, fetches) -> Dict[str, List[str]]:
    """Op type -> nodes, over the subgraph the fetches need (TF's
    extract_sub_graph: no feed cuts) plus the restore subgraph."""
    graph = tf.Graph()
    with graph.as_default():
        v1.train.import_meta_graph(meta)
    graph_def = graph.as_graph_def()
    roots = [f.split(":")[0] for f in fetches]
    sub = v1.graph_util.extract_sub_graph(graph_def, roots)
    ops: Dict[str, List[str]] = {}
    for node in sub.node:
        ops.setdefault(node.op, []).append(node.name)
    return ops


def ckpt_supported_ops(repo=REPO) -> set:
    """The op types src/ops/registry.cc lists plus those the session runs
    itself (src/exec/session.cc's executor set). Used only for the coverage
    report before `ckpt graph --ops` exists."""
    reg = (repo / "src" / "ops" / "registry.cc").read_text()
    ops = set(re.findall(r'\{"([A-Za-z0-9]+)",', reg))
    session = (repo / "src" / "exec" / "session.cc").read_text()
    block = re.search(r"kOps = \{(.*?)\};", session, re.S)
    if block:
        ops |= set(re.findall(r'"([A-Za-z0-9]+)"', block.group(1)))
    return ops


def build_all(out_dir) -> Dict[str, Model]:
    out_dir = pathlib.Path(out_dir)
    models = [
        build_mlp(out_dir / "mlp"),
        build_mlp(out_dir / "mlp_v1", v1_format=True),
        build_mlp(out_dir / "mlp_resource", resource=True),
        build_cnn(out_dir / "cnn"),
        build_batch_norm(out_dir / "bn"),
        build_partitioned(out_dir / "partitioned"),
        build_canned(out_dir / "dnn3", "dnn", 3),
        build_canned(out_dir / "dnn2", "dnn", 2),
        build_canned(out_dir / "linear3", "linear", 3),
        build_feature_columns(out_dir / "feature_columns"),
    ]
    return {m.name: m for m in models}


def main(argv):
    import tempfile
    out = pathlib.Path(argv[1]) if len(argv) > 1 else pathlib.Path(tempfile.mkdtemp())
    supported = ckpt_supported_ops()
    missing_all = {}
    for name, model in build_all(out).items():
        ops = inference_op_types(model.meta, model.fetches)
        missing = sorted(set(ops) - supported)
        print(f"{name}: {len(ops)} op types, {len(ops) - len(missing)} supported; "
              f"missing: {missing}")
        for op in missing:
            missing_all.setdefault(op, []).append(name)
    print("missing overall:", {k: v for k, v in sorted(missing_all.items())})


if __name__ == "__main__":
    import sys
    main(sys.argv)
