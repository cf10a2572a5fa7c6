"""The `frd-q` command.

    frd-q train     --config configs/student_w4a4.yaml [--set train.steps=100] [--resume | --overwrite]
    frd-q evaluate  --checkpoint runs/student_w4a4/best.pt --data ../shared/data/real_cd [--list F] [--json OUT]
    frd-q evaluate  --checkpoint checkpoints/teacher.pt     (the test split, configs/splits/test.yaml, as --sources)
    frd-q compare   --checkpoint checkpoints/teacher.pt checkpoints/student_w4a4.pt     (the test split too)
    frd-q compare   --group none runs/none_s?/best.pt --group frd runs/frd_s?/best.pt --sources SPLIT.yaml
    frd-q predict   --checkpoint runs/student_w4a4/best.pt --a A.tif --b B.tif --out mask.tif [--overlap 32]
    frd-q predict   --model build/ZCU104 --a A.png --b B.png --out mask.png    (the deployed integer graph)
    frd-q data      --data ../shared/data/real_cd_train
    frd-q info      --checkpoint runs/student_w4a4/best.pt
    frd-q ship      --checkpoint runs/teacher/best.pt --name teacher   (checkpoints/teacher.pt + its model card)
    frd-q cards     (every shipped model measured on the test split again; cards and checkpoints/README.md rewritten)
    frd-q ablate    --config configs/ablation.yaml
    frd-q seu       --build build/ZCU104 --data ../shared/data/real_cd [--limit 4] [--rates 1e-5,1e-4]
    frd-q export    --checkpoint runs/student_w4a4/best.pt --out build/student.onnx [--tile 256] [--check ROOT]
    frd-q sweep     --config configs/sweep_reduced.yaml --jobs 2     [--list | --teacher | --pretrain | --point K]
    frd-q report    --sweep runs/sweep_reduced
    frd-q synth     --build build/ZCU104
    frd-q build     --board ZCU104 --checkpoint runs/student_w4a4/best.pt [--out build/ZCU104] [--target-fps N]
    frd-q check-hw  --build build/ZCU104 --data ../shared/data/real_cd [--limit N]
    frd-q verify    --build build/ZCU104 --data ../shared/data/real_cd [--levels hw,rtl] [--limit N]

flows/build.py, flows/check_hw.py and flows/verify.py are the same commands as scripts.

Every user error (bad file, bad config, wrong checkpoint) ends as one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from frd_q.errors import FrdError
from frd_q.train.device import resolve_device

TEST_SPLIT = "configs/splits/test.yaml"  # the split every model card reports; the default of --sources


def cmd_train(args) -> None:
    from frd_q.config import load_config
    from frd_q.train.loop import train

    cfg = load_config(args.config, args.set)
    metrics = train(cfg, resume=args.resume, overwrite=args.overwrite, stop_after=args.stop_after,
                    progress=not args.no_progress)
    if "f1" in metrics:
        print(f"{cfg.name}: step {metrics['step']} val f1={metrics['f1']:.4f} iou={metrics['iou']:.4f}")


def pair_records(args, command: str):
    """The pair records named by --data (a dataset root, with --split / --list) or by --sources (a split's YAML list
    of data sources); with neither, the test split (TEST_SPLIT, relative to the working directory)."""
    from frd_q.config import DataSource, load_sources
    from frd_q.data.dataset import scan_root, scan_sources
    from frd_q.errors import ConfigError

    if args.data is not None and args.sources is not None:
        raise ConfigError(f"{command}: --data and --sources both name pairs; give one (neither: {TEST_SPLIT})")
    if args.data is not None:
        return scan_root(DataSource(root=args.data, split=args.split, list=args.list))
    if args.sources is None and not Path(TEST_SPLIT).is_file():
        raise ConfigError(f"{TEST_SPLIT}: not found, and {command} reads it when neither --data nor --sources is "
                          "given; run from the repository root or pass one")
    return scan_sources(load_sources(args.sources or TEST_SPLIT))


def cmd_evaluate(args) -> None:
    from frd_q.data.dataset import load_pairs
    from frd_q.fsutil import write_json
    from frd_q.infer import evaluate_pairs
    from frd_q.metrics import dataset_mean, format_table
    from frd_q.train.checkpoint import decision_threshold, load_model

    records = pair_records(args, "evaluate")
    device = resolve_device(args.device)
    model, cfg, ckpt = load_model(args.checkpoint)
    threshold = decision_threshold(ckpt) if args.threshold is None else args.threshold
    pairs = load_pairs(records, cfg.data.in_channels, cfg.data.label_threshold)
    total, per_dataset = evaluate_pairs(model.to(device), pairs, args.tile or cfg.data.tile_size, args.overlap,
                                        device, threshold)
    print(f"{args.checkpoint}: change = logit > {threshold:g}")
    rows = {}
    if len(per_dataset) > 1:
        rows = {f"{k} ({sum(p.record.dataset == k for p in pairs)})": c.metrics() for k, c in per_dataset.items()}
        rows[f"dataset mean ({len(per_dataset)})"] = dataset_mean(per_dataset)
    rows[f"all ({len(pairs)} pairs)"] = total.metrics()
    print(format_table(rows))
    if args.json:
        write_json(args.json, total.metrics())


def cmd_compare(args) -> None:
    from frd_q.compare import bootstrap, check_settings, count_models, format_comparison
    from frd_q.errors import ConfigError
    from frd_q.fsutil import write_json

    records = pair_records(args, "compare")
    check_settings(args.block, args.resamples, args.level)
    groups = [(path, [path]) for path in args.checkpoint or []]
    for group in args.group or []:
        if len(group) < 2:
            raise ConfigError(f"--group {' '.join(group)}: a name, then one or more checkpoints")
        groups.append((group[0], group[1:]))
    if not groups:
        raise ConfigError("compare needs --checkpoint or --group")
    paths = list(dict.fromkeys(p for _, members in groups for p in members))  # each file counted once
    per_model, thresholds, pairs = count_models(paths, records, args.block, resolve_device(args.device),
                                                log=lambda line: print(line, file=sys.stderr))
    result = bootstrap(per_model, paths, thresholds, args.block, args.resamples, args.seed, args.level, pairs,
                       [(name, [paths.index(p) for p in members]) for name, members in groups])
    print(format_comparison(result))
    if args.json:
        write_json(args.json, result.to_dict())


def cmd_predict(args) -> None:
    from frd_q.errors import ConfigError
    from frd_q.scene import SceneOptions, TorchRunner, parse_bands, parse_range, run_scene

    if (args.checkpoint is None) == (args.model is None):
        raise ConfigError("predict needs exactly one of --checkpoint (PyTorch) or --model (a FINN build folder)")
    if args.checkpoint:
        from frd_q.train.checkpoint import decision_threshold, load_model

        device = resolve_device(args.device)
        model, cfg, ckpt = load_model(args.checkpoint)
        threshold = decision_threshold(ckpt) if args.threshold is None else args.threshold
        runner, channels, tile, name = TorchRunner(model.to(device), device, threshold), cfg.data.in_channels, \
            args.tile or cfg.data.tile_size, args.checkpoint
    else:
        from hw.runner import BuildRunner, QonnxRunner

        runner = QonnxRunner(args.model) if args.model.endswith(".onnx") else BuildRunner(args.model)
        if args.threshold is not None:
            runner.threshold = args.threshold
        channels, tile, name = runner.channels, args.tile or runner.tile, args.model
    bar = None

    def progress(done: int, total: int) -> None:  # one bar over the strips of a large scene
        nonlocal bar
        if bar is None and total > 1 and not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="strips", unit="strip", dynamic_ncols=True, leave=False)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        options = SceneOptions(tile=tile, overlap=args.overlap, channels=channels, bands=parse_bands(args.bands),
                               value_range=parse_range(args.range), png=args.png, overlay=args.overlay,
                               min_pixels=args.min_region, batch_size=args.batch_size, model_name=str(name),
                               progress=progress)
        stats = run_scene(args.a, args.b, runner, args.out, options)
    finally:
        if bar is not None:
            bar.close()
    print(f"{args.out}: {stats['width']}x{stats['height']}, {100 * stats['changed_fraction']:.2f}% changed, "
          f"{stats['regions']} regions, {stats['tiles']} tiles in {stats['seconds']} s, "
          f"peak memory {stats['peak_rss_mb']:.0f} MiB; regions in {stats['outputs']['geojson']}, "
          f"statistics in {stats['outputs']['stats']}")


def cmd_data(args) -> None:
    from frd_q.config import DataSource
    from frd_q.data.dataset import TileDataset, load_pairs, scan_root

    records = scan_root(DataSource(root=args.data, split=args.split, list=args.list))
    pairs = load_pairs(records, args.channels, args.label_threshold)  # reads and checks every file
    groups: dict[str, list] = {}
    for p in pairs:
        groups.setdefault(p.record.dataset or args.data, []).append(p)
    groups["all"] = pairs
    print(f"{'dataset':<20} {'pairs':>5} {'tiles':>6} {'min size':>10} {'max size':>10} {'changed':>8}")
    for name, ps in groups.items():
        sizes = sorted((p.label.shape[1], p.label.shape[0]) for p in ps)
        tiles = TileDataset(ps, args.tile)
        print(f"{name:<20} {len(ps):>5} {len(tiles):>6} {'%dx%d' % sizes[0]:>10} {'%dx%d' % sizes[-1]:>10} "
              f"{100 * tiles.change_fraction():>7.2f}%")


def cmd_info(args) -> None:
    from frd_q.train.checkpoint import load_model

    model, cfg, ckpt = load_model(args.checkpoint)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.checkpoint}: {ckpt['model_name']} ({params / 1e6:.3f} M parameters), step {ckpt['step']}")
    print(f"  stages: channels {list(model.stage_channels)}, strides {list(model.stage_strides)}")
    print(f"  metrics: {ckpt['metrics']}")


def cmd_ship(args) -> None:
    from frd_q.apps.ship import ship

    card = ship(args.checkpoint, args.name, args.out, args.sources, args.command)
    test = card["test"]["dataset mean"]
    print(f"{args.out}/{card['file']}: sha256 {card['sha256']}, test dataset-mean F1 {100 * test['f1']:.1f} "
          f"(change = logit > {card['threshold']:g}); card in {args.out}/README.md")


def cmd_cards(args) -> None:
    from frd_q.apps.ship import remeasure

    for card in remeasure(args.out, args.sources):
        test = card["test"]["dataset mean"]
        lo, hi = card["test_intervals"]["f1"]["dataset mean"]
        print(f"{args.out}/{card['file']}: test dataset-mean F1 {100 * test['f1']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]")
    print(f"cards in {args.out}/README.md")


def cmd_soup(args) -> None:
    from frd_q.train.soup import greedy_soup

    out = greedy_soup(args.checkpoint, args.name, args.out_dir, resolve_device(args.device))
    print(f"next: frd-q evaluate --checkpoint {out} --sources configs/splits/val.yaml, "
          f"or frd-q ship --checkpoint {out}")


def cmd_ablate(args) -> None:
    from frd_q.distill.ablate import load_ablation, parse_shard, run_ablation

    cfg = load_ablation(args.config)
    written = run_ablation(cfg, progress=not args.no_progress, shard=parse_shard(args.shard), table_only=args.table)
    if written is not None:
        print(written.read_text())


def cmd_export(args) -> None:
    import numpy as np

    from frd_q.config import DataSource
    from frd_q.data.dataset import load_pairs, scan_root
    from frd_q.export import export_checkpoint, run_qonnx
    from frd_q.export.qonnx import run_torch
    from frd_q.train.checkpoint import load_model

    result = export_checkpoint(args.checkpoint, args.tile, args.out, remove_ties=not args.keep_ties)
    path = result["onnx"]
    print(f"wrote {path} and {result['checkpoint']}")
    if result["ties"]:
        t = result["ties"]
        print(f"tie removal: {t['channels_shifted']} of {t['channels']} channels shifted by at most "
              f"{t['max_shift']:.3f} accumulator units; closest threshold to an integer {t['closest_before']:.4f} "
              f"-> {t['closest_after']:.4f}")
    if args.check:
        model, cfg, _ = load_model(result["checkpoint"])
        worst, flips, n = 0.0, 0, 0
        for p in load_pairs(scan_root(DataSource(root=args.check)), cfg.data.in_channels)[: args.check_pairs]:
            a, b = p.a[: args.tile, : args.tile], p.b[: args.tile, : args.tile]
            if a.shape[:2] != (args.tile, args.tile):
                continue
            out, ref = run_qonnx(path, a, b), run_torch(model, a, b)
            worst, flips, n = max(worst, float(np.abs(out - ref).max())), flips + int(((out > 0) != (ref > 0)).sum()), n + 1
        print(f"QONNX vs PyTorch on {n} real tiles: max |logit difference| {worst:.2e}, {flips} change decisions differ")


def cmd_build(args) -> int:
    from hw.boards import catalogue_table, get_board
    from hw.flow import BuildConfig, run_flow

    if args.board.lower() == "list":
        print(catalogue_table())
        return 0
    board = get_board(args.board)
    if args.checkpoint is None:
        raise FrdError("--checkpoint is required to build")
    cfg = BuildConfig(checkpoint=args.checkpoint, board=board.name, out=args.out or Path("build") / board.name,
                      tile=args.tile, target_fps=args.target_fps, folding=args.folding, clock_ns=args.clock_ns,
                      fit_limit=args.fit_limit, mvau_wwidth_max=args.mvau_wwidth_max, fifo_sizing=args.fifo_sizing,
                      start_step=args.start_step, stop_step=args.stop_step, overwrite=args.overwrite)
    summary = run_flow(cfg)
    est = summary.estimates
    if est:
        t, u = est["total"], est["utilization"]
        print(f"{board.name}: {est['fps']:.2f} tiles/s of {cfg.tile}x{cfg.tile} ({est['megapixels_per_s']:.2f} Mpixel/s)"
              f" at {est['clock_mhz']:g} MHz; LUT {t['LUT']:.0f} ({100 * u['LUT']:.1f} %), BRAM_18K {t['BRAM_18K']:.1f}"
              f" ({100 * u['BRAM_18K']:.1f} %), DSP {t['DSP']:.0f}; bottleneck {est['bottleneck']}")
        if (summary.folding or {}).get("limited_by") == "folding limits":
            print(f"  speed limited by folding limits, not by the board: try --mvau-wwidth-max "
                  f"{2 * cfg.mvau_wwidth_max}")
    if summary.fifos_sized:
        sizing = summary.fifo_sizing
        print(f"  FIFOs sized by simulation: {sizing['total']['bits'] / 8192:.1f} KiB in all, {sizing['deep']} deeper "
              f"than FINN's (fifo_sizing.json)")
    if summary.resources:
        r = summary.resources
        t, u = r["total"], r["utilization"]
        print("  whole accelerator (frd_q's resource model, FIFOs and width converters included): "
              + ", ".join(f"{k} {t[k]:.0f} ({100 * u[k]:.1f} %)" for k in t if u[k] is not None)
              + (" - fits" if r["fits"] else " - does NOT fit") + " (resources.md)")
    hls = (summary.hdl or {}).get("hls_layers")
    if hls:
        print(f"  {len(hls)} layers are HLS only (need Vitis HLS): {', '.join(hls[:6])}{' ...' if len(hls) > 6 else ''}")
    print(f"outputs in {cfg.out}")
    return 0


def cmd_check_hw(args) -> int:
    from sim.check import check_hw_graph

    r = check_hw_graph(args.build, args.data, args.list, args.limit, log=print)
    print(f"{r['tiles']} tiles, {r['elements']} output integers, {r['mismatches']} mismatches"
          + (f" (first at {r['first_mismatch']}, max |diff| {r['max_abs_diff']})" if r["mismatches"] else ""))
    return 1 if r["mismatches"] else 0


def cmd_verify(args) -> int:
    from frd_q.fsutil import write_json, write_text
    from sim.verify import LEVELS, Level, markdown, verify

    levels = LEVELS if args.levels is None else Level.parse(x.strip() for x in args.levels.split(",") if x.strip())
    report = verify(args.build, args.data, args.list, args.limit, levels, args.in_stall, args.out_stall,
                    log=None if args.quiet else print)
    out = Path(args.report) if args.report else Path(args.build) / "verify"
    write_json(out.with_suffix(".json"), report)
    text = markdown(report)
    write_text(out.with_suffix(".md"), text)
    print(text + f"\n{report['wall_s']} s; report in {out.with_suffix('.md')} and .json")
    return 1 if any(r["mismatches"] or r["first_layer"] for r in report["levels"]) else 0


def cmd_seu(args) -> None:
    from sim.seu import campaign, markdown

    split = lambda text, kind: [kind(t) for t in text.split(",") if t.strip()] if text else None  # noqa: E731
    try:
        bits, rates = split(args.bits, int), split(args.rates, float) or []
    except ValueError as e:
        from frd_q.errors import ConfigError

        raise ConfigError(f"--bits/--rates: {e}") from None
    report = campaign(args.build, args.data, args.out, args.list, args.limit, split(args.layers, str), bits,
                      args.trials, args.flips, rates, args.rate_trials, args.protect,
                      None if args.protect_kind == "all" else args.protect_kind, args.seed,
                      None if args.quiet else print)
    print(markdown(report))


def cmd_sweep(args) -> None:
    from frd_q.apps.sweep import (ensure_pretrain, ensure_sweep_teacher, find_point, load_sweep, pretrain_widths,
                                  run_point, run_sweep, status_table, write_record)
    from frd_q.errors import ConfigError

    cfg = load_sweep(args.config)
    if args.list:
        print(status_table(cfg))
        return
    write_record(cfg, args.config)
    if args.teacher:
        ensure_sweep_teacher(cfg, progress=not args.no_progress)
        print(f"teacher ready: {cfg.teacher}")
        return
    if args.pretrain:
        if not pretrain_widths(cfg):
            raise ConfigError(f"{args.config}: no pretrain_steps, so the points train from scratch")
        for widths in pretrain_widths(cfg):
            print(f"pretrain {widths} ready: {ensure_pretrain(cfg, widths, progress=not args.no_progress)}")
        return
    if args.point is not None:
        record = run_point(cfg, find_point(cfg, args.point), progress=not args.no_progress)
        print(f"{record['point']['name']}: F1 {record['eval']['f1']:.4f}; record in "
              f"{cfg.out_dir}/points/{record['point']['name']}/point.json")
        return
    records = run_sweep(cfg, args.config, jobs=args.jobs)
    print(f"sweep: {len(records)} points in {cfg.out_dir}; next: frd-q report --sweep {cfg.out_dir}")


def cmd_report(args) -> None:
    from frd_q.apps.report import write_report

    paths = write_report(args.sweep, args.out, samples=args.samples)
    print(f"wrote {paths['md']} and {paths['html']} ({len(paths['png'])} plots)")


def cmd_synth(args) -> None:
    from hw.synth import markdown, synthesize

    print(markdown(synthesize(args.build, cache=args.cache)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frd-q", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a teacher or student from a YAML config")
    t.add_argument("--config", required=True, help="YAML config (see configs/)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    t.add_argument("--resume", action="store_true", help="continue from <out_dir>/<name>/last.pt")
    t.add_argument("--overwrite", action="store_true", help="start over even if the run folder has checkpoints")
    t.add_argument("--stop-after", type=int, default=None, metavar="STEP", help="end this run at STEP (resumable)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    def tiling(q):
        q.add_argument("--tile", type=int, default=None, help="tile size (default: the config's data.tile_size)")
        q.add_argument("--overlap", type=int, default=0, help="pixels shared by neighbouring tiles (averaged)")
        q.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda or cuda:N")
        q.add_argument("--threshold", type=float, default=None,
                       help="change = logit > THRESHOLD (default: the checkpoint's, chosen on the val split, else 0)")

    def data_source(q, required=True):
        q.add_argument("--data", required=required, help="dataset root (<root>/{A,B,label} or a folder of them)")
        q.add_argument("--split", default=None, help="use <root>/list/<split>.txt")
        q.add_argument("--list", default=None, help="file of pair names to use ('<dataset>/<name>')")

    def build_and_tiles(q, build_help, data_help):
        q.add_argument("--build", required=True, help=build_help)
        q.add_argument("--data", default="../shared/data/real_cd", help=data_help)
        q.add_argument("--list", default=None, help="file of pair names to use ('<dataset>/<name>')")

    e = sub.add_parser("evaluate", help="metrics of a checkpoint on full images of a dataset root")
    e.add_argument("--checkpoint", required=True)
    data_source(e, required=False)
    e.add_argument("--sources", default=None, metavar="YAML",
                   help=f"a YAML list of data sources instead of --data (default: {TEST_SPLIT})")
    e.add_argument("--json", default=None, help="also write the overall metrics as JSON here")
    tiling(e)
    e.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("compare", help="checkpoints on the same pairs, with paired block-bootstrap intervals")
    c.add_argument("--checkpoint", nargs="+", default=[],
                   help="checkpoints, one row each; differences are to the first row")
    c.add_argument("--group", nargs="+", action="append", metavar="NAME CHECKPOINT",
                   help="a row that is the mean of several checkpoints (e.g. the seeds of one variant), after the "
                        "--checkpoint rows; repeatable")
    data_source(c, required=False)
    c.add_argument("--sources", default=None, metavar="YAML",
                   help=f"a YAML list of data sources instead of --data (default: {TEST_SPLIT})")
    c.add_argument("--block", type=int, default=64, help="side of the square blocks resampled (pixels)")
    c.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    c.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    c.add_argument("--level", type=float, default=0.95, help="coverage of the percentile intervals")
    c.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda or cuda:N")
    c.add_argument("--json", default=None, help="also write every figure, interval and difference as JSON here")
    c.set_defaults(func=cmd_compare)

    r = sub.add_parser("predict", help="change mask, regions and statistics of one image pair or whole scene")
    r.add_argument("--checkpoint", default=None, help="PyTorch checkpoint (or --model)")
    r.add_argument("--model", default=None, metavar="BUILD", help="a flows/build.py folder (the deployed integer graph) or an exported .onnx")
    r.add_argument("--a", required=True, help="time-1 image: PNG/JPEG/GeoTIFF, any size")
    r.add_argument("--b", required=True, help="time-2 image, same size (and grid, if georeferenced)")
    r.add_argument("--out", required=True,
                   help="mask, .tif (GeoTIFF with the input's CRS/transform) or .png; OUT.geojson and OUT.json beside")
    r.add_argument("--png", default=None, help="also write the mask as this PNG")
    r.add_argument("--overlay", default=None, help="also write changes in red over the time-2 image (.tif or .png)")
    r.add_argument("--bands", default=None, help="1-based bands to use, e.g. 4,3,2 (default: the first ones)")
    r.add_argument("--range", default=None, metavar="LOW,HIGH", help="map non-8-bit pixels LOW..HIGH onto 0..255")
    r.add_argument("--min-region", type=int, default=1, metavar="PIXELS", help="drop smaller regions from the GeoJSON")
    r.add_argument("--batch-size", type=int, default=4, help="windows per model call")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    tiling(r)
    r.set_defaults(func=cmd_predict)

    d = sub.add_parser("data", help="read and check every pair of a dataset root, print its statistics")
    data_source(d)
    d.add_argument("--channels", type=int, default=3, help="bands expected per image")
    d.add_argument("--label-threshold", type=int, default=None, help="change = label > threshold")
    d.add_argument("--tile", type=int, default=256, help="tile size for the tile count")
    d.set_defaults(func=cmd_data)

    i = sub.add_parser("info", help="describe a checkpoint")
    i.add_argument("--checkpoint", required=True)
    i.set_defaults(func=cmd_info)

    sh = sub.add_parser("ship", help="a run's checkpoint as a shipped model: weights + model card with test metrics")
    sh.add_argument("--checkpoint", required=True, help="the run's checkpoint, e.g. runs/teacher/best.pt")
    sh.add_argument("--name", required=True, help="file name under --out: <name>.pt, <name>.json")
    sh.add_argument("--out", default="checkpoints", help="folder of shipped models (default checkpoints)")
    sh.add_argument("--sources", default=TEST_SPLIT, help="the test split's sources")
    sh.add_argument("--command", default=None, help="the command that trained it, for the card")
    sh.set_defaults(func=cmd_ship)

    cd = sub.add_parser("cards", help="measure the shipped models on the test split again and rewrite their cards")
    cd.add_argument("--out", default="checkpoints", help="folder of shipped models (default checkpoints)")
    cd.add_argument("--sources", default=TEST_SPLIT, help="the test split's sources")
    cd.set_defaults(func=cmd_cards)

    so = sub.add_parser("soup", help="average the weights of checkpoints of one model, greedily chosen on val")
    so.add_argument("--checkpoint", nargs="+", required=True, help="two or more checkpoints of the same model")
    so.add_argument("--name", required=True, help="run name: writes <out-dir>/<name>/best.pt")
    so.add_argument("--out-dir", default="runs")
    so.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda or cuda:N")
    so.set_defaults(func=cmd_soup)

    ab = sub.add_parser("ablate", help="train one student per distillation variant and seed, tabulate F1/IoU")
    ab.add_argument("--config", required=True, help="ablation YAML (see configs/ablation.yaml)")
    ab.add_argument("--no-progress", action="store_true", help="no progress bars")
    ab.add_argument("--shard", default="0/1", metavar="I/N",
                    help="train only runs I, I+N, ... of the plan (workers share the rest through claim files)")
    ab.add_argument("--table", action="store_true",
                    help="train nothing: tabulate the runs finished so far (ablation_partial.md while some are missing)")
    ab.set_defaults(func=cmd_ablate)

    x = sub.add_parser("export", help="export a student checkpoint to QONNX (the FINN flow's input)")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", required=True, help="output .onnx")
    x.add_argument("--tile", type=int, default=256, help="input tile size of the exported graph")
    x.add_argument("--check", default=None, metavar="ROOT", help="compare with PyTorch on real tiles of ROOT")
    x.add_argument("--check-pairs", type=int, default=4, help="how many pairs of ROOT to compare (4)")
    x.add_argument("--keep-ties", action="store_true", help="export the weights unchanged (no tie removal)")
    x.set_defaults(func=cmd_export)

    v = sub.add_parser("verify", help="bit-accuracy of a FINN build at every level, PyTorch to RTL simulation")
    build_and_tiles(v, "flows/build.py output folder (through the codegen step)",
                    "data root whose tiles are pushed through")
    v.add_argument("--limit", type=int, default=None, help="only the first N tiles")
    v.add_argument("--levels", default=None, help="comma list of torch,qonnx,streamlined,hw,rtl (default: all)")
    v.add_argument("--in-stall", type=float, default=0.0, help="probability the RTL source withholds valid")
    v.add_argument("--out-stall", type=float, default=0.0, help="probability the RTL sink withholds ready")
    v.add_argument("--report", default=None, help="report path without suffix (default <build>/verify)")
    v.add_argument("--quiet", action="store_true", help="no line per tile")
    v.set_defaults(func=cmd_verify)

    u = sub.add_parser("seu", help="single-event-upset injection into a build's weight and threshold memories")
    build_and_tiles(u, "flows/build.py output folder", "labelled data root the F1 is measured on")
    u.add_argument("--limit", type=int, default=4, help="tiles to measure on (4)")
    u.add_argument("--layers", default=None, help="comma list of memories (MVAU_3 or MVAU_rtl_3; default all)")
    u.add_argument("--bits", default=None, help="comma list of bit positions (default every bit of each word)")
    u.add_argument("--trials", type=int, default=1, help="random words tried per memory and bit (1)")
    u.add_argument("--flips", type=int, default=1, help="words flipped at once per trial (1: a single upset)")
    u.add_argument("--rates", default="1e-5,1e-4,1e-3", help="bit error rates for the protection sweep ('' = none)")
    u.add_argument("--rate-trials", type=int, default=3, help="trials per bit error rate (3)")
    u.add_argument("--protect", type=int, default=4, help="TMR on this many memories, those upsets hurt most (4)")
    u.add_argument("--protect-kind", default="all", choices=["all", "thresholds", "weights"],
                   help="which memories may be protected (all)")
    u.add_argument("--seed", type=int, default=0)
    u.add_argument("--out", default=None, help="report folder (default <build>/seu)")
    u.add_argument("--quiet", action="store_true", help="no line per measurement")
    u.set_defaults(func=cmd_seu)

    w = sub.add_parser("sweep", help="train, evaluate, build and synthesize students over bit widths x widths x distill")
    w.add_argument("--config", required=True, help="sweep YAML (see configs/sweep_reduced.yaml)")
    w.add_argument("--jobs", type=int, default=1, help="points run at once, each in its own process (1)")
    one = w.add_mutually_exclusive_group()
    one.add_argument("--list", action="store_true", help="print the points and which are done")
    one.add_argument("--teacher", action="store_true", help="only train the shared teacher (first job of an array)")
    one.add_argument("--pretrain", action="store_true", help="only the pretrain runs, one per width (pretrain_steps)")
    one.add_argument("--point", default=None, help="run one point, by number or name (one job-array task)")
    w.add_argument("--no-progress", action="store_true", help="no progress bars")
    w.set_defaults(func=cmd_sweep)

    rp = sub.add_parser("report", help="accuracy-vs-resource report (Markdown + HTML, Pareto plots) of a sweep")
    rp.add_argument("--sweep", required=True, help="sweep output folder (its out_dir)")
    rp.add_argument("--out", default=None, help="report folder (default <sweep>/report)")
    rp.add_argument("--samples", type=int, default=3, help="real pairs shown as change maps (3)")
    rp.set_defaults(func=cmd_report)

    sy = sub.add_parser("synth", help="Yosys synthesis of a build's RTL layers beside FINN's estimates")
    sy.add_argument("--build", required=True, help="flows/build.py output folder (through codegen)")
    sy.add_argument("--cache", default=None, help="cache folder of per-layer results (default <build>/synth/cache)")
    sy.set_defaults(func=cmd_synth)

    add_build_parser(sub)

    c = sub.add_parser("check-hw", help="the FINN hardware-layer graph of a build vs the PyTorch student, every tile")
    c.add_argument("--build", type=Path, required=True, help="flows/build.py output folder")
    c.add_argument("--data", type=Path, required=True, help="data root with {A,B,label} folders")
    c.add_argument("--list", help="optional list file of pair names")
    c.add_argument("--limit", type=int, help="check only the first N tiles")
    c.set_defaults(func=cmd_check_hw)
    return p


def add_build_parser(sub) -> None:
    from hw.fifo_sizing import FifoSizing  # light: the flow itself (qonnx, FINN) is imported only to build

    b = sub.add_parser("build", help="the FINN flow: a dataflow accelerator for a student checkpoint and a board",
                       description="Runs the steps of hw/steps.py as far as the installed tools allow (without "
                                   "Vivado / Vitis HLS: through RTL code generation and FIFO sizing) and writes the "
                                   "outputs listed in hw/buildfolder.py.")
    b.add_argument("--board", required=True, help="board name from hw/boards.yaml, or 'list' to print the catalogue")
    b.add_argument("--checkpoint", type=Path, help="student checkpoint (frd-q train output)")
    b.add_argument("--out", type=Path, help="output folder (default build/<board>)")
    b.add_argument("--tile", type=int, default=256, help="tile size the accelerator processes (default 256)")
    fold = b.add_mutually_exclusive_group()
    fold.add_argument("--target-fps", type=float, help="tiles per second to fold for (default: fastest that fits)")
    fold.add_argument("--folding", type=Path, help="FINN folding JSON to apply")
    b.add_argument("--clock-ns", type=float, help="clock period in ns (default: the board's)")
    b.add_argument("--fit-limit", type=float, default=0.9, help="largest share of each board resource to use (0.9)")
    b.add_argument("--mvau-wwidth-max", type=int, default=288,
                   help="widest MVAU weight stream in bits (PE*SIMD*weight bits) folding may use (288)")
    b.add_argument("--fifo-sizing", choices=[m.value for m in FifoSizing], default=FifoSizing.RATE.value,
                   help="FIFO depths of a branching graph by Verilator simulation: rate (default: the occupancy with "
                        "the sources paced at the frame rate, on a 64-row band of the tile, proved with the FIFOs "
                        "capped there), search (smallest full-speed depths by bisection and the depths that "
                        "deadlock; slow at 256x256), room (one run: the occupancy with room everywhere), off (FINN's "
                        "depth 2)")
    b.add_argument("--start-step", help="resume from this step (a step name of hw/steps.py)")
    b.add_argument("--stop-step", help="stop after this step (an error if its tools are missing)")
    b.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    b.set_defaults(func=cmd_build)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # keep stderr for what the user must read: brevitas triggers a torch "no CUDA runtime" notice on import and
    # a named-tensor UserWarning on every quantized forward
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Named tensors", category=UserWarning)
    try:
        code = args.func(args)
    except FrdError as e:
        print(f"frd-q: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("frd-q: interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
