"""Distillation from a float teacher into a (quantized) student: FRD's BFDD and CCRD and the classic baselines.

    distiller = Distiller(cfg.distill, student, teacher)        # teacher frozen, float
    out_s = student(a, b, return_features=True)
    with torch.no_grad():
        out_t = teacher(a, b, return_features=True)
    loss, terms = distiller(out_s, out_t, label, valid, step)  # weighted sum, and each term for the logs

Equations and choices: docs/frd.md.
"""

from frd_q.distill.distiller import TERMS, Distiller

__all__ = ["TERMS", "Distiller"]
