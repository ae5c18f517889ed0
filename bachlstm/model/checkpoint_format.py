"""The checkpoint file format, checked from the header alone before any weight is read (no torch).

A checkpoint is a safetensors file: 8 bytes of header length, a JSON header, then the tensor bytes.
`read_header` trusts nothing in it: the layout (every tensor's bytes inside the file, no gaps, no
overlaps, sizes that match dtype x shape), our metadata, the model config, the parameter count against
the memory limit, and every declared name, shape and dtype against the shapes the config implies
(`model_config.parameter_shapes`). Only a header that passes lets a caller allocate anything, so a
hostile header costs its own bytes and nothing more. `verify_content` then streams the tensor bytes
(1 MB at a time) for the checksum and for NaN or infinite values, again without torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bachlstm.model.config import ModelConfig, ModelConfigError, count_parameters, parameter_shapes
from bachlstm.settings.limits import MB, Limits
from bachlstm.settings.problems import CodedError

FORMAT_NAME = "bachlstm-checkpoint"
FORMAT_VERSION = 1
EXTRA_PREFIX = "extra."  # tensors that are not model weights (optimizer state for resuming)
REQUIRED_META = ("model_config", "tokenizer", "weights_sha256")
# The safetensors header of a model this size is a few hundred KB at most (mostly the split ids and
# the history); a larger declared size means a corrupt length field, not a real header.
MAX_HEADER_BYTES = 50_000_000
# Every tensor we write is float32; "torch.float32" is how weights_digest names the dtype.
DTYPES = {"F32": (4, "torch.float32")}
# AdamW's per-parameter state as training saves it: extra.optimizer.<parameter index>.<name>.
OPTIMIZER_KEY = re.compile(r"^optimizer\.(\d+)\.(step|exp_avg|exp_avg_sq)$")
CHUNK = 1 << 20


# CheckpointError codes (a page words them; the message keeps the English details for the command line).
DAMAGED = "damaged"  # the file is not a bachlstm checkpoint, or is damaged (the default)
NOT_FOUND = "not_found"  # name
UNREADABLE = "unreadable"  # the system refuses to read the file
NEWER_FORMAT = "newer_format"  # version, supported
TOO_LARGE = "too_large"  # mb (the weights), limit (MB)
CHANGED = "changed"  # the file changed while it was read
NAME_EMPTY = "name_empty"
NAME_NOT_ALLOWED = "name_not_allowed"  # name, max
NAME_DEVICE = "name_device"  # name, device
NAME_SHIPPED = "name_shipped"  # name
NAME_TAKEN = "name_taken"  # name (a run of that name exists)
NAME_TAKEN_UNUSABLE = "name_taken_unusable"  # name (something else of that name is there)
NOT_REGULAR = "not_regular"  # a listed file that is no regular file (never opened)


class CheckpointError(CodedError):
    """A checkpoint cannot be found, read or trusted; the message names the run and the problem in
    English, `code` (DAMAGED unless another is given) and `values` say it for a page."""

    kind = "checkpoint"
    DEFAULT = DAMAGED


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header declares it: dtype code, shape, byte range within the data section."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Header:
    """A validated header: tensors by name, our metadata, the model config, where the data starts."""

    tensors: dict[str, TensorEntry]
    meta: dict
    config: ModelConfig
    data_start: int  # file offset of the first tensor byte (8 + header length)
    file_size: int


def read_header(path: Path, label: str, data: bytes | None = None) -> Header:
    """Parse and fully validate a checkpoint's header (from `data` if given, else from the file).

    Raises CheckpointError whose message starts with `label` (the run's name, or the path a user gave).
    """
    raw, n, size = _raw_header(path, label, data)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{label}: corrupt safetensors header (not JSON: {exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{label}: corrupt safetensors header (not a JSON object)")
    st_meta = header.pop("__metadata__", None) or {}
    if not isinstance(st_meta, dict):
        raise CheckpointError(f"{label}: corrupt safetensors header (__metadata__ is not an object)")
    tensors = _layout(label, header, size - 8 - n)
    meta = _meta(label, st_meta)
    config = _config(label, meta)
    _check_size(label, config)
    _check_shapes(label, config, tensors)
    return Header(tensors=tensors, meta=meta, config=config, data_start=8 + n, file_size=size)


def _raw_header(path: Path, label: str, data: bytes | None) -> tuple[bytes, int, int]:
    try:
        if data is None:
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(8)
                n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
                raw = f.read(min(n, MAX_HEADER_BYTES + 1))
        else:
            size, head = len(data), data[:8]
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            raw = data[8 : 8 + min(n, MAX_HEADER_BYTES + 1)]
    except OSError as exc:
        raise CheckpointError(f"{label}: cannot read checkpoint: {exc.strerror or exc}", UNREADABLE) from exc
    if len(head) < 8:
        raise CheckpointError(f"{label}: truncated or empty file ({size} bytes), not a checkpoint")
    if n > MAX_HEADER_BYTES or 8 + n > size:
        raise CheckpointError(
            f"{label}: corrupt or truncated safetensors header (declares {n} bytes, file has {size})"
        )
    return raw, n, size


def _layout(label: str, header: dict, data_len: int) -> dict[str, TensorEntry]:
    """Tensor entries, checked: known dtype, sane shape, byte ranges that tile the data section exactly."""
    out = {}
    for name, e in header.items():
        ok = (
            isinstance(e, dict)
            and isinstance(e.get("shape"), list)
            and isinstance(e.get("data_offsets"), list)
        )
        shape = e.get("shape") if ok else None
        offsets = e.get("data_offsets") if ok else None
        if (
            not ok
            or not all(_is_count(d) for d in shape)
            or len(offsets) != 2
            or not all(map(_is_count, offsets))
        ):
            raise CheckpointError(f"{label}: corrupt safetensors header (bad entry for tensor {name!r})")
        if e.get("dtype") not in DTYPES:
            raise CheckpointError(f"{label}: tensor {name!r} has dtype {e.get('dtype')!r}, expected F32")
        start, end = offsets
        if end - start != math.prod(shape) * DTYPES[e["dtype"]][0]:
            raise CheckpointError(
                f"{label}: corrupt safetensors header ({name!r}: {end - start} bytes for shape {shape})"
            )
        out[name] = TensorEntry(e["dtype"], tuple(shape), start, end)
    position = 0
    for entry in sorted(out.values(), key=lambda t: (t.start, t.end)):
        if entry.start != position:
            raise CheckpointError(f"{label}: corrupt safetensors header (tensor bytes overlap or leave gaps)")
        position = entry.end
    if position != data_len:
        raise CheckpointError(
            f"{label}: truncated or padded file: tensors need {position} bytes of data, file has {data_len}"
        )
    return out


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _meta(label: str, st_meta: dict) -> dict:
    fmt = st_meta.get("format")
    if fmt != FORMAT_NAME:
        raise CheckpointError(f"{label}: unknown format {fmt!r} (expected a {FORMAT_NAME!r} file)")
    try:
        version = int(st_meta.get("format_version", ""))
    except (TypeError, ValueError):
        raise CheckpointError(
            f"{label}: missing or bad format_version {st_meta.get('format_version')!r}"
        ) from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{label}: format version {version} is newer than this bachlstm supports ({FORMAT_VERSION}); "
            "update bachlstm",
            NEWER_FORMAT,
            version=version,
            supported=FORMAT_VERSION,
        )
    if version < 1:
        raise CheckpointError(f"{label}: unknown format version {version}")
    try:
        meta = json.loads(st_meta.get("bachlstm", ""))
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{label}: corrupt metadata JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"{label}: metadata is not a JSON object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise CheckpointError(f"{label}: metadata lacks {missing}")
    return meta


def _config(label: str, meta: dict) -> ModelConfig:
    raw = meta["model_config"]
    if not isinstance(raw, dict):
        raise CheckpointError(f"{label}: invalid model config: not a JSON object")
    try:
        config = ModelConfig.from_dict(raw)
    except (TypeError, ValueError, ModelConfigError) as exc:
        raise CheckpointError(f"{label}: invalid model config: {exc}") from exc
    if config.vocab_size is None:
        raise CheckpointError(f"{label}: model config has no vocab_size")
    tokenizer = meta["tokenizer"]
    vocab = tokenizer.get("vocab") if isinstance(tokenizer, dict) else None
    if not isinstance(vocab, list):
        raise CheckpointError(f"{label}: invalid tokenizer: no vocabulary list")
    if len(vocab) != config.vocab_size:
        raise CheckpointError(
            f"{label}: tokenizer vocabulary has {len(vocab)} tokens but the model expects {config.vocab_size}"
        )
    return config


def _check_size(label: str, config: ModelConfig) -> None:
    """Refuse a model whose weights alone exceed the memory limit (before anything is allocated)."""
    n = count_parameters(config)
    limit = Limits.from_env().max_mb
    if 4 * n / MB > limit:
        raise CheckpointError(
            f"{label}: the model has {n:,} parameters ({4 * n / MB:,.0f} MB of weights), more than this "
            f"machine's limit of {limit:,.0f} MB (BACHLSTM_MAX_TRAIN_MB)",
            TOO_LARGE,
            mb=round(4 * n / MB),
            limit=round(limit),
        )


def _check_shapes(label: str, config: ModelConfig, tensors: dict[str, TensorEntry]) -> None:
    """Each declared weight must be one the config implies, with its shape; extras: optimizer state."""
    expected = parameter_shapes(config)
    weights = {k: t for k, t in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{label}: weights do not match the model config (missing {missing}, unexpected {unexpected})"
        )
    for key, shape in expected.items():
        if weights[key].shape != shape:
            raise CheckpointError(
                f"{label}: weights do not match the model config: {key} has shape {weights[key].shape}, "
                f"config needs {shape}"
            )
    order = list(expected.values())  # parameters() order = state_dict order for this model
    for key, entry in tensors.items():
        if not key.startswith(EXTRA_PREFIX):
            continue
        m = OPTIMIZER_KEY.match(key[len(EXTRA_PREFIX) :])
        index = int(m.group(1)) if m else -1
        if not m or index >= len(order):
            raise CheckpointError(f"{label}: unexpected extra tensor {key!r}")
        want = ((), (1,)) if m.group(2) == "step" else (order[index],)
        if entry.shape not in want:
            raise CheckpointError(f"{label}: {key} has shape {entry.shape}, expected {want[0]}")


def verify_content(path: Path, header: Header, label: str) -> None:
    """Stream the tensor bytes: the checksum must match and every value must be finite (no torch).

    Memory stays at one chunk (1 MB); the digest is weights_digest's, computed from the file's bytes.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for key in sorted(header.tensors):
                entry = header.tensors[key]
                digest.update(f"{key}|{DTYPES[entry.dtype][1]}|{entry.shape}|".encode())
                f.seek(header.data_start + entry.start)
                left = entry.end - entry.start
                while left:
                    chunk = f.read(min(CHUNK, left))
                    if not chunk:
                        raise CheckpointError(f"{label}: file ended inside tensor {key!r}")
                    left -= len(chunk)
                    digest.update(chunk)
                    if not np.isfinite(np.frombuffer(chunk, dtype="<f4")).all():
                        raise CheckpointError(f"{label}: {key} contains NaN or infinite values")
    except OSError as exc:
        raise CheckpointError(f"{label}: cannot read checkpoint: {exc.strerror or exc}", UNREADABLE) from exc
    if digest.hexdigest() != header.meta["weights_sha256"]:
        raise CheckpointError(f"{label}: weights do not match their checksum (file corrupted)")


def file_key(path: Path) -> tuple | None:
    """(path, size, mtime_ns, inode) of a regular file, for caches; None for anything else."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
