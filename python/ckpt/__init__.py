"""ckpt: read and write TensorFlow checkpoints without TensorFlow.

The API follows TensorFlow's spelling (tf.train.load_checkpoint,
list_variables, load_variable, latest_checkpoint, Saver, CheckpointManager);
docs/python.md describes it.
"""

import os
import sys
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Tuple,
                    Union)

import numpy as np


def _load_extension():
    # TensorFlow loads its libraries with RTLD_GLOBAL, and they export their
    # own (different) protobuf; imported after it, our module would bind to
    # those symbols and crash. RTLD_DEEPBIND makes the module and the
    # libraries it loads prefer their own symbols.
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if not deepbind:
        from . import _ckpt
        return _ckpt
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | deepbind)
    try:
        from . import _ckpt
    finally:
        sys.setdlopenflags(flags)
    return _ckpt


_ckpt = _load_extension()
from ._dtypes import DType
from . import _dtypes, _errors
from ._errors import *  # noqa: F401,F403  (Error and one class per code)
from ._errors import Error, InvalidArgumentError

__version__: str = _ckpt.__version__

PathLike = Union[str, "os.PathLike[str]"]


def _key(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)


def _to_numpy(entry) -> np.ndarray:
    dtype, shape, payload = entry
    d = _dtypes.from_enum(dtype)
    if d.name == "string":
        out = np.empty(len(payload), dtype=object)
        out[:] = payload
        return out.reshape(shape)
    return payload.view(d.numpy_dtype).reshape(shape)


