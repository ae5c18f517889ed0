"""Safe checkpoints: one .safetensors file per model, its JSON metadata inside, written atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bachlstm import __version__
from bachlstm.model.checkpoint_format import (  # noqa: F401 (re-exported: the format's names)
    CHANGED,
    EXTRA_PREFIX,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    NAME_DEVICE,
    NAME_EMPTY,
    NAME_NOT_ALLOWED,
    NAME_SHIPPED,
    NOT_FOUND,
    NOT_REGULAR,
    REQUIRED_META,
    UNREADABLE,
    CheckpointError,
    Header,
    file_key,
    read_header,
    verify_content,
)
from bachlstm.tokens.tokenizers import tokenizer_from_dict

# torch (and the model, which needs it) load only when weights are read or written: listing
# checkpoints and reading their metadata is header-only, so the dashboard's Home page skips ~1 s of
# torch import.
if TYPE_CHECKING:
    import torch

    from bachlstm.model.lstm import LSTMModel, ModelConfig

log = logging.getLogger(__name__)

SUFFIX = ".safetensors"
SHIPPED_NAMES = ("workshop", "bach", "chorale")  # reserved: these names resolve to the shipped models first
DEFAULT_MODEL = "chorale"  # the Sampling page's first choice (checkpoints/README.md: the strongest shipped)
# A run name becomes a file name in runs/ and a label in charts: short, starting with a letter or
# digit (no hidden files), no path separators and no '..' (no traversal). The one rule for names,
# used by the CLI, the job queue and the Training page alike.
MAX_NAME_LENGTH = 48
NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME_LENGTH - 1}}}$")
# Names Windows reserves for devices, with any extension ('con.txt' opens the console too); the README
# supports Windows, so no run may be called that anywhere.
WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)]
)
LISTING_CACHE_SIZE = 512

_REPO_ROOT = Path(__file__).resolve().parents[2]


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
    """One entry of list_checkpoints(): enough for a UI table without loading the weights.

    `status` is "complete" (the run ended by itself), "stopped" (stopped by the user or a time
    limit), "interrupted" (its process ended mid-run: the file holds the best epoch so far),
    "broken" (`error` says why) or "skipped" (not a regular file: never opened).
    """

    name: str
    path: Path
    shipped: bool
    preset: str | None = None
    tokenizer: str | None = None
    metrics: dict = field(default_factory=dict)
    created: str | None = None
    n_params: int | None = None
    error: str | None = None  # set (instead of raising) when the file is broken or skipped
    error_code: str | None = None  # the CheckpointError's code (DAMAGED, ...; "not_regular" when skipped)
    error_values: dict = field(default_factory=dict)  # and its values, for a page to word
    status: str = "complete"
    epoch: int | None = None  # epochs trained (of the saved weights' run)
    epochs: int | None = None  # epochs the run was set to train
    owner: str | None = None  # the student whose run it is (metadata "owner"); None: nobody's

    @property
    def resumable(self) -> bool:
        """True for a run that ended early and can be continued from the Training page."""
        return self.status in ("stopped", "interrupted")

    @property
    def state(self) -> str:
        """'complete', 'stopped at epoch 5 of 45', 'interrupted at epoch 5 of 45' or 'broken: why'."""
        if self.error:
            return f"{self.status}: {self.error}"
        if self.resumable:
            return f"{self.status} at epoch {self.epoch} of {self.epochs}"
        return self.status


def checkpoints_dir() -> Path:
    """Directory of the shipped models (repo's checkpoints/; env BACHLSTM_CHECKPOINTS_DIR overrides)."""
    return Path(os.environ.get("BACHLSTM_CHECKPOINTS_DIR", _REPO_ROOT / "checkpoints"))


def runs_dir() -> Path:
    """Directory of user runs (repo's runs/; env BACHLSTM_RUNS_DIR overrides)."""
    return Path(os.environ.get("BACHLSTM_RUNS_DIR", _REPO_ROOT / "runs"))


def validate_name(name: str) -> str:
    """Return `name` if it is a valid checkpoint or run name, else raise CheckpointError saying why."""
    if not isinstance(name, str) or not name:
        raise CheckpointError("the run name is empty: give the run a name such as 'my-run-1'", NAME_EMPTY)
    if not NAME_RE.match(name) or ".." in name or name.endswith("."):
        raise CheckpointError(
            f"run name {name!r} is not allowed: use 1-{MAX_NAME_LENGTH} letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no '..', slashes or spaces)",
            NAME_NOT_ALLOWED,
            name=name,
            max=MAX_NAME_LENGTH,
        )
    if name.split(".")[0].lower() in WINDOWS_DEVICES:
        raise CheckpointError(
            f"{name!r} cannot be a run name: Windows reserves {name.split('.')[0].upper()} for a device; "
            "choose another name",
            NAME_DEVICE,
            name=name,
            device=name.split(".")[0].upper(),
        )
    return name


def display_name(path: Path) -> str:
    """How messages name a checkpoint: its run name when it lives in runs/ or checkpoints/, else the path.

    Messages reach students' browsers: they should say 'my-run', not the server's directories.
    """
    path = Path(path)
    for directory in (runs_dir(), checkpoints_dir()):
        try:
            if path.parent.resolve() == directory.resolve() and path.name.endswith(SUFFIX):
                return path.name.removesuffix(SUFFIX)
        except OSError:
            continue
    return str(path)


def validate_run_name(name: str) -> str:
    """A name typed for a new run, stripped and checked; CheckpointError if invalid or a shipped name."""
    name = validate_name(name.strip() if isinstance(name, str) else name)
    if name.lower() in SHIPPED_NAMES:
        raise CheckpointError(
            f"run name {name!r} is reserved for a shipped model: choose another name", NAME_SHIPPED, name=name
        )
    return name


def run_path(name: str) -> Path:
    """Where a user run called `name` is saved (runs dir); see validate_run_name for the rule."""
    return runs_dir() / f"{validate_run_name(name)}{SUFFIX}"


def _looks_like_path(name_or_path: str | os.PathLike) -> bool:
    s = os.fspath(name_or_path)
    return isinstance(name_or_path, Path) or "/" in s or os.sep in s or s.endswith(SUFFIX)


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    """A shipped name (SHIPPED_NAMES), a user run name (runs dir) or a file path -> existing Path."""
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}", NOT_FOUND, name=path.name)
        return path
    name = validate_name(os.fspath(name_or_path))
    for directory in ((checkpoints_dir(),) if name in SHIPPED_NAMES else ()) + (runs_dir(),):
        path = directory / f"{name}{SUFFIX}"
        if path.is_file():
            return path
    known = sorted({info.name for info in list_checkpoints()})
    raise CheckpointError(
        f"no checkpoint named {name!r} (available: {', '.join(known) or 'none'})", NOT_FOUND, name=name
    )


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


