"""Training: losses, checkpoints, the loop, and the torchrun/DDP context."""