def _string_element(name: str, v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise InvalidArgumentError("tensor %s: a string tensor holds str or bytes, not %s"
                               % (name, type(v).__name__))


def _from_numpy(name: str, value: Any):
    """(dtype, shape, payload) of tensor `name` for the C++ module."""
    if isinstance(value, (str, bytes)):
        value = np.array(value, dtype=object)
    array = np.asarray(value)
    try:
        d = _dtypes.from_numpy(array.dtype)
    except InvalidArgumentError as e:
        raise InvalidArgumentError("tensor %s: %s" % (name, e)) from None
    shape = list(array.shape)
    if d.name == "string":
        return (d.enum, shape, [_string_element(name, v) for v in array.reshape(-1).tolist()])
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.ascontiguousarray(array)
    return (d.enum, shape, array.reshape(-1).view(np.uint8))


def _entries(tensors: Mapping[str, Any]) -> list:
    if not isinstance(tensors, Mapping):
        raise TypeError("tensors must be a mapping of name -> array, not %s"
                        % type(tensors).__name__)
    return sorted((_key(name), _from_numpy(name, value)) for name, value in tensors.items())


class CheckpointReader:
    """A checkpoint opened for reading (tf.train.load_checkpoint's reader)."""

    def __init__(self, path: PathLike, mmap: bool = False):
        self._reader = _ckpt.Reader(os.fspath(path), mmap)
        # (name, dtype enum, shape) in bytewise name order; names are str
        # (bytes that are not UTF-8 through surrogateescape).
        self._variables = self._reader.variables()

    @property
    def prefix(self) -> str:
        """The checkpoint opened (a directory resolved to its newest)."""
        return self._reader.prefix

    @property
    def format(self) -> str:
        """"V1" or "V2"."""
        return self._reader.format

    def get_variable_to_shape_map(self) -> Dict[str, List[int]]:
        return {n: list(shape) for n, _, shape in self._variables}  # copies: callers may edit

    def get_variable_to_dtype_map(self) -> Dict[str, DType]:
        """Name -> ckpt.DType (compares equal to "float"; .numpy_dtype)."""
        return {n: _dtypes.from_enum(dt) for n, dt, _ in self._variables}

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor as a numpy array (strings: an object array of bytes).

        With mmap=True, fixed-size tensors of a V2 checkpoint are read-only
        views of the mapped file (checksum verified on each read) that keep
        the mapping alive.
        """
        return _to_numpy(self._reader.read(_key(name)))

    def get_tensors(self, names: Iterable[str]) -> List[np.ndarray]:
        """get_tensor of each name, in order, read as one batch (the fastest
        way to load many tensors; mmap views as get_tensor gives them). An
        unknown name raises before anything is read."""
        return [_to_numpy(t) for t in self._reader.read_many([_key(n) for n in names])]

    def has_tensor(self, name: str) -> bool:
        return self._reader.has_tensor(_key(name))

    __contains__ = has_tensor

    def keys(self) -> List[str]:
        return [n for n, _, _ in self._variables]

    def debug_string(self) -> str:
        return self._reader.debug_string()

    def __repr__(self) -> str:
        return "<ckpt.CheckpointReader %r (%s, %d tensors)>" % (
            self.prefix, self.format, len(self._variables))


def load_checkpoint(ckpt_dir_or_file: PathLike, mmap: bool = False) -> CheckpointReader:
    """tf.train.load_checkpoint: a prefix, V1 file or a directory (newest)."""
    return CheckpointReader(ckpt_dir_or_file, mmap=mmap)


def list_variables(ckpt_dir_or_file: PathLike) -> List[Tuple[str, List[int]]]:
    """tf.train.list_variables: [(name, shape)] sorted by name."""
    variables = load_checkpoint(ckpt_dir_or_file)._variables
    # Already in order but for names that are not UTF-8 (cheap when sorted).
    return sorted(((name, shape) for name, _, shape in variables), key=lambda v: v[0])


def load_variable(ckpt_dir_or_file: PathLike, name: str) -> np.ndarray:
    """tf.train.load_variable (a trailing ":0" is dropped, as TF does)."""
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


def latest_checkpoint(checkpoint_dir: PathLike) -> Optional[str]:
    """tf.train.latest_checkpoint: the newest checkpoint prefix, or None."""
    return _ckpt.latest_checkpoint(os.fspath(checkpoint_dir))


def save(prefix: PathLike, tensors: Mapping[str, Any], state_file: bool = False) -> str:
    """Writes `tensors` (name -> array-like) as one V2 checkpoint at `prefix`.

    Tensors are written sorted by name, as TensorFlow's Saver does. With
    state_file=True the directory's `checkpoint` file then names this
    checkpoint (tf.train.update_checkpoint_state). Returns the prefix.
    """
    prefix = os.fspath(prefix)
    _ckpt.save(prefix, _entries(tensors), state_file)
    return prefix


class Saver:
    """tf.compat.v1.train.Saver: numbered saves of flat name -> tensor maps.

    The names, dtypes and shapes are fixed by the first save (TF's
    var_list); later saves must give the same. Keeps the newest max_to_keep
    (0: all) plus one every keep_checkpoint_every_n_hours.
    """

    def __init__(self, max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                 pad_step_number: bool = False, save_relative_paths: bool = False):
        self._saver = _ckpt.Saver(max_to_keep, keep_checkpoint_every_n_hours,
                                  pad_step_number, save_relative_paths)

    def save(self, tensors: Mapping[str, Any], save_path: PathLike,
             global_step: Optional[int] = None, write_state: bool = True) -> str:
        """Saves to save_path[-global_step]; returns the prefix written."""
        return self._saver.save(os.fspath(save_path), _entries(tensors),
                                None if global_step is None else int(global_step), write_state)

    @property
    def last_checkpoints(self) -> List[str]:
        return list(self._saver.last_checkpoints)


class CheckpointManager:
    """tf.train.CheckpointManager over tf.train.Checkpoint(**tensors).

    save(tensors) writes a TF2 object checkpoint "<directory>/<name>-<N>" in
    which tensor `w` is the variable attribute `w` of the root
    (key "w/.ATTRIBUTES/VARIABLE_VALUE", restorable by
    tf.train.Checkpoint(w=tf.Variable(...))), plus save_counter. Retention
    and the `checkpoint` state file follow TensorFlow (max_to_keep=None keeps
    all).
    """

    def __init__(self, directory: PathLike, max_to_keep: Optional[int] = 5,
                 keep_checkpoint_every_n_hours: Optional[float] = None,
                 checkpoint_name: str = "ckpt"):
        self._manager = _ckpt.CheckpointManager(os.fspath(directory), max_to_keep,
                                                keep_checkpoint_every_n_hours, checkpoint_name)

    def save(self, tensors: Mapping[str, Any], checkpoint_number: Optional[int] = None) -> str:
        """Saves; returns the prefix written (numbered by the save counter
        unless checkpoint_number is given)."""
        return self._manager.save(_entries(tensors),
                                  None if checkpoint_number is None else int(checkpoint_number))

    @property
    def latest_checkpoint(self) -> Optional[str]:
        return self._manager.latest_checkpoint

    @property
    def checkpoints(self) -> List[str]:
        """The managed checkpoints, oldest first."""
        return list(self._manager.checkpoints)

    @property
    def directory(self) -> str:
        return self._manager.directory


def read_events(path: PathLike) -> Iterator[Tuple[str, int, float, Any]]:
    """Yields (tag, step, wall_time, value) for every summary value of a
    TensorBoard event file, or of every event file in a directory.

    value: float for scalars, a numpy array for other tensor summaries,
    bytes for text (TF1 style) / images / audio, a dict for TF1 histograms.
    """
    for tag, step, wall_time, kind, value in _ckpt.read_events(os.fspath(path)):
        if kind == "tensor":
            value = _to_numpy(value)
        yield tag, step, wall_time, value


class ConvertResult(NamedTuple):
    """What convert() wrote."""

    destination: str
    """The file written: the safetensors or .weights.h5 file, or the V2 prefix."""
    written: Dict[str, str]
    """Source tensor name -> destination name, for every tensor written (empty
    for a Keras weights file <-> object checkpoint conversion)."""
    skipped: Dict[str, str]
    """Source tensor name -> why it was skipped (skip_unsupported=True)."""


def convert(src: PathLike, dst: PathLike, to: Optional[str] = None, *,
            from_format: Optional[str] = None, name_map: Iterable[str] = (),
            default_name_map: bool = True, metadata: Optional[Mapping[str, str]] = None,
            skip_unsupported: bool = False, state_file: bool = False,
            keras_template: Optional[PathLike] = None, keras_model_name: str = "model",
            keras_include_optimizer: bool = True) -> ConvertResult:
    """Converts the checkpoint `src` into `dst` (`ckpt convert`'s conversion).

    Formats ("tf", "safetensors", "keras"): `to` / `from_format`, or else
    from the path (".safetensors", ".h5", anything else a TensorFlow
    checkpoint prefix, V1 file or directory). name_map: rules applied in
    order, "strip:TEXT", "prefix:OLD=NEW" or "regex:PATTERN=REPL"; a TF2
    object checkpoint's names first lose "/.ATTRIBUTES/VARIABLE_VALUE"
    unless default_name_map=False. metadata: a safetensors header's
    __metadata__. skip_unsupported: skip (and list) tensors the destination
    cannot hold instead of failing. state_file: a TensorFlow destination's
    directory also gets a `checkpoint` file naming it.

    Keras 3 .weights.h5 converts to and from a TF2 object checkpoint of the
    same model (tf.train.Checkpoint(model=...)): keras_template is a file of
    that model in the output's format (the model's save_weights file, or an
    object checkpoint), keras_model_name the checkpoint's child holding the
    model, keras_include_optimizer whether optimizer variables go along
    (name rules do not apply; `written` stays empty). A .weights.h5 also
    converts to safetensors, tensors named by their HDF5 paths
    ("layers/dense/vars/0").

    The destination appears complete or not at all. Errors raise ckpt.Error
    subclasses (NotFoundError for a missing source, InvalidArgumentError for
    bad rules, name collisions, unsupported dtypes, Keras without template).
    """
    if isinstance(name_map, str):
        name_map = (name_map,)
    rules = [str(rule) for rule in name_map]
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    destination, written, skipped = _ckpt.convert(
        os.fspath(src), os.fspath(dst), to, from_format, rules, bool(default_name_map), meta,
        bool(skip_unsupported), bool(state_file),
        "" if keras_template is None else os.fspath(keras_template), keras_model_name,
        bool(keras_include_optimizer))
    return ConvertResult(destination, written, skipped)


__all__ = ["CheckpointManager", "CheckpointReader", "ConvertResult", "DType", "Saver", "convert",
           "latest_checkpoint", "list_variables", "load_checkpoint", "load_variable",
           "read_events", "save", "__version__"] + _errors.__all__
