"""The parameter catalogue: every policy parameter's name, type, default and meaning.

One registry (:data:`CATALOGUE`) holds the parameters of the public contract (API.md, "Policy
parameters"). Adding a parameter is one :meth:`ParameterRegistry.register` call; parsers,
validation, compliance and the API's catalogue all read from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

#: A normalised setting value: integers (None = unlimited where the parameter allows it),
#: choices (str), flags (bool) and sets (frozenset of str).
SettingValue: TypeAlias = int | str | bool | frozenset[str] | None

_MAX_MEMBER_LEN = 100  # a set member / choice is a short label, not a document


class ParamKind(StrEnum):
    """The parameter types of DESIGN.md's policy table and the constraints each accepts."""

    INTEGER = "integer"  # {"min", "max"}
    CHOICE = "choice"  # {"allowed": [...]}
    FLAG = "flag"  # {"locked": true, "value": bool}
    SET = "set"  # {"required": [...]}
    DURATION = "duration"  # {"max"} (whole days)


# Enum members cached as module constants: attribute access on an Enum class is a descriptor call
# in Python 3.11, and normalise() runs for every setting of every request.
_INTEGER, _DURATION, _FLAG, _CHOICE = ParamKind.INTEGER, ParamKind.DURATION, ParamKind.FLAG, ParamKind.CHOICE


@dataclass(frozen=True, slots=True)
class Parameter:
    """One policy parameter.

    ``choices`` lists a choice parameter's values from the most open to the most restrictive;
    when a space's setting falls outside its constraint, the engine falls back to the most
    restrictive allowed choice (see :func:`federation.policy.governing_value`).
    ``nullable`` integers and durations accept ``None``, meaning "no limit".
    """

    name: str
    kind: ParamKind
    default: SettingValue
    description: str
    choices: tuple[str, ...] = ()
    nullable: bool = False
    minimum: int = 0  # smallest meaningful value of an integer/duration (counts are never negative)
    unit: str | None = None
    maximum: int = 1_000_000
    """Largest value of an integer/duration a space may set (documented per parameter in
    docs/spaces-and-policy.md). Jobs act on these values (the retention purge turns days into
    dates), so an absurd one must be refused at the door, not discovered by a job at night."""

    def normalise(self, raw: object) -> SettingValue:
        """Check a raw (JSON-decoded) setting value and return its normalised form.

        Raises ValueError with a human message when the value has the wrong type or lies outside
        the parameter's domain (e.g. an unknown choice or a negative count).
        """
        kind = self.kind
        if kind is _INTEGER or kind is _DURATION:
            if raw is None:
                if self.nullable:
                    return None
                raise ValueError(f"{self.name} needs a whole number")
            # bool is an int subclass in Python; true/false are not counts.
            if type(raw) is not int:
                extra = " or null (no limit)" if self.nullable else ""
                raise ValueError(f"{self.name} needs a whole number{extra}, not {_describe(raw)}")
            if raw < self.minimum:
                raise ValueError(f"{self.name} must be at least {self.minimum}, not {raw}")
            if raw > self.maximum:
                raise ValueError(f"{self.name} must be at most {self.maximum}, not {raw}")
            return raw
        if kind is _FLAG:
            if type(raw) is not bool:
                raise ValueError(f"{self.name} needs true or false, not {_describe(raw)}")
            return raw
        if kind is _CHOICE:
            if type(raw) is not str:
                raise ValueError(f"{self.name} needs one of {', '.join(self.choices)}, not {_describe(raw)}")
            if raw not in self.choices:
                raise ValueError(f"{self.name} has no choice '{raw}'; use one of {', '.join(self.choices)}")
            return raw
        # SET
        return frozenset(string_members(self.name, raw))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for a catalogue endpoint."""
        out: dict[str, object] = {
            "name": self.name,
            "type": str(self.kind),
            "default": to_json_value(self.default),
            "description": self.description,
            "nullable": self.nullable,
        }
        if self.choices:
            out["choices"] = list(self.choices)
        if self.unit:
            out["unit"] = self.unit
        if self.kind is _INTEGER or self.kind is _DURATION:
            out["minimum"] = self.minimum
            out["maximum"] = self.maximum
        return out


def string_members(name: str, raw: object) -> list[str]:
    """The strings of a JSON array (set values, ``allowed``/``required`` lists); ValueError otherwise."""
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple | set | frozenset):
        raise ValueError(f"{name} needs a list of strings, not {_describe(raw)}")
    out: list[str] = []
    for item in raw:
        if type(item) is not str or not item.strip():
            raise ValueError(f"{name} needs a list of non-empty strings; {_describe(item)} is not one")
        if len(item) > _MAX_MEMBER_LEN:
            raise ValueError(f"{name}: '{item[:20]}...' is longer than {_MAX_MEMBER_LEN} characters")
        out.append(item)
    return out


def to_json_value(value: SettingValue) -> object:
    """A setting value in JSON-ready form (sets become sorted lists)."""
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _describe(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int):
        return "a number"
    if isinstance(raw, float):
        return "a decimal number"
    if isinstance(raw, str):
        return "a string"
    if isinstance(raw, list | tuple | set | frozenset):
        return "a list"
    if isinstance(raw, dict):
        return "an object"
    return type(raw).__name__


class ParameterRegistry:
    """The set of known parameters, by name. Registration order is kept for listings."""

    __slots__ = ("_params",)

    def __init__(self, params: Iterable[Parameter] = ()) -> None:
        self._params: dict[str, Parameter] = {}
        for p in params:
            self.register(p)

    def register(self, param: Parameter) -> Parameter:
        """Add a parameter; its name must be new, and a default must fit its own domain."""
        if param.name in self._params:
            raise ValueError(f"parameter {param.name} is already registered")
        if param.kind is ParamKind.CHOICE and not param.choices:
            raise ValueError(f"choice parameter {param.name} needs choices")
        if param.nullable and param.kind not in (ParamKind.INTEGER, ParamKind.DURATION):
            raise ValueError(f"only integer and duration parameters can be nullable ({param.name})")
        param.normalise(to_json_value(param.default))  # raises if the default is not a valid value
        self._params[param.name] = param
        return param

    def get(self, name: str) -> Parameter | None:
        """The parameter called ``name``, or None."""
        return self._params.get(name)

    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    def names(self) -> tuple[str, ...]:
        """Every parameter name, in registration order."""
        return tuple(self._params)

    def defaults(self) -> dict[str, SettingValue]:
        """Every parameter's default value."""
        return {name: p.default for name, p in self._params.items()}

    def to_list(self) -> list[dict[str, object]]:
        """JSON-ready catalogue."""
        return [p.to_dict() for p in self._params.values()]


