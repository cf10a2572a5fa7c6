"""frd_q: bitemporal change detection, from feature-relational distillation to a low-bit FINN accelerator.

Package map:
  frd_q.config   typed run configuration (dataclasses loaded from YAML)
  frd_q.data     bitemporal datasets, tiling, augmentation
  frd_q.models   float teacher and Brevitas low-bit student (shared feature hooks)
  frd_q.train    losses, checkpoints, the training loop
  frd_q.metrics  change-class metrics accumulated over pixels
  frd_q.infer    full-image tiled inference, evaluation and prediction
  frd_q.apps.cli      the `frd-q` command
"""

__version__ = "0.1.0"
