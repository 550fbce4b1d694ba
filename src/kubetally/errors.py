"""Errors the CLI turns into one clear line (never a traceback)."""


class KubetallyError(Exception):
    """Base class: a problem the user can act on, with a message that says what and why."""


class DatasetError(KubetallyError):
    """A dataset directory is missing, invalid, or written by a newer kubetally."""


class ConfigError(KubetallyError):
    """A settings, price, policy or owners file is invalid."""


class SourceError(KubetallyError):
    """A source (Prometheus, a dump, a manifest directory) could not be read."""


class RetentionError(KubetallyError):
    """A retention run stopped (lost connection, full archive disk, a file that does not verify); nothing was lost."""