def read_meta(name_or_path: str | os.PathLike) -> dict:
    """The checkpoint's metadata (config, tokenizer, history, metrics...) without loading weights."""
    path = resolve_checkpoint(name_or_path)
    return read_header(path, display_name(path)).meta


def load_checkpoint(name_or_path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint by shipped name, run name or path; never unpickles anything.

    Order matters: the header is validated first (layout, config, weight shapes and dtypes, size
    limit), so a hostile header is refused before any tensor is allocated; then the bytes are read
    (as many as the header declared), checksummed and checked for NaN; the model is built last.
    """
    from safetensors.torch import load as st_load  # late, like torch: see the note at the imports

    from bachlstm.model.lstm import LSTMModel

    path = resolve_checkpoint(name_or_path)
    label = display_name(path)
    header = read_header(path, label)
    meta, config = header.meta, header.config
    try:
        tokenizer = tokenizer_from_dict(meta["tokenizer"])
    except Exception as exc:  # any failure to rebuild the tokenizer is a bad checkpoint, say which
        raise CheckpointError(f"{label}: invalid tokenizer: {exc}") from exc
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{label}: cannot read checkpoint: {exc.strerror or exc}", UNREADABLE) from exc
    if len(data) != header.file_size:
        raise CheckpointError(f"{label}: the file changed while it was read; try again", CHANGED)
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types for malformed buffers
        raise CheckpointError(f"{label}: corrupt tensor data: {exc}") from exc
    del data
    if weights_digest(tensors) != meta["weights_sha256"]:
        raise CheckpointError(f"{label}: weights do not match their checksum (file corrupted)")
    extra = {k[len(EXTRA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}
    weights = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    _check_finite(label, weights)
    model = LSTMModel(config)
    model.load_state_dict(weights, strict=True)
    model.eval()
    return Checkpoint(model=model.to(device), tokenizer=tokenizer, meta=meta, path=path, extra=extra)


def _check_finite(label: str, tensors: dict[str, torch.Tensor]) -> None:
    import torch  # late: see the note at the imports

    for key, t in tensors.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{label}: {key} contains NaN or infinite values")


# Listing results by (path, size, mtime, inode): a file is checked once, until it changes.
_LISTING_CACHE: dict[tuple, CheckpointInfo] = {}


def checkpoint_info(path: Path, shipped: bool = False) -> CheckpointInfo:
    """Summary of one checkpoint file, fully checked without loading it; problems set `error`.

    The header is validated as load_checkpoint does and the tensor bytes are streamed for the
    checksum and NaN (1 MB at a time, no torch), so a file listed as usable does load. A FIFO, device
    or directory is never opened (opening a FIFO blocks): it is marked "skipped". Cached by file key.
    """
    name = path.name.removesuffix(SUFFIX)
    key = file_key(path)
    if key is None:
        log.warning("skipping %s: not a regular file", path)
        return CheckpointInfo(
            name,
            path,
            shipped,
            status="skipped",
            error="not a regular file, never opened",
            error_code=NOT_REGULAR,
        )
    cached = _LISTING_CACHE.get(key)
    if cached is not None:
        return dataclasses.replace(cached, shipped=shipped)
    info = _check_file(path, name, shipped)
    if len(_LISTING_CACHE) >= LISTING_CACHE_SIZE:
        _LISTING_CACHE.pop(next(iter(_LISTING_CACHE)))
    _LISTING_CACHE[key] = info
    return info


def _check_file(path: Path, name: str, shipped: bool) -> CheckpointInfo:
    info = CheckpointInfo(name=name, path=path, shipped=shipped)
    label = display_name(path)
    try:
        header = read_header(path, label)
        try:
            tokenizer_from_dict(header.meta["tokenizer"])
        except Exception as exc:  # any failure to rebuild the tokenizer is a bad checkpoint, say which
            raise CheckpointError(f"{label}: invalid tokenizer: {exc}") from exc
        verify_content(path, header, label)
    except CheckpointError as exc:
        info.status, info.error = "broken", str(exc).removeprefix(f"{label}: ")
        info.error_code, info.error_values = exc.code, dict(exc.values)
        return info
    meta = header.meta
    info.preset = meta.get("preset")
    info.tokenizer = (meta.get("tokenizer") or {}).get("name")
    info.metrics = dict(meta.get("metrics") or {})
    info.created = meta.get("created")
    owner = meta.get("owner")
    info.owner = owner if isinstance(owner, str) and owner else None
    info.n_params = sum(
        math.prod(t.shape) for k, t in header.tensors.items() if not k.startswith(EXTRA_PREFIX)
    )
    info.epoch = _int_or_none(meta.get("epoch"))
    train = (meta.get("preset_config") or {}).get("train")
    info.epochs = _int_or_none(train.get("epochs")) if isinstance(train, dict) else None
    if meta.get("complete") is False:
        info.status = "interrupted"
    elif meta.get("stopped"):
        info.status = "stopped"
    return info


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_checkpoints() -> list[CheckpointInfo]:
    """Shipped models first, then user runs (newest first); broken files are listed with `error` set."""
    infos = []
    shipped_dir = checkpoints_dir()
    if shipped_dir.is_dir():
        for path in sorted(shipped_dir.glob(f"*{SUFFIX}")):
            infos.append(checkpoint_info(path, shipped=path.stem in SHIPPED_NAMES))
    runs = runs_dir()
    if runs.is_dir() and runs.resolve() != shipped_dir.resolve():
        paths = sorted(runs.glob(f"*{SUFFIX}"), key=_mtime, reverse=True)
        infos.extend(checkpoint_info(p) for p in paths if NAME_RE.match(p.stem))
    return infos


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime  # stat never blocks, even on a FIFO
    except OSError:
        return 0.0
