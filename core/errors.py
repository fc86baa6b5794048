"""The project's own error types: each carries a message meant for a person."""


class MnistConvError(Exception):
    """Base of every error mnistconv raises on purpose."""


class DataError(MnistConvError):
    """The MNIST files are missing, unreadable or not what they claim to be."""


class AcquireError(DataError):
    """The MNIST files could not be fetched."""


class CheckpointError(MnistConvError):
    """A checkpoint cannot be written, or a file is not a usable mnistconv checkpoint."""


class ConfigError(MnistConvError):
    """A training parameter is out of range, or the asked-for device is absent."""
