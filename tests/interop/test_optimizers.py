"""ckpt::Optimizer against TensorFlow's tf.compat.v1.train optimizers.

The same float32 variable and gradients go through three training steps in
TF1 graph mode (apply_gradients, as the canned estimators' minimize does)
and through ckpt (ckpt_optimizer_driver). Variables, slots and non-slot
variables must agree to float32 rounding, and TF's slot variables must have
the names ckpt reports (which become checkpoint keys).
"""

import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, tf

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_optimizer_driver"

INIT = np.array([1.0, -0.5, 2.0, 0.25, 0.0], np.float32)
GRADS = np.array([[0.5, -1.0, 0.25, 0.0, 3.0],
                  [0.1, 2.0, -0.75, 0.0, -0.2],
                  [-0.3, 0.5, 0.25, 1.5, 0.01]], np.float32)

# name given to ckpt -> (TF1 optimizer factory, [(ckpt slot name, TF slot name)],
#                        [non-slot names])
CASES = {
    "SGD": (lambda: tf.compat.v1.train.GradientDescentOptimizer(0.05), [], []),
    "Adagrad": (lambda: tf.compat.v1.train.AdagradOptimizer(0.05),
                [("Adagrad", "accumulator")], []),
    "Adam": (lambda: tf.compat.v1.train.AdamOptimizer(0.05),
             [("Adam", "m"), ("Adam_1", "v")], ["beta1_power", "beta2_power"]),
    "RMSProp": (lambda: tf.compat.v1.train.RMSPropOptimizer(0.05),
                [("RMSProp", "rms"), ("RMSProp_1", "momentum")], []),
    "Ftrl": (lambda: tf.compat.v1.train.FtrlOptimizer(0.05),
             [("Ftrl", "accum"), ("Ftrl_1", "linear")], []),
}


def run_tf(make_optimizer, slot_pairs, non_slots):
    graph = tf.Graph()
    with graph.as_default():
        var = tf.compat.v1.get_variable("w", initializer=tf.constant(INIT), use_resource=False)
        grad = tf.compat.v1.placeholder(tf.float32, INIT.shape)
        opt = make_optimizer()
        train_op = opt.apply_gradients([(grad, var)])
        slots = {ours: opt.get_slot(var, theirs) for ours, theirs in slot_pairs}
        extras = {}
        if non_slots:
            b1, b2 = opt._get_beta_accumulators()
            extras = {"beta1_power": b1, "beta2_power": b2}
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for g in GRADS:
                sess.run(train_op, {grad: g})
            out = {"var": sess.run(var)}
            for name, slot in slots.items():
                out["slot " + name] = sess.run(slot)
                out["slotname " + name] = slot.op.name
            for name, v in extras.items():
                out["nonslot " + name] = np.atleast_1d(sess.run(v))
                out["nonslotname " + name] = v.op.name
    return out


def run_ckpt(name):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_optimizer_driver")
    lines = [f"{INIT.size} {len(GRADS)}", " ".join(repr(float(x)) for x in INIT)]
    lines += [" ".join(repr(float(x)) for x in g) for g in GRADS]
    proc = subprocess.run([str(DRIVER), name, "0.05"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        tok = line.split()
        if tok[0] == "var":
            out["var"] = np.array(tok[1:], np.float32)
        else:
            out[f"{tok[0]} {tok[1]}"] = np.array(tok[2:], np.float32)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_three_steps_match_tensorflow(name):
    make, slot_pairs, non_slots = CASES[name]
    theirs = run_tf(make, slot_pairs, non_slots)
    ours = run_ckpt(name)
    expected_keys = {"var"} | {"slot " + s for s, _ in slot_pairs} | {
        "nonslot " + n for n in non_slots}
    assert set(ours) == expected_keys, f"ckpt reported {sorted(ours)}"
    assert not np.array_equal(theirs["var"], INIT), "TF did not move the variable"
    for key in sorted(expected_keys):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-6, atol=1e-7,
                                   err_msg=f"{name}: {key}")
    # TF's slot variables are named "<var>/<slot name>": the checkpoint keys
    # ckpt's slot names stand for.
    for ours_name, _ in slot_pairs:
        assert theirs["slotname " + ours_name] == "w/" + ours_name
    for n in non_slots:
        assert theirs["nonslotname " + n] == n
