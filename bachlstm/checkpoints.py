"""Safe checkpoints: one .safetensors file per model, its JSON metadata inside, written atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bachlstm import __version__
from bachlstm.tokens import tokenizer_from_dict

# torch (and the model, which needs it) load only when weights are read or written: listing
# checkpoints and reading their metadata is header-only, so the dashboard's Home page skips ~1 s of
# torch import.
if TYPE_CHECKING:
    import torch

    from bachlstm.model import LSTMModel, ModelConfig

log = logging.getLogger(__name__)

FORMAT_NAME = "bachlstm-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
EXTRA_PREFIX = "extra."  # tensors that are not model weights (optimizer state for resuming)
SHIPPED_NAMES = ("workshop", "bach")  # reserved: these names resolve to the shipped models first
# A run name becomes a file name in runs/ and a label in charts: short, starting with a letter or
# digit (no hidden files), no path separators and no '..' (no traversal). The one rule for names,
# used by the CLI, the job queue and the Training page alike.
MAX_NAME_LENGTH = 48
NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME_LENGTH - 1}}}$")
REQUIRED_META = ("model_config", "tokenizer", "weights_sha256")
# The safetensors header of a model this size is a few hundred KB at most (mostly the split ids and
# the history); a larger declared size means a corrupt length field, not a real header.
MAX_HEADER_BYTES = 50_000_000

_REPO_ROOT = Path(__file__).resolve().parent.parent


class CheckpointError(ValueError):
    """A checkpoint cannot be found, read or trusted; the message names the file and the problem."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its tokenizer, the metadata dict and the file."""

    model: LSTMModel
    tokenizer: Any
    meta: dict
    path: Path
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. optimizer state, by key

    @property
    def config(self) -> ModelConfig:
        """The model's config."""
        return self.model.config


@dataclass
class CheckpointInfo:
    """One entry of list_checkpoints(): enough for a UI table without loading the weights."""

    name: str
    path: Path
    shipped: bool
    preset: str | None = None
    tokenizer: str | None = None
    metrics: dict = field(default_factory=dict)
    created: str | None = None
    n_params: int | None = None
    error: str | None = None  # set (instead of raising) when the file is broken


def checkpoints_dir() -> Path:
    """Directory of the shipped models (repo's checkpoints/; env BACHLSTM_CHECKPOINTS_DIR overrides)."""
    return Path(os.environ.get("BACHLSTM_CHECKPOINTS_DIR", _REPO_ROOT / "checkpoints"))


def runs_dir() -> Path:
    """Directory of user runs (repo's runs/; env BACHLSTM_RUNS_DIR overrides)."""
    return Path(os.environ.get("BACHLSTM_RUNS_DIR", _REPO_ROOT / "runs"))


def validate_name(name: str) -> str:
    """Return `name` if it is a valid checkpoint or run name, else raise CheckpointError saying why."""
    if not isinstance(name, str) or not name:
        raise CheckpointError("the run name is empty: give the run a name such as 'my-run-1'")
    if not NAME_RE.match(name) or ".." in name or name.endswith("."):
        raise CheckpointError(
            f"run name {name!r} is not allowed: use 1-{MAX_NAME_LENGTH} letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no '..', slashes or spaces)"
        )
    return name


def validate_run_name(name: str) -> str:
    """A name typed for a new run, stripped and checked; CheckpointError if invalid or a shipped name."""
    name = validate_name(name.strip() if isinstance(name, str) else name)
    if name.lower() in SHIPPED_NAMES:
        raise CheckpointError(f"run name {name!r} is reserved for a shipped model: choose another name")
    return name


def run_path(name: str) -> Path:
    """Where a user run called `name` is saved (runs dir); see validate_run_name for the rule."""
    return runs_dir() / f"{validate_run_name(name)}{SUFFIX}"


