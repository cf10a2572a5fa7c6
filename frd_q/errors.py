"""Named errors for bad input.

Every error the user can cause (a missing file, a corrupt image, an unknown config key, a checkpoint from
another model) is raised as a subclass of `FrdError` with a message that names the offending file. The CLI turns
it into one line on stderr and a non-zero exit; nothing else is caught there.
"""


class FrdError(Exception):
    """Base class of user-facing errors: the message is the whole story."""


class DataError(FrdError):
    """A dataset, image or label is missing, unreadable or inconsistent."""


class ConfigError(FrdError):
    """A configuration file or override is invalid."""


class CheckpointError(FrdError):
    """A checkpoint is missing, unreadable or does not fit the requested use."""


class TrainingError(FrdError):
    """Training cannot go on (e.g. the loss diverged)."""
