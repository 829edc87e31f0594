"""The shape of a protocol file: pydantic models, validated on load.

A protocol is data. The engine reads these models and nothing else to know who may speak, for how
long, which stems to offer and which words sound like advice.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


class Speaking(StrEnum):
    """Who may speak in a phase: the catalogue's codes."""

    PRESENTER_ONLY = "P-ONLY"
    QUESTIONS = "Q&A"
    ROUND = "ROUND"
    PEERS = "PEERS"
    ALL = "ALL"
    SILENCE = "SILENCE"


class EndRule(StrEnum):
    """What ends a phase on its own. A facilitator's `next` always can."""

    TIMER = "TIMER"
    ROUND_DONE = "ROUND-DONE"
    PRESENTER = "P"
    FACILITATOR = "FAC"
    AGREED = "AGREED"


TURN_TAKING = frozenset({Speaking.QUESTIONS, Speaking.ROUND})
PRESENTER_SILENT = frozenset({Speaking.ROUND, Speaking.PEERS})
NEEDS_PRESENTER = frozenset({Speaking.PRESENTER_ONLY, Speaking.QUESTIONS, Speaking.PEERS})


def _invalid(message: str, *loc: str | int) -> PydanticCustomError:
    """A validation error that also says where, below the model that raised it."""
    return PydanticCustomError("protocol", "{message}", {"message": message, "loc": loc})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSize(_Strict):
    min: int = Field(2, ge=2, le=12)
    max: int = Field(6, ge=2, le=30)
    suggested: int = Field(4, ge=2, le=30)

    @model_validator(mode="after")
    def _ordered(self) -> GroupSize:
        if not self.min <= self.suggested <= self.max:
            raise ValueError("group_size needs min <= suggested <= max")
        return self


class Warnings(_Strict):
    """How long before a time limit the bot says time is nearly up."""

    phase_seconds: int = Field(60, ge=0, le=600)
    turn_seconds: int = Field(30, ge=0, le=300)


class Phase(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    speaking: Speaking
    ends_by: tuple[EndRule, ...] = Field(min_length=1)
    minutes: float | None = Field(None, gt=0, le=240)
    turn_minutes: float | None = Field(None, gt=0, le=60)
    stems: tuple[str, ...] = ()
    advice_check: bool = False
    returns_notes: bool = False
    asks_for_actions: bool = False
    contract: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        if EndRule.TIMER in self.ends_by and self.minutes is None:
            raise _invalid("ends_by has TIMER, so minutes is required", "minutes")
        if EndRule.ROUND_DONE in self.ends_by and self.speaking not in TURN_TAKING:
            raise _invalid(
                "ROUND-DONE needs speaking ROUND or Q&A, where peers take turns", "ends_by"
            )
        if self.turn_minutes is not None and self.speaking not in TURN_TAKING:
            raise _invalid(
                "turn_minutes only applies when speaking is ROUND or Q&A", "turn_minutes"
            )
        if EndRule.AGREED in self.ends_by and self.contract is None:
            raise _invalid("ends_by has AGREED, so contract must name the ground rules", "contract")
        if len(set(self.ends_by)) != len(self.ends_by):
            raise _invalid("ends_by lists a rule twice", "ends_by")
        return self


class Protocol(_Strict):
    """One protocol file. `name` is the file's stem, set by the loader."""

    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    source: str = Field(min_length=1)
    group_size: GroupSize = GroupSize()
    warnings: Warnings = Warnings()
    stems: dict[str, tuple[str, ...]] = {}
    advice_markers: tuple[str, ...] = ()
    advice_stem: str | None = None
    contracts: dict[str, tuple[str, ...]] = {}
    opening: tuple[Phase, ...] = ()
    round: tuple[Phase, ...] = Field(min_length=1)
    closing: tuple[Phase, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> Protocol:
        seen: set[str] = set()
        for block, index, phase in self._located_phases():
            if phase.id in seen:
                raise _invalid(f"phase id {phase.id!r} is used twice", block, index, "id")
            seen.add(phase.id)
            for stem in phase.stems:
                if stem not in self.stems:
                    raise _invalid(
                        f"stems names {stem!r}, which is not under stems", block, index, "stems"
                    )
            if phase.contract is not None and phase.contract not in self.contracts:
                raise _invalid(
                    f"contract {phase.contract!r} is not under contracts", block, index, "contract"
                )
            if phase.advice_check and not self.advice_markers:
                raise _invalid("advice_check needs advice_markers", block, index, "advice_check")
        return self

    def _located_phases(self) -> list[tuple[str, int, Phase]]:
        blocks = (("opening", self.opening), ("round", self.round), ("closing", self.closing))
        return [(name, i, phase) for name, phases in blocks for i, phase in enumerate(phases)]

    @model_validator(mode="after")
    def _needs_presenter(self) -> Protocol:
        for block in ("opening", "closing"):
            for phase in getattr(self, block):
                if phase.speaking in NEEDS_PRESENTER or EndRule.PRESENTER in phase.ends_by:
                    raise ValueError(
                        f"{block} phase {phase.id!r}: {phase.speaking.value} and P need a"
                        " presenter, so they belong in round phases"
                    )
                if phase.returns_notes:
                    raise ValueError(
                        f"{block} phase {phase.id!r}: returns_notes belongs in a round phase"
                    )
        return self

    def phases(self) -> tuple[Phase, ...]:
        return self.opening + self.round + self.closing
