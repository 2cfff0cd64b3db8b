"""CheckpointManager and Saver against TensorFlow's, and read_events on
files written by tf.summary."""

import os

import numpy as np
import pytest


def checkpoint_files(directory):
    return sorted(f for f in os.listdir(directory) if f != "checkpoint")


@pytest.mark.parametrize("max_to_keep", [1, 3, None])
def test_checkpoint_manager_retention_matches_tf(tf, ckpt, tmp_path, max_to_keep):
    theirs_dir, ours_dir = tmp_path / "tf", tmp_path / "ckpt"
    w = tf.Variable(np.zeros(3, np.float32))
    tf_manager = tf.train.CheckpointManager(tf.train.Checkpoint(w=w), str(theirs_dir),
                                            max_to_keep=max_to_keep, checkpoint_name="model")
    manager = ckpt.CheckpointManager(ours_dir, max_to_keep=max_to_keep, checkpoint_name="model")
    numbers = [None, None, 10, None, 20, None]
    for i, number in enumerate(numbers):
        value = np.full(3, i, np.float32)
        w.assign(value)
        theirs = tf_manager.save(checkpoint_number=number)
        ours = manager.save({"w": value}, checkpoint_number=number)
        assert os.path.basename(ours) == os.path.basename(theirs)
        assert [os.path.basename(p) for p in manager.checkpoints] == \
            [os.path.basename(p) for p in tf_manager.checkpoints]
    assert checkpoint_files(ours_dir) == checkpoint_files(theirs_dir)
    assert manager.latest_checkpoint == ckpt.latest_checkpoint(ours_dir)
    assert os.path.basename(tf.train.latest_checkpoint(str(ours_dir))) == \
        os.path.basename(tf_manager.latest_checkpoint)
    # TensorFlow restores what we wrote into a tf.train.Checkpoint.
    restored = tf.Variable(np.zeros(3, np.float32))
    tf.train.Checkpoint(w=restored).restore(manager.latest_checkpoint).assert_consumed()
    np.testing.assert_array_equal(restored.numpy(), np.full(3, len(numbers) - 1))
    # A new manager carries on the retention from the state file.
    again = ckpt.CheckpointManager(ours_dir, max_to_keep=max_to_keep, checkpoint_name="model")
    assert again.checkpoints == manager.checkpoints


def test_saver_matches_tf1_saver(tf, ckpt, tmp_path):
    theirs_dir, ours_dir = tmp_path / "tf", tmp_path / "ckpt"
    theirs_dir.mkdir()
    saver = ckpt.Saver(max_to_keep=2)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        v = tf.compat.v1.Variable(np.zeros(2, np.float64), name="v")
        sess.run(tf.compat.v1.global_variables_initializer())
        tf_saver = tf.compat.v1.train.Saver([v], max_to_keep=2)
        for step in (1, 2, 3):
            v.load(np.full(2, step, np.float64), sess)
            theirs = tf_saver.save(sess, str(theirs_dir / "model"), global_step=step,
                                   write_meta_graph=False)
            ours = saver.save({"v": np.full(2, step, np.float64)}, ours_dir / "model",
                              global_step=step)
            assert os.path.basename(ours) == os.path.basename(theirs)
        assert [os.path.basename(p) for p in saver.last_checkpoints] == \
            [os.path.basename(p) for p in tf_saver.last_checkpoints]
    assert checkpoint_files(ours_dir) == checkpoint_files(theirs_dir)
    np.testing.assert_array_equal(tf.train.load_variable(str(ours_dir), "v"), [3.0, 3.0])
    with pytest.raises(ckpt.InvalidArgumentError, match="w"):
        saver.save({"w": np.zeros(2)}, ours_dir / "model", global_step=4)
    with pytest.raises(ckpt.InvalidArgumentError, match="v"):
        saver.save({"v": np.zeros(3)}, ours_dir / "model", global_step=4)


def test_read_events_matches_tf(tf, ckpt, tmp_path):
    logdir = str(tmp_path / "logs")
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for step in range(3):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
            tf.summary.write("matrix", tf.constant([[step, 1], [2, 3]], tf.int64), step=step)
    writer.close()
    ours = list(ckpt.read_events(logdir))
    (event_file,) = os.listdir(logdir)
    theirs = []
    for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, event_file)):
        for value in event.summary.value:
            theirs.append((value.tag, event.step, event.wall_time,
                           tf.make_ndarray(value.tensor)))
    assert len(ours) == len(theirs) == 6
    for (tag, step, wall_time, value), (t_tag, t_step, t_wall, t_value) in zip(ours, theirs):
        assert (tag, step, wall_time) == (t_tag, t_step, t_wall)
        if tag == "loss":
            assert isinstance(value, float) and value == pytest.approx(float(t_value), rel=1e-7)
        else:
            assert value.dtype == t_value.dtype
            np.testing.assert_array_equal(value, t_value)
    with pytest.raises(ckpt.NotFoundError):
        list(ckpt.read_events(str(tmp_path / "nothing")))
