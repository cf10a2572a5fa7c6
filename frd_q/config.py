"""Typed run configuration: dataclasses with a comment per field, loaded from YAML.

A config file has four sections, `data`, `model`, `loss`, `train`, plus a `name`. Unknown keys, wrong types and
bad choices raise `ConfigError` naming the file and the dotted key. Relative paths in a config are resolved
against the current working directory (the repository root in every documented command).

A file may start from another with `base: configs/<other>.yaml`: it then holds only what differs. Its sections
are merged key by key over the base's (a list replaces the base's list whole), a base may have a base of its
own, and `name` is never inherited, so that two configs cannot share a run folder. The config stored in a run
and a checkpoint is the merged one.

    cfg = load_config("configs/student_w4a4.yaml", overrides=["train.steps=50"])
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from frd_q.errors import ConfigError


class Arch(str, enum.Enum):
    TEACHER = "teacher"  # float ResNet-style Siamese change detector
    STUDENT = "student"  # Brevitas low-bit Siamese U-Net that FINN can compile
    EARLY = "early"  # Brevitas low-bit early-fusion encoder (6-channel input, stride-2 convs): all-RTL in FINN


class Fusion(str, enum.Enum):
    ABSDIFF = "absdiff"  # |f_A - f_B| per stage
    CONCAT = "concat"  # [f_A, f_B] along channels


class Downsample(str, enum.Enum):
    MAXPOOL = "maxpool"  # 2x2 max pooling between stages
    STRIDE = "stride"  # stride-2 3x3 convolution opens each stage


class Precision(str, enum.Enum):
    FP32 = "fp32"  # float32 throughout
    BF16 = "bf16"  # forward pass under torch.autocast(bfloat16), losses and weights in float32


@dataclass
class DataSource:
    root: str  #: a dataset folder <root>/{A,B,label}/ or a folder of such dataset folders
    split: str | None = None  #: keep the pairs named in <root>/list/<split>.txt (BIT/ChangeFormer layout)
    list: str | None = None  #: keep the pairs named in this file ("<dataset>/<name>" or "<name>", one per line)


@dataclass
class AugmentConfig:
    flip: bool = True  #: random horizontal/vertical flips (same for A, B, label)
    rot90: bool = True  #: random 90-degree rotations (same for A, B, label)
    swap: float = 0.5  #: probability of swapping the two dates (change masks are symmetric)
    jitter: float = 0.1  #: brightness/contrast jitter amplitude, drawn independently per date
    #: random rescale [lo, hi]: a training crop covers crop_size / s tile pixels, s log-uniform in [lo, hi], and is
    #: resized to crop_size (images bilinear, labels nearest); [1, 1] is off
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0])


@dataclass
class DataConfig:
    train: list[DataSource] = field(default_factory=list)  #: training sources, concatenated
    val: list[DataSource] = field(default_factory=list)  #: validation sources (full images, tiled)
    tile_size: int = 256  #: images are cut into tiles of this size; ragged edges are padded and masked
    crop_size: int = 256  #: random crop of each training tile (<= tile_size), smaller is faster
    change_crop: float = 0.5  #: probability that a training crop is centred on a changed pixel (class imbalance)
    in_channels: int = 3  #: bands per date; images with another band count are rejected
    label_threshold: int | None = None  #: None: labels must be {0,1,255}; else change = label > threshold
    augment: AugmentConfig = field(default_factory=AugmentConfig)  #: training augmentations


@dataclass
class ModelConfig:
    arch: Arch = Arch.STUDENT  #: teacher (float), student (Brevitas Siamese) or early (Brevitas early fusion)
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])  #: channels per encoder stage
    blocks: list[int] = field(default_factory=lambda: [2, 2, 2, 2])  #: teacher only: residual blocks per stage
    decoder_blocks: int = 0  #: teacher only: 3x3 conv-BN-ReLU blocks after each top-down merge (0: a linear FPN)
    context: list[int] = field(default_factory=list)  #: teacher only: dilations of context blocks at the deepest level
    fusion: Fusion = Fusion.ABSDIFF  #: how the two dates' features are fused at each stage
    downsample: Downsample = Downsample.MAXPOOL  #: student only: how stages reduce resolution
    weight_bits: int = 4  #: student only: weight bit width (1, 2, 4 or 8)
    act_bits: int = 4  #: student only: activation bit width (1, 2, 4 or 8)
    input_bits: int = 8  #: student only: bit width of the quantized image input (8 = raw 8-bit pixels)


@dataclass
class LossConfig:
    bce: float = 1.0  #: weight of the binary cross-entropy term
    dice: float = 1.0  #: weight of the soft Dice term on the change class
    pos_weight: float | None = None  #: BCE weight of changed pixels; None: sqrt(unchanged/changed) of the train set, clipped to [1, 10]


DISTILL_TERMS = ("kd", "fitnet", "at", "cwd", "bfdd", "ccrd")  #: the DistillConfig fields that weight a loss term


@dataclass
class DistillConfig:
    teacher: str | None = None  #: float teacher checkpoint; None: no distillation
    kd: float = 0.0  #: weight of per-pixel logit KD (Hinton)
    fitnet: float = 0.0  #: weight of FitNet feature regression (1x1 adapters)
    at: float = 0.0  #: weight of attention transfer
    cwd: float = 0.0  #: weight of channel-wise distillation
    bfdd: float = 0.0  #: weight of FRD's bitemporal feature distance distillation
    ccrd: float = 0.0  #: weight of FRD's contrastive cluster representation distillation
    kd_temperature: float = 2.0  #: KD temperature
    cwd_temperature: float = 4.0  #: CWD temperature
    ccrd_temperature: float = 0.1  #: CCRD contrastive temperature
    bfdd_relation: float = 1.0  #: weight of BFDD's cross-date relation term against its distance-map term
    pixels: int = 256  #: pixels sampled per image and iteration for the relation and contrastive terms
    #: student stages (0 = full resolution) whose features fitnet, at, cwd, bfdd and ccrd distil; empty: every stage
    stages: list[int] = field(default_factory=list)

    def weights(self) -> dict[str, float]:
        """The non-zero loss weights, by term name."""
        return {name: getattr(self, name) for name in DISTILL_TERMS if getattr(self, name)}

    @property
    def active(self) -> bool:
        return bool(self.weights())


@dataclass
class TrainConfig:
    steps: int = 500  #: optimizer steps
    batch_size: int = 8  #: samples per step (split across processes under torchrun)
    lr: float = 2e-3  #: peak AdamW learning rate
    weight_decay: float = 1e-4  #: AdamW weight decay
    decay_1d: bool = True  #: also decay 1-D parameters (norm weights, biases, learned quantizer scales)
    warmup_steps: int = 20  #: linear warm-up before the cosine decay
    seed: int = 0  #: seeds weights, batch order and augmentations (a run is a function of its config)
    val_every: int = 100  #: validate every N steps (and at the end); the best F1 is kept as best.pt
    log_every: int = 10  #: write a line to log.csv every N steps
    device: str = "auto"  #: auto (cuda if present), cpu, cuda or cuda:N
    precision: Precision = Precision.FP32  #: fp32, or bf16 autocast for the forward pass (needs a CPU with native bf16)
    channels_last: bool = False  #: NHWC memory format for model and batches (1.0x to 1.4x, bench/train_step.py)
    out_dir: str = "runs"  #: checkpoints and logs go to <out_dir>/<name>/
    init_from: str | None = None  #: start from these weights (same model config, bit widths aside; new optimizer)
    ema: float = 0.0  #: decay of an exponential moving average of the weights, validated and saved (0: off)
    context_lr: float = 1.0  #: lr multiplier of the teacher's context blocks (model.context), e.g. new in a fine-tune
    trainable: list[str] = field(default_factory=list)  #: train only parameters named with these prefixes (all: [])


@dataclass
class Config:
    name: str = "run"  #: run name, also the output sub-folder
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self, where: str) -> Config:
        """Check value ranges the types cannot express; raise ConfigError naming `where`."""
        m, d, t = self.model, self.data, self.train
        checks = [
            (m.weight_bits in (1, 2, 3, 4, 5, 6, 7, 8), f"model.weight_bits={m.weight_bits} (use 1..8)"),
            (m.act_bits in (1, 2, 3, 4, 5, 6, 7, 8), f"model.act_bits={m.act_bits} (use 1..8)"),
            (2 <= m.input_bits <= 8, f"model.input_bits={m.input_bits} (use 2..8)"),
            (len(m.widths) >= 2 and min(m.widths) > 0, f"model.widths={m.widths} (two or more positive stages)"),
            (m.arch != Arch.TEACHER or len(m.blocks) == len(m.widths), "model.blocks must have one entry per width"),
            (m.decoder_blocks >= 0 and (m.arch == Arch.TEACHER or m.decoder_blocks == 0),
             f"model.decoder_blocks={m.decoder_blocks} (>= 0, and a teacher setting)"),
            ((not m.context or m.arch == Arch.TEACHER) and all(k >= 1 for k in m.context),
             f"model.context={m.context} (dilations >= 1, and a teacher setting)"),
            (t.context_lr > 0 and (t.context_lr == 1.0 or m.context),
             f"train.context_lr={t.context_lr} (> 0, and only with model.context)"),
            (d.tile_size % 32 == 0 and d.tile_size > 0, f"data.tile_size={d.tile_size} (a positive multiple of 32)"),
            (0 < d.crop_size <= d.tile_size and d.crop_size % 32 == 0, f"data.crop_size={d.crop_size} (multiple of 32, <= tile_size)"),
            (0.0 <= d.augment.swap <= 1.0, f"data.augment.swap={d.augment.swap} (a probability)"),
            (len(d.augment.scale) == 2 and 0 < d.augment.scale[0] <= d.augment.scale[1]
             and round(d.crop_size / d.augment.scale[0]) <= d.tile_size,
             f"data.augment.scale={d.augment.scale} ([lo, hi] with 0 < lo <= hi and crop_size / lo <= tile_size)"),
            (0.0 <= d.change_crop <= 1.0, f"data.change_crop={d.change_crop} (a probability)"),
            (t.steps > 0 and t.batch_size > 0 and t.val_every > 0 and t.log_every > 0, "train.steps/batch_size/val_every/log_every must be > 0"),
            (not self.distill.active or self.distill.teacher, "distill: loss weights are set but distill.teacher is not"),
            (min(getattr(self.distill, n) for n in DISTILL_TERMS) >= 0, "distill: loss weights must be >= 0"),
            (0.0 <= t.ema < 1.0, f"train.ema={t.ema} (a decay in [0, 1); 0 turns the average off)"),
            (self.distill.pixels >= 2, f"distill.pixels={self.distill.pixels} (at least 2)"),
            (len(set(self.distill.stages)) == len(self.distill.stages) and min(self.distill.stages, default=0) >= 0,
             f"distill.stages={self.distill.stages} (distinct stage indices >= 0; empty: every stage)"),
        ]
        for ok, what in checks:
            if not ok:
                raise ConfigError(f"{where}: invalid value {what}")
        return self


def yaml_error_line(e: Exception) -> str:
    """A YAML parse error in one line: what went wrong and where (PyYAML's own message spans several lines)."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict:
    """The top-level mapping of a YAML file ({} when empty); one ConfigError naming the file otherwise."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} file not found") from None
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read YAML: {yaml_error_line(e)}") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of {what} settings")
    return raw


def read_config_mapping(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config file's mapping with its `base:` chain merged in (see the module docstring)."""
    path = Path(path)
    raw = read_yaml_mapping(path)
    if "base" not in raw:
        return raw
    base = raw.pop("base")
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base must be the path of another config file, got {base!r}")
    if "name" not in raw:
        raise ConfigError(f"{path}: a config with a base must set its own name (names are not inherited)")
    seen = _seen + (path.resolve(),)
    if Path(base).resolve() in seen:
        chain = " -> ".join(str(p) for p in seen + (Path(base).resolve(),))
        raise ConfigError(f"{path}: base {base} leads back to a file already in the chain: {chain}")
    if not Path(base).is_file():
        raise ConfigError(f"{path}: base {base}: config file not found")
    return _merged(read_config_mapping(base, seen), raw)


def _merged(base: dict, over: dict) -> dict:
    """`base` with `over`'s keys put over it; mappings found in both are merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a YAML config (its `base:` chain merged in), apply `key.sub=value` overrides, return a validated Config."""
    path = Path(path)
    raw = read_config_mapping(path)
    for item in overrides:
        apply_override(raw, item, str(path))
    return from_dict(Config, raw, str(path)).validate(str(path))


def load_sources(path: str | Path) -> list[DataSource]:
    """A YAML list of data sources ({root, split, list} mappings), e.g. configs/splits/test.yaml."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read YAML: {yaml_error_line(e)}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: expected a non-empty YAML list of data sources ({{root, list}} mappings)")
    return [from_dict(DataSource, item, str(path), f"[{i}].") for i, item in enumerate(raw)]


def config_from_dict(raw: dict, where: str = "<dict>") -> Config:
    """Build a validated Config from a plain dict (e.g. the one stored in a checkpoint)."""
    return from_dict(Config, raw, where).validate(where)


def apply_override(raw: dict, item: str, where: str) -> None:
    """Set `a.b.c=value` in a nested dict; the value is parsed as YAML (so 3, 0.5, null, [1,2] work)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"{where}: override {item!r} is not of the form key.sub=value")
    node = raw
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: override {item!r}: {p} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: override {item!r}: {yaml_error_line(e)}") from None


def to_dict(cfg) -> dict:
    """A plain, YAML-safe dict of a config dataclass (enums as their values)."""
    def plain(v):
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(dataclasses.asdict(cfg))


def from_dict(cls, raw, where: str, prefix: str = ""):
    """Build dataclass `cls` from `raw`, rejecting unknown keys and wrong types with the dotted key path."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{prefix or '<top>'}' must be a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{prefix}{unknown[0]}' (known keys here: {', '.join(names)})")
    kwargs = {k: _convert(hints[k], v, where, f"{prefix}{k}") for k, v in raw.items()}
    return cls(**kwargs)


def _convert(tp, value, where: str, key: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0])
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' must be a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_convert(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' must be a mapping, got {value!r}")
        k_type, v_type = typing.get_args(tp)
        return {_convert(k_type, k, where, key): _convert(v_type, {} if v is None else v, where, f"{key}.{k}")
                for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, key + ".")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(m.value for m in tp)
            raise ConfigError(f"{where}: '{key}' = {value!r} is not one of: {choices}") from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is tp):
        return value
    raise ConfigError(f"{where}: '{key}' must be {getattr(tp, '__name__', tp)}, got {value!r}")
