"""Seconds per training step of the shipped teacher and student configs (forward + backward + AdamW step), in
float32 and with the speed options of `train:` (bf16 autocast, channels_last, both).

    .venv/bin/python bench/train_step.py [--crop 128] [--batch 8] [--steps 5] [--threads N]

Prints parameters and the mean step time after one warm-up step, on synthetic inputs of the configured size
(the data pipeline is not timed). Use it to size `train.steps` for a time budget on a given machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from frd_q.config import load_config
from frd_q.models import build_model, model_name


MODES = {"fp32": (False, False), "channels_last": (False, True), "bf16": (True, False), "bf16+channels_last": (True, True)}


def step_time(cfg_path: str, crop: int, batch: int, steps: int, mode: str = "fp32") -> tuple[str, int, float]:
    bf16, channels_last = MODES[mode]
    cfg = load_config(cfg_path)
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.data.in_channels).train()
    a, b = torch.rand(batch, 3, crop, crop), torch.rand(batch, 3, crop, crop)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        a, b = (x.contiguous(memory_format=torch.channels_last) for x in (a, b))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = model(a, b).float().square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in model.parameters())
    return model_name(cfg.model), params, sum(times[1:]) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="Named tensors")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} of {args.crop}x{args.crop}")
    for path in ("configs/teacher.yaml", "configs/student_w4a4.yaml"):
        for mode in MODES:
            name, params, sec = step_time(path, args.crop, args.batch, args.steps, mode)
            print(f"{name:>14}: {params / 1e6:.3f} M params, {mode:>18}: {sec:.2f} s/step", flush=True)


if __name__ == "__main__":
    main()
