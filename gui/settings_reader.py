"""Reading the window's settings file, where any value may be anything: the one validating layer.

A settings file is the user's to edit, and may be damaged: `epochs=99999999999999`, `seed` with
twenty digits, `noise_std=nan`, `geometry=hello`, a list where a number belongs. Each value is read
through a `Field` that says what is acceptable; anything else is ignored (the default stays) and
named in one line for the event log, so the window always starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings

from mnistconv.core.config import RULES
from mnistconv.core.errors import ConfigError
from mnistconv.core.shape import SEED_SHAPE, check_shape, parse_channels


class Unusable(ValueError):
    """A stored value this field cannot take; the message says why, for a person."""


@dataclass(frozen=True)
class Field:
    key: str  # "training/epochs"
    parse: Callable[[Any], Any]  # the stored value → the value to use, or Unusable


def _show(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:39] + "…"


def setting(name: str, highest: float | None = None) -> Callable[[Any], Any]:
    """A training setting, read as core.config's rule for it reads any value (and within `highest`, a
    field's own limit, when smaller)."""
    rule = RULES[name]

    def parse(value: Any):
        try:
            result = rule.parse(value)
        except ConfigError:
            raise Unusable(f"not {rule.requirement}") from None
        if highest is not None and result > highest:
            raise Unusable(f"above this field's largest, {highest:g}")
        return result

    return parse


def shape_part(name: str) -> Callable[[Any], Any]:
    """The network shape's "channels" (as a tuple), "kernel" or "hidden", refused in core.shape's words
    (the other two parts taken as the seed's)."""

    def parse(value: Any):
        if name == "channels" and isinstance(value, list):
            value = ",".join(map(str, value))  # Qt reads a hand-written 16,32,32 as a list
        try:
            if name == "channels":
                return parse_channels(value)
            return getattr(check_shape(**{**SEED_SHAPE.to_dict(), name: _whole_number(value)}), name)
        except ConfigError as exc:
            raise Unusable(str(exc)) from None

    return parse


def _whole_number(value: Any) -> Any:
    """'32' (as a settings file holds numbers) as 32; anything else as it is, for the check to refuse."""
    try:
        return int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        return value


def one_of(choices) -> Callable[[Any], str]:
    choices = tuple(choices)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise Unusable(f"not one of {', '.join(choices)}")
        return value

    return parse


def text(value: Any) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise Unusable("not text")
    return value


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Unusable("not true or false")


def saved_state(value: Any) -> QByteArray:
    """A blob Qt saved (window geometry, splitter sizes): only ever a byte array."""
    if isinstance(value, QByteArray):
        return value
    if isinstance(value, (bytes, bytearray)):
        return QByteArray(bytes(value))
    raise Unusable("not a saved window state")


def read(settings: QSettings, field: Field, problems: list[str]) -> Any | None:
    """The field's stored value made usable, or None when it is absent or unusable (then a line
    naming the key is added to `problems`)."""
    try:
        stored = settings.value(field.key)
    except Exception as exc:  # noqa: BLE001 - QSettings itself can fail on a value it wrote oddly
        problems.append(f"Settings: ignored {field.key} (cannot be read: {type(exc).__name__}); using the default")
        return None
    if stored is None:
        return None
    try:
        return field.parse(stored)
    except Unusable as exc:
        problems.append(f"Settings: ignored {field.key} = {_show(stored)} ({exc}); using the default")
        return None
