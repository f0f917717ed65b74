"""Where an agent's behaviour comes from: a behaviour source (the node tree), or a script-built spec.

Sources are callables ``source(obj) -> Behaviour | None`` registered by other packages (the node
editor registers one that compiles the agent's behaviour tree); the first that returns a
behaviour wins. Without one, the spec a script stored on the agent (``set_behaviour``) is used.
A source reports a broken configuration by raising ``specs.SpecError`` with a message that names
the node or setting at fault; the Academy adds the agent's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..core import specs as S

BehaviourSource = Callable[[object], "S.Behaviour | None"]
_sources: list[BehaviourSource] = []
_revisions: list[Callable[[object], object]] = []
_provenances: list[Callable[[object], Provenance | None]] = []


@dataclass(frozen=True)
class Provenance:
    """Which node made which part of an agent's behaviour (a source's, e.g. the node tree's)."""

    behaviour: S.Behaviour  # the behaviour it describes
    tree: str = ""  # the node tree's name
    write_nodes: tuple[str, ...] = ()  # the node of each of ``behaviour.writes``
    origins: Mapping[S.Expr, str] = field(default_factory=dict)  # expression -> the node whose output it is


class NoBehaviour(S.SpecError):
    """The agent has neither a behaviour tree nor a behaviour spec."""


def register_source(source: BehaviourSource) -> None:
    """Add a behaviour source (idempotent)."""
    if source not in _sources:
        _sources.append(source)


def unregister_source(source: BehaviourSource) -> None:
    if source in _sources:
        _sources.remove(source)


def register_revision(revision: Callable[[object], object]) -> None:
    """Add a ``revision(obj)`` function: a value that changes whenever the agent's behaviour is edited."""
    if revision not in _revisions:
        _revisions.append(revision)


def unregister_revision(revision: Callable[[object], object]) -> None:
    if revision in _revisions:
        _revisions.remove(revision)


def register_provenance(provenance: Callable[[object], Provenance | None]) -> None:
    """Add a ``provenance(obj)`` function: the :class:`Provenance` of the agent's behaviour, or None."""
    if provenance not in _provenances:
        _provenances.append(provenance)


def unregister_provenance(provenance: Callable[[object], Provenance | None]) -> None:
    if provenance in _provenances:
        _provenances.remove(provenance)


def provenance_for(obj, behaviour: S.Behaviour) -> Provenance | None:
    """Which node made which part of ``behaviour`` of agent ``obj``; None for a script-built spec,
    or when the source's behaviour is no longer ``behaviour`` (edited since)."""
    for fn in _provenances:
        found = fn(obj)
        if found is not None and (found.behaviour is behaviour or found.behaviour == behaviour):
            return found
    return None


def behaviour_revision(obj) -> tuple:
    """What identifies the current edit state of the agent's behaviour (tree revisions, the spec)."""
    return (*(fn(obj) for fn in _revisions), obj.academy_agent.behaviour_json)


def behaviour_for(obj) -> S.Behaviour:
    """The behaviour of agent object ``obj``; raises :class:`specs.SpecError` naming the agent."""
    try:
        for source in _sources:
            behaviour = source(obj)
            if behaviour is not None:
                return behaviour
        text = obj.academy_agent.behaviour_json
        if not text:
            raise NoBehaviour("has no behaviour: give it a behaviour tree (Object Properties → Agent)")
        return S.Behaviour.from_json(text)
    except S.SpecError as exc:
        separator = " " if isinstance(exc, NoBehaviour) else ": "
        raise type(exc)(f"Agent '{obj.name}'{separator}{exc}") from None


def set_behaviour(obj, behaviour: S.Behaviour) -> None:
    """Store a script-built behaviour spec on an agent object (validated first)."""
    obj.academy_agent.behaviour_json = behaviour.validate().to_json()