JOIN_MODES = ("open", "parent_members", "request", "invite")  # most open first
CHAT_POSTING = ("members", "facilitators")
CADENCES = ("none", "quarterly", "monthly")  # most open first: "monthly" is the strictest

#: The catalogue of the public contract (API.md, "Policy parameters").
CATALOGUE = ParameterRegistry(
    [
        Parameter(
            "meetings.virtual_per_year",
            ParamKind.INTEGER,
            0,
            "Virtual meetings per program year.",
            maximum=365,
        ),
        Parameter(
            "meetings.in_person_per_year",
            ParamKind.INTEGER,
            0,
            "In-person meetings per program year.",
            maximum=365,
        ),
        Parameter(
            "meetings.with_event_per_year",
            ParamKind.INTEGER,
            0,
            "Meetings per program year held with one of the network's events (a convening, a conference).",
        ),
        Parameter(
            "meetings.cadence",
            ParamKind.CHOICE,
            "none",
            "How regularly a space meets: none, quarterly (a meeting in every quarter of the program "
            "year) or monthly (a meeting in every calendar month of the program year).",
            choices=CADENCES,
        ),
        Parameter(
            "facilitators.min_count",
            ParamKind.INTEGER,
            1,
            "Facilitators a space must have.",
            maximum=100,
        ),
        Parameter(
            "facilitators.training_required",
            ParamKind.FLAG,
            False,
            "Facilitators must be marked trained.",
        ),
        Parameter(
            "facilitators.compensated",
            ParamKind.FLAG,
            False,
            "Facilitators are paid for facilitating (who is, is recorded by the network's admins only).",
        ),
        Parameter(
            "sessions.required_components",
            ParamKind.SET,
            frozenset(),
            "Components every meeting agenda must include (e.g. quote, story, reflection).",
        ),
        Parameter(
            "membership.join_mode",
            ParamKind.CHOICE,
            "open",
            "How people join: open, request (facilitators approve), invite, parent_members "
            "(members of the parent space may join).",
            choices=JOIN_MODES,
        ),
        Parameter(
            "membership.max_members",
            ParamKind.INTEGER,
            None,
            "Size cap; null means no cap.",
            nullable=True,
            minimum=1,
            maximum=1_000_000,
        ),
        Parameter(
            "membership.guests_allowed",
            ParamKind.FLAG,
            True,
            "The space may be shared with other networks.",
        ),
        Parameter(
            "chat.retention_days",
            ParamKind.DURATION,
            None,
            "Chat messages older than this many days are purged; null keeps them.",
            nullable=True,
            minimum=1,
            maximum=36_500,
            unit="days",
        ),
        Parameter(
            "chat.posting",
            ParamKind.CHOICE,
            "members",
            "Who may post in the space's chat: members or facilitators only.",
            choices=CHAT_POSTING,
        ),
        Parameter(
            "nesting.max_depth",
            ParamKind.INTEGER,
            None,
            "How many levels of sub-spaces may nest below this space (0: none); null means no limit.",
            nullable=True,
            maximum=100,
        ),
    ]
)
