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


def shown(value: object, quoted: bool = True, limit: int = 40) -> str:
    """A value as a message shows it: its repr (or str), on one line, cut with … past `limit` characters.

    Whatever the value: it may come from a file, and Python will not write an int of more than
    4,300 digits as text (ValueError), so such a number is described by its size instead."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * 0.30103) + 1
        text = f"a {'negative ' if value < 0 else ''}number of about {digits:,} digits"
    else:
        text = " ".join((repr(value) if quoted else str(value)).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
