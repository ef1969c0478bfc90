"""The establishment directory's API contract (docs/SERVICE.md §12): search answers and one
establishment with its predecessors and successors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from s2s.contracts.base import Model

Laestab = Annotated[str, Field(pattern=r"^[0-9]{7}$", description="3-digit LA code and 4-digit establishment number")]
LaCode = Annotated[str, Field(pattern=r"^[0-9]{3}$", description="A 3-digit LA code")]
SearchText = Annotated[
    str,
    Field(
        max_length=100,
        description="Words of the name (each may be the start of a word; case, punctuation, St/Saint and "
        "C of E/CE are alike), or a LAESTAB (8231234 or 823/1234) or URN",
    ),
]
PostcodeText = Annotated[str, Field(max_length=10, description="A postcode or the start of one (MK45, MK45 1)")]
StatusFilter = Literal["open", "closed", "any"]
SearchLimit = Annotated[int, Field(ge=1, le=100, description="How many establishments a page holds")]


class Successor(Model):
    laestab: str
    name: str


class DirectoryLoad(Model):
    version: Annotated[str, Field(description="The import this answer comes from")]
    imported_at: str
    establishments: int


class Establishment(Model):
    laestab: str
    urn: str
    name: str
    la: str
    la_name: str
    type: str
    phase: str
    status: Annotated[
        str, Field(description="As GIAS says: Open, Closed, Open but proposed to close, or Proposed to open")
    ]
    open: Annotated[bool, Field(description="False only when the establishment has closed")]
    open_date: str | None = None
    close_date: str | None = None
    postcode: str | None = None
    successor: Annotated[
        Successor | None,
        Field(description="For a closed establishment: the open one that took it over, when exactly one did"),
    ] = None


class EstablishmentList(Model):
    items: list[Establishment]
    total: Annotated[int, Field(description="How many establishments match, over every page")]
    next_cursor: str | None = None
    directory: Annotated[DirectoryLoad | None, Field(description="None until a directory has been imported")] = None


class LinkedEstablishment(Model):
    laestab: str
    urn: str | None = None
    name: str
    status: str
    close_date: str | None = None


class EstablishmentDetail(Establishment):
    predecessors: list[LinkedEstablishment]
    successors: list[LinkedEstablishment]
    directory: DirectoryLoad | None = None


__all__ = [
    "DirectoryLoad",
    "Establishment",
    "EstablishmentDetail",
    "EstablishmentList",
    "LaCode",
    "Laestab",
    "LinkedEstablishment",
    "PostcodeText",
    "SearchLimit",
    "SearchText",
    "StatusFilter",
    "Successor",
]
