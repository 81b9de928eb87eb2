"""Allowed values of numeric arguments, declared once where the argument is, and checked where it enters.

A constructor declares a range in its signature, ``latent_dim: PositiveInt``, which stays a plain ``int`` for
jsonargparse, the CLI and the checkpoint, and :func:`check_arguments` (called by the model and data-module bases)
refuses a value outside it, naming the argument. The ``zoo`` subcommands' parsers use the same ranges through
:func:`number` (``type=number(int, AT_LEAST_1)``). Tests read the ranges back (:func:`declared_ranges`) to generate
values that must be refused.

Requests whose memory is impossible are refused before anything is allocated: :func:`check_memory` compares an
estimate of the bytes with the machine's memory and names the argument and the cost.
"""

import argparse
import inspect
import math
import os
import re
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from zoo.names import did_you_mean


class InvalidArgument(ValueError):
    """An argument's value is of the wrong type, outside its range, or would need more memory than there is."""


def one_line(error: BaseException, limit: int = 200) -> str:
    """``Type: message`` of ``error`` on one line, cut after ``limit`` characters: a cause quoted in a message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:limit]}"


@dataclass(frozen=True)
class Range:
    """The finite values from ``low`` to ``high`` (either may be None: unbounded); ``open`` ends exclude the bound;
    ``hint`` is added to the refusal (e.g. which value gives the plain behaviour)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    hint: str = ""

    def describe(self) -> str:
        """The range in words, e.g. ``>= 1``, ``> 0``, ``in [0, 1]``."""
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {low}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {high}"
        return "finite"

    def contains(self, value: float) -> bool:
        """Whether ``value`` is finite and within the bounds."""
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or (value < self.high or (not self.high_open and value == self.high))


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


AT_LEAST_1 = Range(low=1)
AT_LEAST_0 = Range(low=0)
ABOVE_0 = Range(low=0, low_open=True)
FINITE = Range()
UNIT = Range(0, 1)
PositiveInt = Annotated[int, AT_LEAST_1]
NonNegativeInt = Annotated[int, AT_LEAST_0]
PositiveFloat = Annotated[float, ABOVE_0]
NonNegativeFloat = Annotated[float, AT_LEAST_0]
FiniteFloat = Annotated[float, FINITE]
Seed = Annotated[int, Range(0, 2**32 - 1)]
"""A random seed, in the range every seeding function accepts."""
UnitFloat = Annotated[float, UNIT]
"""In [0, 1]: probabilities, quantiles, label values, interpolation weights."""
LabelFloat = Annotated[float, Range(0, 1, low_open=True)]
"""In (0, 1]: the target label of real images (below 1 for one-sided label smoothing)."""


def range_of(annotation: Any) -> tuple[type, Range] | None:
    """``(int or float, Range)`` of an ``Annotated[int | float, Range]`` annotation (also inside ``X | None``)."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        ranges = [extra for extra in extras if isinstance(extra, Range)]
        return (base, ranges[0]) if ranges and base in (int, float) else None
    optional = [arg for arg in get_args(annotation) if arg is not type(None)]
    return range_of(optional[0]) if len(optional) == 1 and len(get_args(annotation)) == 2 else None


def declared_ranges(cls: type) -> dict[str, tuple[type, Range]]:
    """Every constructor argument name that ``cls`` or one of its bases declares a range for (the most derived
    declaration wins), so a subclass that passes ``latent_dim`` on to a base is checked by the base's range."""
    ranges: dict[str, tuple[type, Range]] = {}
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            for parameter in inspect.signature(klass.__init__).parameters.values():
                declared = range_of(parameter.annotation)
                if declared is not None:
                    ranges.setdefault(parameter.name, declared)
    return ranges


def check_value(name: str, value: Any, kind: type, allowed: Range) -> None:
    """Raise :class:`InvalidArgument` naming ``name`` unless ``value`` is a ``kind`` (an int counts as a float)
    within ``allowed``."""
    accepted = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise InvalidArgument(f"{name} must be {'an integer' if kind is int else 'a number'} {allowed.describe()}, "
                              f"got {value!r} ({type(value).__name__})")
    if not allowed.contains(value):
        raise InvalidArgument(f"{name} must be {allowed.describe()}, got {value!r}"
                              + (f" ({allowed.hint})" if allowed.hint else ""))


def named_choice(name: str, lookup, *args):
    """``lookup(*args)`` (a table lookup or loss that refuses an unknown name with a ValueError), its refusal re-raised
    as :class:`InvalidArgument` naming the argument ``name``: a constructor's check of a choice it delegates."""
    try:
        return lookup(*args)
    except ValueError as error:
        raise InvalidArgument(f"{name}: {error}") from None


def check_arguments(cls: type, values: dict[str, Any]) -> None:
    """Check ``values`` (argument name -> value) against the ranges ``cls``'s constructors declare; None passes
    (it means "not set" for optional arguments)."""
    for name, (kind, allowed) in declared_ranges(cls).items():
        if values.get(name) is not None:
            check_value(name, values[name], kind, allowed)


def number(kind: type, allowed: Range):
    """An argparse ``type=`` that parses ``kind`` and refuses values outside ``allowed`` (read back by tests)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} {allowed.describe()}, got {text!r}") from None
        if not allowed.contains(value):
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.kind, parse.range = kind, allowed
    return parse


SEED = Range(0, 2**32 - 1)


class CommandParser(argparse.ArgumentParser):
    """The parser of a ``zoo`` subcommand: a bad argument ends as ``zoo: error: ...`` and a ``fix:`` line (exit 2)."""

    def error(self, message: str):
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:  # argparse lists the choices; say which one was probably meant
            message += did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)) or
                                    choice.group(2).split(", "))
        self.exit(2, f"zoo: error: {self.prog}: {message}\nfix: see `{self.prog} --help`.\n")


def comma_list(choices: tuple[str, ...]):
    """An argparse ``type=`` for a comma-separated list of names from ``choices`` (read back by tests)."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            close = did_you_mean(unknown[0], choices) if unknown else ""
            raise argparse.ArgumentTypeError(f"unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                                             f"choose from {','.join(choices)}.{close}")
        return names

    parse.__name__ = "list"
    parse.choices = choices
    return parse


def memory_bytes() -> int:
    """The machine's physical memory in bytes (a generous 1 TiB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**40


def human_bytes(count: float) -> str:
    """``count`` bytes as e.g. ``3.2 GB`` or ``4.0 TB``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1000
    raise AssertionError("unreachable")


def check_memory(what: str, needed: float, fix: str) -> None:
    """Refuse, before allocating, a request estimated at ``needed`` bytes if it exceeds the machine's memory.

    Args:
        what: the arguments and values responsible, e.g. ``--n 10000000000``.
        needed: the estimated bytes.
        fix: what to do instead.
    """
    available = memory_bytes()
    if needed > available:
        raise InvalidArgument(f"{what} would need about {human_bytes(needed)} of memory; this machine has "
                              f"{human_bytes(available)}. Fix: {fix}")
