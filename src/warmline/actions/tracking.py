"""The desk's dialogue state through the schema-guided tracker (`dialogue/tracker.py`), the same
one `warmline track` measures on Schema-Guided Dialogue.

The actions file is read as one service in that format: each action an intent (its description
and the ways of asking for it), each slot with its description, an enum's values as a
categorical slot's. Each customer turn of an action in progress goes to the tracker with the
acts of the desk's own last reply (what it asked for, offered and asked to confirm), so the
tracker follows the active action, the slots the customer asks about, and values said in its
ways: agreeing to what was offered or confirmed, a choice in other words, a value the desk
named that the customer uses again. The desk's typed readers (`values.py`) stay first for
every slot; the tracker fills what they leave, and every value still passes the slot's checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warmline.actions.recognise import Embed
from warmline.actions.spec import ActionsFile, ActionSpec, SlotSpec
from warmline.actions.state import ActionState
from warmline.dialogue.schema import Intent, Service, Slot
from warmline.dialogue.sgd import SystemAct
from warmline.dialogue.tracker import SchemaTracker, ServiceState

SERVICE = "actions"


@dataclass(frozen=True)
class Tracked:
    """The tracker's reading after one customer turn: the slots of the action in progress the
    customer asked about, and the values it has for them. (The action it holds active is kept
    with its state in `ActionState.tracked`; the desk's recogniser decides the action.)"""

    requested: list[str]
    values: dict[str, str]


def service_of(actions: ActionsFile) -> Service:
    """The actions file as one Schema-Guided service. A slot name two actions share is one
    slot (the first description), as in SGD, where a service's intents share its slots."""
    slots: dict[str, Slot] = {}
    for action in actions.actions:
        for slot in action.slots:
            slots.setdefault(slot.name, _slot(slot))
    return Service(
        name=SERVICE,
        description="The routine actions the assistant can do for a customer.",
        slots=tuple(slots.values()),
        intents=tuple(_intent(action) for action in actions.actions),
    )


def _slot(slot: SlotSpec) -> Slot:
    categorical = slot.type == "enum"
    return Slot(
        name=slot.name,
        description=slot.description,
        categorical=categorical,
        values=tuple(slot.values) if categorical else (),
    )


def _intent(action: ActionSpec) -> Intent:
    ways = " ".join(intent.description for intent in action.intents)
    return Intent(
        name=action.name,
        description=f"{action.description} {ways}",
        required=tuple(slot.name for slot in action.slots if slot.required),
        optional=tuple(slot.name for slot in action.slots if not slot.required),
        transactional=action.confirm is not None,  # it changes something
    )


def acts_of(state: ActionState, spec: ActionSpec) -> tuple[SystemAct, ...]:
    """What the desk's last reply did, as system acts: asked for slots, offered values (one
    offered value is an offer; several are information, so a bare "yes" picks none of them),
    asked to confirm every value, or offered the action itself."""
    if state.status == "proposed":
        return (SystemAct("OFFER_INTENT", "intent", (state.action,)),)
    if state.status == "confirming":
        return tuple(SystemAct("CONFIRM", name, (value,)) for name, value in state.slots.items())
    known = {slot.name for slot in spec.slots}
    acts = [SystemAct("REQUEST", name) for name in state.asking if name in known]
    for name, values in state.offered.items():
        if values and name not in state.slots:  # an offer taken up is no longer open
            acts.append(SystemAct("OFFER" if len(values) == 1 else "INFORM", name, tuple(values)))
    return tuple(acts)


class ActionTracker:
    """Follows the actions of one actions file, turn by turn, with the shared encoder."""

    def __init__(self, actions: ActionsFile, embed: Embed):
        self.service = service_of(actions)
        self.tracker = SchemaTracker({SERVICE: self.service}, lambda texts: embed(list(texts)))

    def follow(
        self,
        state: ActionState,
        spec: ActionSpec,
        text: str,
        acts: Sequence[SystemAct],
        vector: np.ndarray | None = None,
    ) -> Tracked:
        """Move the tracker's state (kept in `state.tracked`) on by one customer message that
        answers a reply whose acts were `acts` (`acts_of` the state before the message). The
        desk's values for the action are the tracker's starting point: what the desk read is
        settled, and a slot the customer already gave is not one they are asking about."""
        if state.tracked:
            tracked = ServiceState.from_dict(state.tracked)
        else:
            tracked = ServiceState(intent=state.action)
        tracked.values.update(state.slots)
        requested = self.tracker.follow(tracked, self.service, text, acts, vector)
        state.tracked = tracked.as_dict()
        mine = {slot.name for slot in spec.slots}
        return Tracked(
            requested=[name for name in requested if name in mine],
            values={k: v for k, v in tracked.values.items() if k in mine},
        )
