"""How a training setting is declared: its kind of value, default, help and where it belongs.

:class:`~tinygrad_mnist.train.TrainConfig` declares each of its fields with :func:`setting`, and
that one declaration is all there is: ``TrainConfig`` validation, the command line's options and
``--help``, the keys of TOML files, grid axes and did-you-mean hints are all derived from it.

A *kind* knows one sort of value: how to check it (returning the canonical form), how to read it
from command-line text, and how to describe it in ``--help``. Reading text only converts; every
rule is in ``check``, so text from the command line, a TOML value and a Python value meet the
same rule and get the same message.

Example:
    >>> from tinygrad_mnist.checks import POSITIVE
    >>> lr = Real(POSITIVE)
    >>> lr.check(lr.from_text("0.5"), "lr"), lr.describe()
    (0.5, '> 0')
    >>> lr.check(lr.from_text("fast"), "lr")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: lr must be a number, got 'fast'
"""
from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..checks import Bounds, check_bool, check_choice, check_float, check_int, shown
from ..errors import ConfigError

#: The parts of a run a setting belongs to, in the order ``--help`` lists them, with their titles.
PARTS = (
    ("model", "model"),
    ("loss", "loss"),
    ("optimizer", "optimizer"),
    ("schedule", "learning-rate schedule"),
    ("training", "training loop"),
    ("data", "data"),
    ("output", "output (changes only what is shown)"),
)


def _number_text(text: str) -> Any:
    """Text as an int or a float when it spells one; otherwise the text itself, for ``check`` to
    refuse with its own message."""
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


class Kind:
    """One sort of setting value. Subclasses define ``check``; the rest has defaults."""

    #: Whether the command line may give several values, making the setting a grid axis.
    axis = True
    #: How many tokens the ``train`` command's option takes (argparse ``nargs``; None = one).
    nargs: Optional[str] = None
    #: Whether the command line spells it as a ``--name`` / ``--no-name`` pair taking no value.
    is_flag = False

    def check(self, value: Any, name: str) -> Any:
        """``value`` in canonical form, or ConfigError naming ``name``."""
        raise NotImplementedError

    def from_text(self, text: str) -> Any:
        """One command-line token as a Python value (no rules applied)."""
        return text

    def from_tokens(self, tokens: Sequence[str]) -> Any:
        """The tokens of an option with ``nargs`` as one Python value."""
        return [self.from_text(token) for token in tokens]

    def describe(self) -> str:
        """The allowed values in words, for ``--help`` (``""`` when anything of the type goes)."""
        return ""

    def show(self, value: Any) -> str:
        """A value as ``--help`` and messages show it, spelled as it would be typed."""
        return "none" if value is None else str(value)

    def spelling(self, many: bool) -> str:
        """How to type values, for ``--help``: ``many`` when each token is one value of several
        (a grid axis), else when the option's tokens make one value (``""``: nothing to say)."""
        return ""


@dataclass(frozen=True)
class Real(Kind):
    """A finite float within bounds."""

    bounds: Bounds = Bounds()

    def check(self, value: Any, name: str) -> float:
        return check_float(value, name, self.bounds)

    def from_text(self, text: str) -> Any:
        return _number_text(text)

    def describe(self) -> str:
        return self.bounds.describe()


class Integer(Real):
    """An int within bounds (a whole float such as 50.0 counts)."""

    def check(self, value: Any, name: str) -> int:
        return check_int(value, name, self.bounds)


@dataclass(frozen=True)
class Choice(Kind):
    """One name out of a fixed set (case does not matter)."""

    choices: Tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))  # a registry dict gives its names

    def check(self, value: Any, name: str) -> str:
        return check_choice(value, name, self.choices)

    def describe(self) -> str:
        return f"one of: {', '.join(self.choices)}"


@dataclass(frozen=True)
class Flag(Kind):
    """True or false; on the command line ``--name`` / ``--no-name``."""

    axis = False
    is_flag = True

    def check(self, value: Any, name: str) -> bool:
        return check_bool(value, name)

    def from_text(self, text: str) -> Any:
        lowered = text.strip().lower()
        return {"true": True, "false": False}.get(lowered, text)

    def show(self, value: Any) -> str:
        return "on" if value else "off"