def _looks_like_path(name_or_path: str | os.PathLike) -> bool:
    s = os.fspath(name_or_path)
    return isinstance(name_or_path, Path) or "/" in s or os.sep in s or s.endswith(SUFFIX)


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    """A shipped name ('workshop', 'bach'), a user run name (runs dir) or a file path -> existing Path."""
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}")
        return path
    name = validate_name(os.fspath(name_or_path))
    for directory in ((checkpoints_dir(),) if name in SHIPPED_NAMES else ()) + (runs_dir(),):
        path = directory / f"{name}{SUFFIX}"
        if path.is_file():
            return path
    known = sorted({info.name for info in list_checkpoints()})
    raise CheckpointError(f"no checkpoint named {name!r} (available: {', '.join(known) or 'none'})")


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes in name order (detects bit rot)."""
    import torch  # late: see the note at the imports

    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    model: LSTMModel,
    tokenizer: Any,
    meta: dict | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write model weights + config + tokenizer + `meta` into one .safetensors file, atomically.

    `extra_tensors` (such as the optimizer state) are stored under the `extra.` prefix.
    """
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    for k, v in (extra_tensors or {}).items():
        tensors[f"{EXTRA_PREFIX}{k}"] = v.detach().cpu().contiguous().clone()
    full_meta = dict(meta or {})
    full_meta.update(
        model_config=model.config.to_dict(),
        tokenizer=tokenizer.to_dict(),
        package_version=__version__,
        weights_sha256=weights_digest(tensors),
    )
    header = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "bachlstm": json.dumps(full_meta, sort_keys=True, allow_nan=False, default=_json_default),
    }
    from safetensors.torch import save as st_save  # late, like torch: see the note at the imports

    data = st_save(tensors, metadata=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temp file in the same directory + os.replace: readers see the old file or the new one, never half.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("saved checkpoint %s (%d bytes)", path, len(data))
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    raise TypeError(f"metadata value of type {type(obj).__name__} is not JSON-serialisable: {obj!r}")


def _read_header(path: Path, data: bytes | None = None) -> tuple[dict, dict]:
    """Parse the safetensors header -> (tensor entries, bachlstm metadata dict); no tensor is read."""
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
        raise CheckpointError(f"{path}: cannot read checkpoint: {exc}") from exc
    if len(head) < 8:
        raise CheckpointError(f"{path}: truncated or empty file ({size} bytes), not a checkpoint")
    if n > MAX_HEADER_BYTES or 8 + n > size:
        raise CheckpointError(
            f"{path}: corrupt or truncated safetensors header (declares {n} bytes, file has {size})"
        )
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt safetensors header (not JSON: {exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    st_meta = header.pop("__metadata__", None) or {}
    end = max(
        (int(e.get("data_offsets", [0, 0])[1]) for e in header.values() if isinstance(e, dict)), default=0
    )
    if 8 + n + end != size:
        raise CheckpointError(
            f"{path}: truncated or padded file: tensors need {8 + n + end} bytes, file has {size}"
        )
    return header, _bachlstm_meta(path, st_meta)


def _bachlstm_meta(path: Path, st_meta: dict) -> dict:
    """Our metadata dict from the safetensors `__metadata__` strings, after checking format and version."""
    fmt = st_meta.get("format")
    if fmt != FORMAT_NAME:
        raise CheckpointError(f"{path}: unknown format {fmt!r} (expected a {FORMAT_NAME!r} file)")
    try:
        version = int(st_meta.get("format_version", ""))
    except ValueError:
        raise CheckpointError(
            f"{path}: missing or bad format_version {st_meta.get('format_version')!r}"
        ) from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format version {version} is newer than this bachlstm supports ({FORMAT_VERSION}); "
            "update bachlstm"
        )
    if version < 1:
        raise CheckpointError(f"{path}: unknown format version {version}")
    try:
        meta = json.loads(st_meta.get("bachlstm", ""))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt metadata JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata is not a JSON object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {missing}")
    return meta


def read_meta(name_or_path: str | os.PathLike) -> dict:
    """The checkpoint's metadata (config, tokenizer, history, metrics...) without loading weights."""
    path = resolve_checkpoint(name_or_path)
    return _read_header(path)[1]


def load_checkpoint(name_or_path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint by shipped name, run name or path; never unpickles anything."""
    from safetensors.torch import load as st_load  # late, like torch: see the note at the imports

    from bachlstm.model import LSTMModel, ModelConfig

    path = resolve_checkpoint(name_or_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint: {exc}") from exc
    _, meta = _read_header(path, data)
    try:
        config = ModelConfig.from_dict(meta["model_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid model config: {exc}") from exc
    if config.vocab_size is None:
        raise CheckpointError(f"{path}: model config has no vocab_size")
    try:
        tokenizer = tokenizer_from_dict(meta["tokenizer"])
    except Exception as exc:  # any failure to rebuild the tokenizer is a bad checkpoint, say which
        raise CheckpointError(f"{path}: invalid tokenizer: {exc}") from exc
    if len(tokenizer.vocab) != config.vocab_size:
        raise CheckpointError(
            f"{path}: tokenizer vocabulary has {len(tokenizer.vocab)} tokens but the model expects "
            f"{config.vocab_size}"
        )
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types for malformed buffers
        raise CheckpointError(f"{path}: corrupt tensor data: {exc}") from exc
    if weights_digest(tensors) != meta["weights_sha256"]:
        raise CheckpointError(f"{path}: weights do not match their checksum (file corrupted)")
    extra = {k[len(EXTRA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}
    weights = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    model = LSTMModel(config)
    _check_tensors(path, model.state_dict(), weights)
    model.load_state_dict(weights, strict=True)
    model.eval()
    return Checkpoint(model=model.to(device), tokenizer=tokenizer, meta=meta, path=path, extra=extra)


def _check_tensors(path: Path, expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> None:
    import torch  # late: see the note at the imports

    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not match the model config (missing {missing}, unexpected {unexpected})"
        )
    for key, ref in expected.items():
        t = got[key]
        if t.shape != ref.shape:
            raise CheckpointError(
                f"{path}: weights do not match the model config: {key} has shape {tuple(t.shape)}, "
                f"config needs {tuple(ref.shape)}"
            )
        if t.dtype != ref.dtype:
            raise CheckpointError(f"{path}: {key} has dtype {t.dtype}, expected {ref.dtype}")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: {key} contains NaN or infinite values")


def checkpoint_info(path: Path, shipped: bool = False) -> CheckpointInfo:
    """Summary of one checkpoint file from its header; a broken file gives `error` instead of raising."""
    info = CheckpointInfo(name=path.name.removesuffix(SUFFIX), path=path, shipped=shipped)
    try:
        header, meta = _read_header(path)
    except CheckpointError as exc:
        info.error = str(exc)
        return info
    info.preset = meta.get("preset")
    info.tokenizer = (meta.get("tokenizer") or {}).get("name")
    info.metrics = dict(meta.get("metrics") or {})
    info.created = meta.get("created")
    info.n_params = (
        sum(
            _numel(e.get("shape", []))
            for k, e in header.items()
            if isinstance(e, dict) and not k.startswith(EXTRA_PREFIX)
        )
        or None
    )
    return info


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def list_checkpoints() -> list[CheckpointInfo]:
    """Shipped models first, then user runs (newest first); broken files are listed with `error` set."""
    infos = []
    shipped_dir = checkpoints_dir()
    if shipped_dir.is_dir():
        for path in sorted(shipped_dir.glob(f"*{SUFFIX}")):
            infos.append(checkpoint_info(path, shipped=path.stem in SHIPPED_NAMES))
    runs = runs_dir()
    if runs.is_dir() and runs.resolve() != shipped_dir.resolve():
        paths = sorted(runs.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        infos.extend(checkpoint_info(p) for p in paths if NAME_RE.match(p.stem))
    return infos
