"""`frd-q soup`: one model whose weights are the mean of several checkpoints of the same model ("model soup",
Wortsman et al. 2022), e.g. fine-tunes that started from the same weights; chosen on the val split.

    frd-q soup --checkpoint runs/teacher_ft128/best.pt runs/teacher_ft3/best.pt ... --name teacher_soup

Greedy, as the paper's greedy soup: every ingredient is validated alone on the first one's val split, then, best
first, each is kept only when adding it to the soup does not lower the soup's val dataset-mean F1 (at logit > 0,
what training uses to keep best.pt). Every floating-point tensor of the state is averaged (weights and BatchNorm
running statistics); integer buffers are the best ingredient's. The result is written as <out_dir>/<name>/best.pt,
a checkpoint like a run's: the best ingredient's config (renamed) and step, the soup's val metrics and decision
threshold, and `soup`, the list of what went in, which `frd-q ship` puts on the model card.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from frd_q.config import to_dict
from frd_q.errors import CheckpointError, ConfigError
from frd_q.fsutil import sha256


def mean_state(states: list[dict]) -> dict:
    """Per key, the mean of the floating-point tensors; integer tensors (batch counters) from the first state."""
    first = states[0]
    return {k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point() else v
            for k, v in first.items()}


def load_ingredients(paths: list[str]):
    """(model of the first, [Config of each], [checkpoint dict of each]); CheckpointError naming the first
    checkpoint whose model differs from the first one's."""
    from frd_q.train.checkpoint import checkpoint_config, load_checkpoint, load_model

    if len(paths) < 2:
        raise ConfigError("soup needs at least two checkpoints")
    model, cfg, first = load_model(paths[0])
    cfgs, ckpts = [cfg], [first]
    for path in paths[1:]:
        ckpt = load_checkpoint(path)
        other = checkpoint_config(ckpt, path)
        if to_dict(other.model) != to_dict(cfg.model) or other.data.in_channels != cfg.data.in_channels:
            raise CheckpointError(f"{path}: a different model from {paths[0]} ({ckpt.get('model_name')} vs "
                                  f"{first.get('model_name')}); a soup averages checkpoints of one model")
        if to_dict(other.data)["val"] != to_dict(cfg.data)["val"]:
            raise CheckpointError(f"{path}: validated on other pairs than {paths[0]}; a soup is chosen on one val "
                                  "split")
        if ckpt["model"].keys() != first["model"].keys():
            raise CheckpointError(f"{path}: its weights do not have the same tensors as {paths[0]}")
        cfgs.append(other)
        ckpts.append(ckpt)
    return model, cfgs, ckpts


def greedy_soup(paths: list[str], name: str, out_dir: str | Path = "runs", device: str = "cpu",
                log=print) -> Path:
    """Choose and average checkpoints as the module docstring says; return the written best.pt."""
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.train.checkpoint import save_checkpoint, train_wall_time
    from frd_q.train.loop import validation_metrics

    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"--name {name!r}: a plain run name is needed")
    model, cfgs, ckpts = load_ingredients(paths)
    cfg = cfgs[0]
    if not cfg.data.val:
        raise ConfigError(f"{paths[0]}: its config has no val split to choose a soup on")
    val_pairs = load_pairs(scan_sources(cfg.data.val), cfg.data.in_channels, cfg.data.label_threshold)
    model = model.to(device)

    def validate(state: dict) -> dict:
        model.load_state_dict(state)
        return validation_metrics(model.eval(), val_pairs, cfg.data.tile_size, device)

    alone = [validate(c["model"]) for c in ckpts]
    order = sorted(range(len(paths)), key=lambda i: -alone[i]["f1_mean"])
    for i in order:
        log(f"{paths[i]}: val dataset-mean F1 {alone[i]['f1_mean']:.4f} alone")
    kept, best = [order[0]], alone[order[0]]
    for i in order[1:]:
        trial = validate(mean_state([ckpts[j]["model"] for j in kept + [i]]))
        verdict = "kept" if trial["f1_mean"] >= best["f1_mean"] else "left out"
        log(f"+ {paths[i]}: soup of {len(kept) + 1}, val dataset-mean F1 {trial['f1_mean']:.4f}: {verdict}")
        if trial["f1_mean"] >= best["f1_mean"]:
            kept, best = kept + [i], trial
    state = mean_state([ckpts[j]["model"] for j in kept])
    walls = [train_wall_time(Path(paths[j]).parent) for j in kept]
    soup = [{"checkpoint": paths[j], "sha256": sha256(paths[j]), "name": ckpts[j]["config"].get("name"),
             "step": ckpts[j].get("step"), "val_f1_mean": alone[j]["f1_mean"]} for j in kept]
    out = Path(out_dir) / name / "best.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    step = ckpts[kept[0]].get("step")
    save_checkpoint(out, {"config": to_dict(replace(cfgs[kept[0]], name=name)), "model_name": ckpts[0]["model_name"],
                          "model": state, "step": step, "metrics": {"step": step, **best},
                          "best_f1": best["f1_mean"], "soup": soup,
                          "wall_time_s": sum(walls) if all(w is not None for w in walls) else None})
    log(f"{out}: the mean of {len(kept)} of {len(paths)} checkpoints, val dataset-mean F1 {best['f1_mean']:.4f} "
        f"(change = logit > {best['threshold']:g} chosen on val: {best['f1_mean_at_threshold']:.4f})")
    return out