@dataclass(frozen=True)
class Widths(Kind):
    """A list of layer widths, each an int within bounds; ``[]`` means no layer.

    Text is one architecture with commas between layers (``"256,128"``, ``"none"`` for no layer);
    the ``train`` command takes the widths as separate tokens instead.
    """

    bounds: Bounds = Bounds(1)
    nargs = "*"

    def check(self, value: Any, name: str) -> List[int]:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list of layer widths such as [256, 128] ([] for none), "
                              f"got {shown(value)}")
        return [check_int(width, f"each width in {name}", self.bounds) for width in value]

    def from_text(self, text: str) -> Any:
        if text.strip().lower() in ("", "none"):
            return []
        return [_number_text(part) for part in text.split(",")]

    def from_tokens(self, tokens: Sequence[str]) -> Any:
        return [_number_text(token) for token in tokens]

    def describe(self) -> str:
        return f"each {self.bounds.describe()}"

    def show(self, value: Any) -> str:
        return " ".join(str(width) for width in value) if value else "none"

    def spelling(self, many: bool) -> str:
        if many:
            return "each value is one architecture, commas between layers, none for no hidden layer, e.g. 128 256,128 none"
        return "one width per layer; the option alone for no hidden layer (softmax regression)"


@dataclass(frozen=True)
class Weights(Kind):
    """One weight within bounds for every class, or one weight per class (``count`` of them)."""

    bounds: Bounds
    count: int
    nargs = "+"

    def check(self, value: Any, name: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return check_float(value, name, self.bounds)
        if len(value) not in (1, self.count):
            raise ConfigError(f"{name} must be one weight or {self.count} (one per class), got {len(value)}")
        weights = [check_float(weight, f"each weight in {name}", self.bounds) for weight in value]
        return weights[0] if len(weights) == 1 else weights

    def from_text(self, text: str) -> Any:
        parts = [_number_text(part) for part in text.split(",")]
        return parts[0] if len(parts) == 1 else parts

    def from_tokens(self, tokens: Sequence[str]) -> Any:
        return [_number_text(token) for token in tokens]

    def describe(self) -> str:
        return f"one weight {self.bounds.describe()} for every class, or {self.count}, one per class"

    def spelling(self, many: bool) -> str:
        return f"each value is one weight or {self.count} joined by commas" if many else ""

    def show(self, value: Any) -> str:
        return ",".join(str(weight) for weight in value) if isinstance(value, list) else super().show(value)


@dataclass(frozen=True)
class Reals(Kind):
    """Exactly ``count`` numbers, each within bounds (Adam's betas); held as a list.

    Text is the numbers with commas between them (``"0.9,0.999"``); the ``train`` command takes
    them as separate tokens instead.

    >>> betas = Reals(Bounds(0, 1, high_open=True), 2, ("beta1", "beta2"))
    >>> betas.check(betas.from_text("0.9,0.99"), "betas")
    [0.9, 0.99]
    >>> betas.check([0.9], "betas")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: betas must be 2 numbers (beta1 beta2), got [0.9]
    """

    bounds: Bounds
    count: int
    names: Tuple[str, ...]
    nargs = "+"

    def check(self, value: Any, name: str) -> List[float]:
        if not isinstance(value, (list, tuple)) or len(value) != self.count:
            raise ConfigError(f"{name} must be {self.count} numbers ({' '.join(self.names)}), got {shown(value)}")
        return [check_float(number, f"{part} (in {name})", self.bounds) for number, part in zip(value, self.names)]

    def from_text(self, text: str) -> Any:
        return [_number_text(part) for part in text.split(",")]

    def from_tokens(self, tokens: Sequence[str]) -> Any:
        return [_number_text(token) for token in tokens]

    def describe(self) -> str:
        return f"{' '.join(self.names)}, each {self.bounds.describe()}"

    def show(self, value: Any) -> str:
        return "none" if value is None else " ".join(f"{number:g}" for number in value)

    def spelling(self, many: bool) -> str:
        return f"each value is {self.count} numbers joined by commas, e.g. 0.9,0.999" if many else ""


@dataclass(frozen=True)
class FractionOrCount(Kind):
    """A fraction in [0, 1), or a whole count >= 1 (returned as an int)."""

    def check(self, value: Any, name: str) -> Any:
        number = check_float(value, name, Bounds(0))
        if number < 1:
            return number
        if not number.is_integer():
            raise ConfigError(f"{name} >= 1 is a count of examples and must be whole, got {number:g}")
        return int(number)

    def from_text(self, text: str) -> Any:
        return _number_text(text)

    def describe(self) -> str:
        return "a fraction >= 0 and < 1, or a count >= 1"


@dataclass(frozen=True)
class Folder(Kind):
    """A folder path (any path-like object is kept as text)."""

    axis = False

    def check(self, value: Any, name: str) -> str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{name} must be a folder path, got {shown(value)}")
        return value


@dataclass(frozen=True)
class OrNone(Kind):
    """``None`` (typed as ``none_word``, when there is one) or a value of ``kind``."""

    kind: Kind
    none_word: Optional[str] = None

    @property
    def axis(self) -> bool:  # type: ignore[override]
        return self.kind.axis

    @property
    def nargs(self) -> Optional[str]:  # type: ignore[override]
        return self.kind.nargs

    @property
    def is_flag(self) -> bool:  # type: ignore[override]
        return self.kind.is_flag

    def _is_none(self, value: Any) -> bool:
        if value is None:
            return True
        return self.none_word is not None and isinstance(value, str) and value.strip().lower() == self.none_word

    def check(self, value: Any, name: str) -> Any:
        if self._is_none(value):
            return None
        try:
            return self.kind.check(value, name)
        except ConfigError as error:
            if self.none_word is None or not isinstance(value, str):
                raise
            # A word that is not the none word: say that word exists.
            raise ConfigError(f"{error} (or {self.none_word!r})") from None

    def from_text(self, text: str) -> Any:
        return None if self._is_none(text) else self.kind.from_text(text)

    def from_tokens(self, tokens: Sequence[str]) -> Any:
        if len(tokens) == 1 and self._is_none(tokens[0]):
            return None
        return self.kind.from_tokens(tokens)

    def describe(self) -> str:
        inner = self.kind.describe()
        if self.none_word is None:
            return inner
        return f"{self.none_word}, or {inner}" if inner else self.none_word

    def show(self, value: Any) -> str:
        return (self.none_word or "none") if value is None else self.kind.show(value)

    def spelling(self, many: bool) -> str:
        return self.kind.spelling(many)


def spoken_list(items: Sequence[str], conjunction: str = "and") -> str:
    """Items as a sentence lists them.

    >>> spoken_list(["sgd"]), spoken_list(["adam", "adamw", "rmsprop"], "or")
    ('sgd', 'adam, adamw or rmsprop')
    """
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


@dataclass(frozen=True)
class ChoiceDefaults:
    """A setting that belongs to some values of another (choice) setting, with its default there.

    ``on`` names the other setting (``"optimizer"``, ``"model"``); ``defaults`` maps each of its
    values this setting applies to onto this setting's default for it. For any other value the
    setting does not apply, and a value other than its declared default is refused (``--betas``
    with ``--optimizer sgd``). A declared default of None means "the default of the chosen value".

    >>> lr = ChoiceDefaults("optimizer", {"sgd": 0.1, "adam": 0.001})
    >>> lr.applies("adam"), lr.applies("rmsprop"), lr.default("adam")
    (True, False, 0.001)
    """

    on: str
    defaults: Mapping[str, Any]

    def applies(self, choice: str) -> bool:
        """Whether the setting means something when ``on`` is ``choice``."""
        return choice in self.defaults

    def default(self, choice: str) -> Any:
        """The setting's default when ``on`` is ``choice`` (which it must apply to)."""
        return self.defaults[choice]

    def describe(self, kind: "Kind") -> str:
        """The defaults in words, for ``--help``: ``0.1 for sgd, 0.001 for adam and adamw``."""
        grouped: Dict[str, List[str]] = {}
        for choice, value in self.defaults.items():
            grouped.setdefault(kind.show(value), []).append(choice)
        return ", ".join(f"{value} for {spoken_list(choices)}" for value, choices in grouped.items())


@dataclass(frozen=True)
class Setting:
    """One training setting as declared with :func:`setting` next to its ``TrainConfig`` field.

    ``part`` groups it in ``--help`` (see ``PARTS``); ``depends`` (a :class:`ChoiceDefaults`) ties it to
    the values of another setting it belongs to; ``display_only`` marks settings that change
    only what is shown (or, for ``jit``, how fast it runs), never the results, so a resumed run may
    change them; ``local`` marks
    settings that say where things are on this machine (the data folder): a resumed or evaluated
    run takes them from the command line or the environment, never from the run's saved files, and
    verifies what it finds by checksum; ``metavar`` and ``default_text`` adjust how ``--help`` shows
    the value and the default.

    Example:
        >>> from tinygrad_mnist.train.config import SETTINGS_BY_NAME
        >>> lr = SETTINGS_BY_NAME["lr"]
        >>> lr.flag, lr.check(0.5), lr.kind.describe()
        ('--lr', 0.5, '> 0')
    """

    name: str
    kind: Kind
    default: Any
    help: str
    part: str
    metavar: Optional[str] = None
    default_text: Optional[str] = None
    display_only: bool = False
    local: bool = False
    depends: Optional[ChoiceDefaults] = None

    @property
    def flag(self) -> str:
        """The command-line option: ``--`` and the name with dashes."""
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """``value`` checked and in canonical form (ConfigError naming the setting otherwise)."""
        return self.kind.check(value, self.name)

    def describe_default(self) -> str:
        """The default as ``--help`` states it."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None and self.depends is not None:
            return f"{self.depends.describe(self.kind)} (by --{self.depends.on.replace('_', '-')})"
        return self.kind.show(self.default)

    def applies(self, config: Any) -> bool:
        """Whether the setting means something for ``config`` (see :class:`ChoiceDefaults`)."""
        return self.depends is None or self.depends.applies(getattr(config, self.depends.on))

    def value_in(self, config: Any) -> Any:
        """The value ``config`` uses: its own, or when that is None, the default of its choice.

        Example:
            >>> from tinygrad_mnist.train.config import SETTINGS_BY_NAME, TrainConfig
            >>> lr = SETTINGS_BY_NAME["lr"]
            >>> lr.value_in(TrainConfig()), lr.value_in(TrainConfig(optimizer="adam")), lr.value_in(TrainConfig(lr=0.5))
            (0.1, 0.001, 0.5)
        """
        value = getattr(config, self.name)
        if value is None and self.depends is not None and self.applies(config):
            return self.depends.default(getattr(config, self.depends.on))
        return value


_DECLARATION = "tinygrad_mnist.setting"


def setting(default: Any, kind: Kind, help: str, part: str, *, metavar: Optional[str] = None,
            default_text: Optional[str] = None, display_only: bool = False, local: bool = False,
            depends: Optional[ChoiceDefaults] = None) -> Any:
    """Declare a ``TrainConfig`` field as a setting: a dataclass field carrying its declaration.

    A list default is copied for every instance.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Config:
        ...     epochs: int = setting(10, Integer(Bounds(1)), "passes over the data", part="training")
        >>> [s.name for s in declared_settings(Config)], Config().epochs
        (['epochs'], 10)
    """
    if part not in dict(PARTS):
        raise ValueError(f"unknown part {part!r}; choose from {', '.join(dict(PARTS))}")
    declaration = {"kind": kind, "default": default, "help": help, "part": part, "metavar": metavar,
                   "default_text": default_text, "display_only": display_only, "local": local,
                   "depends": depends}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={_DECLARATION: declaration})
    return dataclasses.field(default=default, metadata={_DECLARATION: declaration})


@functools.lru_cache(maxsize=None)
def declared_settings(config_class: type) -> Tuple[Setting, ...]:
    """The settings declared on the fields of a dataclass, in field order (made once per class)."""
    return tuple(Setting(name=f.name, **f.metadata[_DECLARATION]) for f in dataclasses.fields(config_class))
