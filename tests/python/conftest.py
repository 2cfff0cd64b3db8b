"""Fixtures of the Python package tests (tests/python): TensorFlow imported
once per session, and the package under test imported from the venv it was
installed into (scripts/test.sh installs it with pip)."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tf():
    import tensorflow as tf
    return tf


@pytest.fixture(scope="session")
def ckpt():
    import ckpt
    return ckpt
