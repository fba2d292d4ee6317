"""A schema-guided dialogue-state tracker, first version: the shared encoder against the schema's
descriptions for the active intent and the requested slots, the system's own acts for values
the customer accepts or is asked for, and the schema's allowed values for categorical slots.

It reads only what `sgd.tracker_view` gives it, and only the turns up to the one it tracks.
Nothing is trained on any service, so a new service works from its schema alone; what it cannot
do yet is find the value of a free-text slot the system did not ask for (docs/dialogue.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warmline.dialogue.cues import cued_value, cues_said
from warmline.dialogue.kinds import kind_said, vocabularies, words_for
from warmline.dialogue.places import known_places
from warmline.dialogue.schema import Service, Slot
from warmline.dialogue.sgd import Dialogue, SystemAct, Turn

Embed = Callable[[Sequence[str]], np.ndarray]

INTENT_SWITCH_MARGIN = 0.16  # chosen on SGD dev among 0.08, 0.12, 0.16, 0.22, 0.30
OPENING_TRANSACTION_MARGIN = 0.10  # a first message must lean this much toward booking
KIND_INTENT_MARGIN = 0.1  # how much less likely a search naming the kind said may be
# Declining the offered task but asking about the current one this closely keeps it.
DECLINED_BUT_ASKING = 0.25  # chosen on SGD train dialogues 9,000-10,499
REQUEST_SIMILARITY = 0.35  # a question this close to a slot's description asks for it
_AFFIRM = re.compile(
    r"\b(yes|yeah|yep|sure|ok|okay|sounds (good|great|perfect|fine|nice|lovely|wonderful|"
    r"awesome|fun)|that works|works for me|perfect|great|correct|right|please do|go ahead|"
    r"that one|let'?s do|i'?ll take|love (it|that|to)|like (it|that|this)|fine|good|nice|cool|"
    r"awesome|wonderful|excellent)\b",
    re.IGNORECASE,
)
# "whether or not they have live music" asks; it does not refuse.
_NEGATE = re.compile(
    r"\b(no|nope|(?<!\bor )not|don'?t|nah|wrong|instead|change|actually)\b", re.IGNORECASE
)
# "Sounds good, but can you find me something else?" likes the offer and does not take it.
_ANOTHER = re.compile(
    r"\b(something|anything|any|some|what) (else|other)\b|\b(other|another|different|more) "
    r"(ones?|options?|events?|places?|restaurants?|hotels?|movies?|songs?|flights?|buses|cars?|"
    r"apartments?|houses?|attractions?|suggestions?|results?)\b|\bany others\b",
    re.IGNORECASE,
)
_DECLINE = re.compile(
    r"^\W*(no|nope|nah|later|not (now|yet|just yet|really|right now|today|at the moment|"
    r"at this time|this minute|right this minute)|(maybe|perhaps|possibly)\W+(later|not|"
    r"another time|some ?other time|some time|tomorrow)|(maybe|perhaps)(?=\s*[,.!?])|"
    r"(some|an)other time)\b",
    re.IGNORECASE,
)
_TRANSACT = re.compile(
    r"\b(please|want to|wanna|would like to|i'?d like to|let'?s|go ahead and|can you|could you|"
    r"i'?ll|i will)\s+(book|reserve|buy|purchase|rent|order|play)\b"
    r"|\b(like|want|make|need|get|secure)( me)? an? ([\w-]+ ){0,2}(reservation|booking)\b"
    r"|\bplay (it|that|this)\b"
    r"|^\W*((ok|okay|yes|great|sure|perfect|good|fine|then)\W+)*(book|reserve|buy|purchase)\b",
    re.IGNORECASE,
)
_SEARCH = re.compile(
    r"\b(find|search|look(ing)? (for|up)|show me|what .{0,20}(are there|is there|available))\b",
    re.IGNORECASE,
)
_FINE = re.compile(r"\b(is|are) (fine|ok|okay|good|no problem)\b|\bfine with\b", re.I)
_ORIGIN_SLOT = re.compile(r"(^|_)(origin|from|source|pickup|departure)($|_)")
# A pick-up point or a venue is not where the customer will be next ("a restaurant there"
# after a car from John Wayne Airport is in the city, not at the airport).
_VENUE = re.compile(
    r"\b(airport|station|terminal|street|avenue|road|boulevard|drive|stadium|arena|theater|"
    r"theatre)\b",
    re.IGNORECASE,
)
_PLACE_SLOT = re.compile(r"(^|_)(city|location|area|destination)($|_)")
_DONE = re.compile(
    r"^\W*(no|nope|nothing|nothin'?|nah|thanks|thank you)\b"
    r"|\b(that'?s (all|it)|that is (all|it)|that will be all|i'?m good|i am good|"
    r"not (now|at this time|right now|at the moment))\b",
    re.IGNORECASE,
)
_ANY = re.compile(
    r"\b(any( \w+)? (is|will be) (fine|ok|okay|good)|anything|doesn'?t matter|does not matter|"
    r"no preference|don'?t care|do not care|whatever|either( one)? (is|works))\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?|^\s*(what|where|when|which|who|how|is|are|does|do|can|could|will|would)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_HOUR = r"(\d{1,2}(:\d{2})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_TIME = re.compile(
    rf"\b((morning|afternoon|evening|night)\s+\d{{1,2}}(:\d{{2}})?\b"
    r"(?!\s*(people|persons?|guests?|tickets?|seats?|adults?|of|st|nd|rd|th)\b)|"
    rf"(half past|quarter past|quarter to)\s+{_HOUR}(\s+in the (morning|afternoon|evening|night))?|"
    rf"{_HOUR}\s*(am|pm|a\.m\.|p\.m\.|o['\"’]?\s?clock)"
    r"(\s+in the (morning|afternoon|evening|night))?|"
    rf"{_HOUR}\s+in the (morning|afternoon|evening|night)|\d{{1,2}}:\d{{2}}|noon|midnight)",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(later today|today|tomorrow|day after tomorrow|next \w+day|this \w+day|"
    r"(on )?(monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)( (of )?(next|this) week)?|"
    r"(march|april|may|june|july|august|september|"
    r"october|november|december|january|february) \d{1,2}(st|nd|rd|th)?|"
    r"(the )?\d{1,2}(st|nd|rd|th)( of (this|next) month| of \w+)?)(,? (19|20)\d\d)?\b",
    re.IGNORECASE,
)
_CAPITAL = r"(?:(?:St|Mt|Ft)\.|(?:[A-Z]\.){2,}|[A-Z][\w'&-]*)"  # "St. Helena", "D.C."
# Not a sentence's first word, even after a stop typed without a space ("Is perfect.Make me a
# reservation"); "&" joins a name ("Donato & Co.").
_PROPER = re.compile(
    rf"(?<![.!?]\s)(?<![.!?])(?<!^)\b({_CAPITAL}(?:\s+(?:{_CAPITAL}|of|the|de|and|&))*)"
)


@dataclass
class ServiceState:
    intent: str = "NONE"
    values: dict[str, str] = field(default_factory=dict)
    heard: dict[str, set[str]] = field(default_factory=dict)  # values the system named, by slot
    latest: dict[str, str] = field(default_factory=dict)  # the last value it named, by slot
    offered: dict[str, str] = field(default_factory=dict)  # the system's latest offer, by slot
    # A confirmation the customer corrected in part: what it said besides, kept for when a
    # later confirmation is agreed to.
    unsettled: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form, for a live conversation that stores its state in events."""
        return {
            "intent": self.intent,
            "values": dict(self.values),
            "heard": {slot: sorted(values) for slot, values in self.heard.items()},
            "latest": dict(self.latest),
            "offered": dict(self.offered),
            "unsettled": dict(self.unsettled),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceState:
        """The state `as_dict` stored (fields it lacks start empty)."""

        def texts(key: str) -> dict[str, str]:
            raw = data.get(key)
            return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

        heard = data.get("heard")
        return cls(
            intent=str(data.get("intent", "NONE")),
            values=texts("values"),
            heard={
                str(k): {str(v) for v in vs}
                for k, vs in (heard.items() if isinstance(heard, dict) else ())
                if isinstance(vs, list | tuple | set)
            },
            latest=texts("latest"),
            offered=texts("offered"),
            unsettled=texts("unsettled"),
        )


@dataclass
class SchemaTracker:
    """Tracks dialogues against `services`; `embed` gives unit-length sentence embeddings;
    `this_year` is the year the conversations take place in ("a song from two years ago"),
    by default the latest year a slot offers (a catalogue of songs up to 2019 was written in
    2019)."""

    services: Mapping[str, Service]
    embed: Embed
    this_year: int | None = None
    _intents: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    _slots: dict[str, tuple[list[Slot], np.ndarray]] = field(default_factory=dict)
    _kinds: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def track(self, dialogue: Dialogue) -> Iterator[dict[str, Any]]:
        """One prediction per user turn per service frame, in order."""
        states: dict[str, ServiceState] = {}
        previous: Turn | None = None
        for turn in dialogue.turns:
            if turn.speaker == "SYSTEM":
                previous = turn
                for name, acts in turn.acts.items():
                    _hear(states.setdefault(name, ServiceState()), acts)
                continue
            vector = self.embed([turn.utterance])[0]
            # A turn that opens another service speaks about that one: the ones it leaves
            # keep their state ("Could you find me a restaurant in Pleasanton?" after a hotel).
            opening = {n for n in turn.services if n not in states or not states[n].values}
            # Of several services in one turn, the intent of the one it is most about moves by
            # likeness ("Perfect, now I'd like to buy tickets" after the calendar's free time).
            addressed = self._addressed(turn.services, vector)
            for name in turn.services:
                service = self.services[name]
                fresh = name in opening
                state = states.setdefault(name, ServiceState())
                carried = self._places_from(states, name, service) if fresh else {}
                state.values.update(carried)
                acts = previous.acts.get(name, ()) if previous else ()
                listening = not opening or fresh
                # "Green Book sounds good. Now find me a song": the film is no artist.
                foreign = {
                    value.lower()
                    for other, theirs in states.items()
                    if other != name
                    for values in theirs.heard.values()
                    for value in values
                }
                requested = self._update(
                    state,
                    service,
                    turn.utterance,
                    vector,
                    acts,
                    listening,
                    foreign,
                    addressed=name == addressed,
                )
                state.values.update(_same_day(states, name, service, turn.utterance))
                _drop_unused(state, service, carried)
                if fresh:
                    party = _party_from(states, name, service)
                    state.values.update({k: v for k, v in party.items() if k not in state.values})
                yield {
                    "dialogue_id": dialogue.id,
                    "turn_index": turn.index,
                    "service": name,
                    "active_intent": state.intent,
                    "requested_slots": requested,
                    "slot_values": dict(state.values),
                }

    def follow(
        self,
        state: ServiceState,
        service: Service,
        text: str,
        acts: Sequence[SystemAct],
        vector: np.ndarray | None = None,
    ) -> list[str]:
        """One customer turn of a live conversation about `service`: `state` moves on (its
        intent and values), given the acts of the reply the customer answers (what it asked,
        offered, asked to confirm); the slots the customer asks about are returned. `vector`
        is the turn's embedding when the caller already has it."""
        _hear(state, acts)
        if vector is None:
            vector = self.embed([text])[0]
        return self._update(state, service, text, vector, acts)

    def _update(
        self,
        state: ServiceState,
        service: Service,
        text: str,
        vector: np.ndarray,
        acts: Sequence[SystemAct],
        listening: bool = True,
        foreign: frozenset[str] | set[str] = frozenset(),
        *,
        addressed: bool = True,
    ) -> list[str]:
        """Update `state` from one customer turn; with `listening` false (the turn speaks
        about another service) only the system's acts and the intent move. `foreign`: what
        the system named for other services (lower case), which names nothing here."""
        affirmed = (
            bool(_AFFIRM.search(text)) and not _NEGATE.search(text) and not _ANOTHER.search(text)
        )
        state.intent = self._intent(
            state.intent, service, text, vector, acts, affirmed, listening and addressed
        )
        requested = self._requested(service, text, vector, state)
        before = dict(state.values)
        for slot, value in _from_acts(acts, text, affirmed, service, state.intent).items():
            state.values[slot] = value
        for slot, value in _earlier_offer(state, acts, text, affirmed, service).items():
            state.values[slot] = value
        if not listening:
            return requested
        kinds = self._kind_words(service)
        said = _from_text(text, service, acts, state, kinds, self.this_year, foreign)
        _settle_confirmation(state, acts, text, affirmed, said, before)
        for slot, value in said.items():
            state.values[slot] = value
        for slot, value in _named_again(text, service, state).items():
            state.values[slot] = value
        return requested

    def _intent(
        self,
        current: str,
        service: Service,
        text: str,
        vector: np.ndarray,
        acts: Sequence[SystemAct],
        affirmed: bool,
        listening: bool = True,
    ) -> str:
        """The active intent after one customer turn. A turn that speaks about another service
        (`listening` false) moves this one's only by answering its offer or "anything else?":
        "Great, now make me a restaurant reservation" books no cinema tickets."""
        offered = [v for a in acts if a.act == "OFFER_INTENT" for v in a.values]
        if offered and affirmed:
            return offered[0]
        names, matrix = self._intent_vectors(service)
        scores = matrix @ vector if names else np.zeros(0)
        if offered and _DECLINE.search(text):
            # "Shall I book it?" - "No, I just needed the information." ends the task; "Not
            # now. What times are available?" goes on with the one it was doing.
            going_on = current in names and current not in offered
            if going_on and scores[names.index(current)] >= DECLINED_BUT_ASKING:
                return current
            return "NONE"
        if any(a.act == "REQ_MORE" for a in acts) and _DONE.search(text):
            return "NONE"  # "anything else?" - "no, that's all"
        if not names or (not listening and current in names):
            return current
        current = _implied(service, acts, current, names, scores)
        best = int(np.argmax(scores))
        if current == "NONE" or current not in names:
            return self._opening_intent(service, names, scores, text)
        task = service.intent(current)
        asked = {a.slot for a in acts if a.act == "REQUEST"}
        answering = task is not None and bool(asked & {*task.required, *task.optional})
        target = service.intent(names[best])
        # "What is the price of a ticket?" asks before buying: a question alone does not start
        # a transaction.
        asking = bool(target and target.transactional and _QUESTION.search(text)) and not (
            _TRANSACT.search(text)
        )
        if (
            not answering  # an answer to the task's own question does not change the task
            and not asking
            and names[best] != current
            and scores[best] - scores[names.index(current)] > INTENT_SWITCH_MARGIN
        ):
            return names[best]
        return (
            _named_switch(text, current, names)
            or _asked_to_transact(text, current, service)
            or current
        )

    def _addressed(self, names: Sequence[str], vector: np.ndarray) -> str | None:
        """Of the turn's services, the one an intent of which the turn is most like."""
        if len(names) <= 1:
            return names[0] if names else None
        best: tuple[float, str | None] = (-2.0, None)
        for name in names:
            _intents, matrix = self._intent_vectors(self.services[name])
            if len(_intents):
                best = max(best, (float(np.max(matrix @ vector)), name))
        return best[1]

    def _opening_intent(
        self, service: Service, names: list[str], scores: np.ndarray, text: str
    ) -> str:
        """The first intent: a search before a transaction unless the transaction is clearly
        meant (customers usually look before they book), and always when the customer asks to
        find something without asking to book it."""
        order = np.argsort(-scores)
        best = names[int(order[0])]
        task = service.intent(best)
        if task is None or not task.transactional:
            return self._kind_asked_for(service, names, scores, text) or best
        searches = [i for i in order if not (service.intent(names[int(i)]) or task).transactional]
        if not searches:
            return best
        close = scores[order[0]] - scores[searches[0]] < OPENING_TRANSACTION_MARGIN
        transact = bool(_TRANSACT.search(text))
        searching = bool(_SEARCH.search(text))
        if (close and not (transact and not searching)) or (searching and not transact):
            return names[int(searches[0])]
        return best

    def _kind_asked_for(
        self, service: Service, names: list[str], scores: np.ndarray, text: str
    ) -> str | None:
        """Of two searches about as likely, the one that takes the kind the customer names
        ("I want to see a Ghost movie" finds films of a genre, not one film's times)."""
        kinds = self._kind_words(service)
        said = {slot for slot, words in kinds.items() if kind_said(words, text)}
        if not said:
            return None
        order = [int(i) for i in np.argsort(-scores)]
        for index in order[1:]:
            if scores[order[0]] - scores[index] > KIND_INTENT_MARGIN:
                break
            task, best = service.intent(names[index]), service.intent(names[order[0]])
            if task is None or best is None or task.transactional:
                continue
            if said & {*task.required, *task.optional} and not said & {
                *best.required,
                *best.optional,
            }:
                return names[index]
        return None

    def _requested(
        self, service: Service, text: str, vector: np.ndarray, state: ServiceState
    ) -> list[str]:
        if not _QUESTION.search(text):
            return []
        slots, matrix = self._slot_vectors(service)
        if not slots:
            return []
        scores = matrix @ vector
        best = int(np.argmax(scores))
        if scores[best] < REQUEST_SIMILARITY or slots[best].name in state.values:
            return []
        return [slots[best].name]

    def _places_from(
        self, states: dict[str, ServiceState], name: str, service: Service
    ) -> dict[str, str]:
        """Where the customer was talking about in another service, for a new one (a hotel
        after the flight, the weather "there"): of the latest other service with a place,
        where the customer was going rather than coming from, into the place slot whose
        description is closest to the value's own slot ("City of destination" -> "City to pick
        up the rental car" rather than "Location of rental car pickup")."""
        wanted = [s.name for s in service.slots if not s.categorical and _is_place(s)]
        if not wanted:
            return {}
        address = _ride_address(states, name, service, wanted, self.services)
        if address:
            return address
        slots, matrix = self._slot_vectors(service)
        row = {slot.name: number for number, slot in enumerate(slots)}
        for other in reversed([o for o in states if o != name]):
            places = [
                (k, v)
                for k, v in states[other].values.items()
                if _PLACE_SLOT.search(k) and not _VENUE.search(v)
            ]
            if not places:
                continue
            going = [(k, v) for k, v in places if not _ORIGIN_SLOT.search(k)] or places
            theirs, their_matrix = self._slot_vectors(self.services[other])
            their_row = {slot.name: number for number, slot in enumerate(theirs)}
            _closeness, slot, value = max(
                (float(matrix[row[mine]] @ their_matrix[their_row[source]]), mine, value)
                for source, value in going
                for mine in wanted
            )
            found = {slot: value}
            # A trip after a trip ("a flight there too") starts where the other one did.
            starts = [(k, v) for k, v in places if _ORIGIN_SLOT.search(k) and v != value]
            mine_starts = [m for m in wanted if _ORIGIN_SLOT.search(m) and m != slot]
            if starts and mine_starts and not _ORIGIN_SLOT.search(slot):
                _closeness, start_slot, start = max(
                    (float(matrix[row[mine]] @ their_matrix[their_row[source]]), mine, value)
                    for source, value in starts
                    for mine in mine_starts
                )
                found[start_slot] = start
            return found
        return {}

    def _kind_words(self, service: Service) -> dict[str, frozenset[str]]:
        """The kind words (`kinds.py`) each free-text kind slot of `service` reads."""
        if service.name not in self._kinds:
            slots, matrix = self._slot_vectors(service)
            table = vocabularies()
            sources = self.embed([v.text for v in table]) if table else np.zeros((0, 1))
            # "vegetarian" is no kind of food where a slot says whether there are options.
            named = {part for slot in slots for part in slot.name.lower().split("_")}
            self._kinds[service.name] = {
                slot.name: words - named
                for row, slot in enumerate(slots)
                if not slot.categorical and _KIND_SLOT.search(slot.name)
                if (words := words_for(matrix[row], sources))
            }
        return self._kinds[service.name]

    def _intent_vectors(self, service: Service) -> tuple[list[str], np.ndarray]:
        if service.name not in self._intents:
            texts = [f"{_words(i.name)}: {i.description}" for i in service.intents]
            self._intents[service.name] = (
                [i.name for i in service.intents],
                self.embed(texts) if texts else np.zeros((0, 1)),
            )
        return self._intents[service.name]

    def _slot_vectors(self, service: Service) -> tuple[list[Slot], np.ndarray]:
        if service.name not in self._slots:
            slots = list(service.slots)
            texts = [f"what is the {_words(s.name)}? {s.description}" for s in slots]
            self._slots[service.name] = (slots, self.embed(texts) if texts else np.zeros((0, 1)))
        return self._slots[service.name]


def _hear(state: ServiceState, acts: Sequence[SystemAct]) -> None:
    """Remember what the system named (by slot) and its latest offer."""
    for act in acts:
        if act.slot and act.values:
            state.heard.setdefault(act.slot, set()).update(act.values)
            state.latest[act.slot] = act.values[0]
    offer = {a.slot: a.values[0] for a in acts if a.act == "OFFER" and a.values}
    if offer:
        state.offered = offer


def _settle_confirmation(
    state: ServiceState,
    acts: Sequence[SystemAct],
    text: str,
    affirmed: bool,
    said: Mapping[str, str],
    before: Mapping[str, str],
) -> None:
    """A confirmation corrected in part ("Make it for 4 people", "No, just one person") sets
    only the correction: what else it said waits (`unsettled`) until a later confirmation is
    agreed to, which settles both."""
    confirmed = {a.slot: a.values[0] for a in acts if a.act == "CONFIRM" and a.values}
    if not confirmed:
        return
    corrected = {slot for slot, value in said.items() if confirmed.get(slot, value) != value}
    if corrected or _NEGATE.search(text):
        for slot in confirmed:
            if slot in before:
                state.values[slot] = before[slot]
            else:
                state.values.pop(slot, None)
        state.unsettled = {k: v for k, v in confirmed.items() if k not in corrected}
    elif affirmed and state.unsettled:
        for slot, value in state.unsettled.items():
            state.values.setdefault(slot, value)
        state.unsettled = {}


def _asked_to_transact(text: str, current: str, service: Service) -> str | None:
    """The one transaction of the service, when the customer asks for it while searching
    ("please reserve the bus", "I want to book it")."""
    task = service.intent(current)
    if task is None or task.transactional or not _TRANSACT.search(text):
        return None
    deals = [i.name for i in service.intents if i.transactional]
    return deals[0] if len(deals) == 1 else None


def _named_switch(text: str, current: str, names: list[str]) -> str | None:
    """Another intent the customer names by the word that sets it apart from the current one
    ("what about a round trip?" while searching one-way flights): a word of its name that
    shares no stem with any word of the current intent's name, said as one word or two."""
    said = re.sub(r"[\s-]+", "", text.lower())
    own = {word[:5] for word in _words(current).split()}
    found = [
        name
        for name in names
        if name != current
        and any(
            len(word) >= 6 and word[:5] not in own and word in said for word in _words(name).split()
        )
    ]
    return found[0] if len(found) == 1 else None


def _implied(
    service: Service,
    acts: Sequence[SystemAct],
    current: str,
    names: list[str],
    scores: np.ndarray,
) -> str:
    """The intent the system was working on, as its own acts show it: a slot it asks for or
    confirms belongs to that intent ("what day do you return?" is a round trip)."""
    mentioned = {a.slot for a in acts if a.act in ("REQUEST", "CONFIRM") and a.slot}
    if not mentioned:
        return current
    fitting = [
        n
        for n in names
        if (task := service.intent(n)) and mentioned <= {*task.required, *task.optional}
    ]
    if not fitting or current in fitting:
        return current
    return max(fitting, key=lambda n: float(scores[names.index(n)]))


def _named_again(text: str, service: Service, state: ServiceState) -> dict[str, str]:
    """A value the system named earlier that the customer now uses ("anything else with Huang
    Lu?"), for the task's slots: the system's words give its exact form."""
    task = service.intent(state.intent)
    in_task = {*task.required, *task.optional} if task else set()
    lowered = text.lower()
    found: dict[str, str] = {}
    for slot, values in state.heard.items():
        if slot not in in_task:
            continue
        for value in sorted(values, key=len, reverse=True):
            if (
                len(value) >= 3
                and not value.isdigit()
                and re.search(rf"\b{re.escape(value.lower())}\b", lowered)
            ):
                found[slot] = value
                break
    return found


def _earlier_offer(
    state: ServiceState, acts: Sequence[SystemAct], text: str, affirmed: bool, service: Service
) -> dict[str, str]:
    """The system's last offer, taken up a turn or two later ("It's $54 in total." - "Okay,
    sounds affordable."): its values fill the slots the task can use."""
    if not state.offered or any(a.act == "OFFER" for a in acts):
        return {}
    if _NEGATE.search(text):
        state.offered = {}
        return {}
    found = _found_by_search(service, state.intent, list(state.offered.items()), text, affirmed)
    if not (affirmed or _TRANSACT.search(text)):
        return found
    slots = _bookable(service, state.intent)
    taken = {slot: value for slot, value in state.offered.items() if slot in slots}
    state.offered = {}
    return found | taken


def _is_place(slot: Slot) -> bool:
    """A slot for a place, by its name ("pickup_city") or its description ("where_to":
    "Location of the house")."""
    return bool(
        _PLACE_SLOT.search(slot.name)
        or re.match(r"(city|location|destination)\b", slot.description, re.IGNORECASE)
    )


def _drop_unused(state: ServiceState, service: Service, carried: dict[str, str]) -> None:
    """Places carried into a service stay only where the task it opened with uses them
    ("when am I free on the 11th?" has no place; "add it to my calendar" has)."""
    task = service.intent(state.intent)
    if task is None:
        return
    for slot, value in carried.items():
        if slot not in (*task.required, *task.optional) and state.values.get(slot) == value:
            del state.values[slot]


def searches_only(service: Service) -> bool:
    """A service with no transaction: it finds things (attractions, films to read about)."""
    return not any(intent.transactional for intent in service.intents)


def _ride_address(
    states: dict[str, ServiceState],
    name: str,
    service: Service,
    wanted: list[str],
    other_services: Mapping[str, Service],
) -> dict[str, str]:
    """A ride "there", a calendar entry or a shared location (a service whose one place is
    never searched by, only used by a transaction, with no origin) goes to the street
    address the system gave in the service before, when it gave one, or to the place it named
    there when that service only finds places ("a cab there" after an attraction)."""
    if len(wanted) != 1 or any(
        wanted[0] in (*i.required, *i.optional) for i in service.intents if not i.transactional
    ):
        return {}
    if any(_ORIGIN_SLOT.search(s.name) for s in service.slots):
        return {}
    for other in reversed([o for o in states if o != name]):
        addresses = [v for k, v in states[other].latest.items() if "address" in k]
        if addresses:
            return {wanted[0]: addresses[-1]}  # the address it named last there
        if not searches_only(other_services[other]):
            continue
        # A service that only finds places (attractions) names where to go by its name.
        places = [v for k, v in states[other].latest.items() if k.endswith("_name")]
        if places:
            return {wanted[0]: places[-1]}
    return {}


_THAT_DAY = re.compile(r"\b(that|the same|same|this) (day|date)\b", re.IGNORECASE)


def _same_day(
    states: dict[str, ServiceState], name: str, service: Service, text: str
) -> dict[str, str]:
    """ "Book the therapist on that day": the date the customer settled in another service
    (the weather's, the movie's), for this service's start date when it has none yet."""
    state = states[name]
    wanted = [
        s.name
        for s in service.slots
        if "date" in s.name and not any(end in s.name for end in _END_SLOT)
    ]
    if not wanted or wanted[0] in state.values or not _THAT_DAY.search(text):
        return {}
    for other in reversed([o for o in states if o != name]):
        dates = [v for k, v in states[other].values.items() if "date" in k]
        if dates:
            return {wanted[0]: dates[0]}
    return {}


def _party_from(states: dict[str, ServiceState], name: str, service: Service) -> dict[str, str]:
    """How many people the customer said in another service (a table for 2, then a cab),
    for this service's people count when the task it opens with counts them (a ride, not a
    search for events whose tickets come later)."""
    counts = [
        value
        for other, state in states.items()
        if other != name
        for slot, value in state.values.items()
        if any(word in slot for word in _PEOPLE_SLOTS) and value.isdigit()
    ]
    task = service.intent(states[name].intent)
    if not counts or task is None:
        return {}
    for slot in (s for s in service.slots if s.name in (*task.required, *task.optional)):
        people = any(word in slot.name for word in _PEOPLE_SLOTS)
        if people and (not slot.categorical or counts[-1] in slot.values):
            return {slot.name: counts[-1]}
    return {}


def _bookable(service: Service, intent: str) -> set[str]:
    """Slots an accepted offer can fill: those the active intent and the service's
    transactions require (a bus the customer accepts while searching is the bus they will
    book). An offer's other details ("a 4 star hotel called ...") describe the thing offered;
    agreeing to the hotel does not make the star rating something the customer asked for
    (on SGD dev, taking them too cost 3.6 points of joint goal accuracy)."""
    task = service.intent(intent)
    slots = set(task.required) if task else set()
    for other in service.intents:
        if other.transactional:
            slots |= set(other.required)
    return slots


def _from_acts(
    acts: Sequence[SystemAct], text: str, affirmed: bool, service: Service, intent: str
) -> dict[str, str]:
    """Values the system put forward that the customer did not refuse: a confirmation (it
    restates what the customer gave), an offer agreed to (of a slot the task can use), or a
    suggested value agreed to."""
    found: dict[str, str] = {}
    refused = bool(_NEGATE.search(text))
    slots = _bookable(service, intent)
    lowered = text.lower()
    for act in acts:
        if not act.values or service.slot(act.slot) is None:
            continue
        if act.act == "OFFER" and act.slot in slots and not refused:
            # Of several offered ("Dogman, Hackers or High Life?"), the one the customer names.
            named = [v for v in act.values if re.search(rf"\b{re.escape(v.lower())}\b", lowered)]
            if named:
                found[act.slot] = max(named, key=len)
                continue
        confirmed = act.act == "CONFIRM" and not refused
        agreed = affirmed and (act.act == "REQUEST" or (act.act == "OFFER" and act.slot in slots))
        if confirmed or agreed:
            found[act.slot] = act.values[0]
    offers = [(a.slot, a.values[0]) for a in acts if a.act == "OFFER" and a.values]
    for slot, value in _found_by_search(service, intent, offers, text, affirmed).items():
        found.setdefault(slot, value)
    return found


def _found_by_search(
    service: Service, intent: str, offers: Sequence[tuple[str, str]], text: str, affirmed: bool
) -> dict[str, str]:
    """A service that only searches has no booking to require anything: what an offer leads
    with ("How about an American Airlines flight ...?") names the thing agreed to, or the
    thing found when the customer says that is all ("Thanks, that's all I need")."""
    task = service.intent(intent)
    if any(other.transactional for other in service.intents) or not task or not offers:
        return {}
    slot, value = offers[0]
    settled = affirmed or bool(_DONE.search(text))
    return {slot: value} if settled and slot in task.optional else {}


def _from_text(
    text: str,
    service: Service,
    acts: Sequence[SystemAct],
    state: ServiceState,
    kinds: Mapping[str, frozenset[str]] | None = None,
    this_year: int | None = None,
    foreign: frozenset[str] | set[str] = frozenset(),
) -> dict[str, str]:
    """Values in the customer's words: allowed values of categorical slots, and an answer to a
    slot the system asked for."""
    # "What kind of food, perhaps Italian or Indian?" asks too: the answer may name another
    # ("Pick up in Long Beach?" suggests one, and a yes takes it).
    suggested = {a.slot for a in acts if a.act == "REQUEST" and len(a.values) > 1}
    asked = {a.slot for a in acts if a.act == "REQUEST" and not a.values} | {
        s for s in suggested if (slot := service.slot(s)) is not None and not slot.categorical
    }
    found: dict[str, str] = {}
    lowered = f" {text.lower()} "
    task = service.intent(state.intent)
    in_task = {*task.required, *task.optional} if task else set()
    about_offer = bool(
        (state.offered or state.heard)
        and _YES_NO_QUESTION.search(text)
        and not _SEARCH.search(text)
    )
    for slot in service.slots:
        if slot.categorical:
            if slot.name not in asked and slot.name not in in_task:
                continue  # "checking" could be either account; the task says which
            if slot.name not in asked and about_offer:
                continue  # "Is it pricey?" asks about the one offered
            value = _categorical(slot, lowered, asked, this_year)
            twin = _twin_value(slot, service, lowered) if value is not None else None
            if twin is not None:
                value = twin or None  # "" when every mention is the other's
            if value is not None:
                found[slot.name] = value
        elif slot.name in asked:
            # "Philadelphia. The ticket class doesn't matter": the place is the answer.
            indifferent = _ANY.search(text) and not _names_said(text)
            words = (kinds or {}).get(slot.name, frozenset())
            others = _offered_values(service)
            value = "dontcare" if indifferent else _free_value(slot, text, words, others)
            if value:
                found[slot.name] = value
    for slot in service.slots:
        if slot.name not in found and not slot.categorical:
            cued = _cued_value(slot.name, text)
            if cued:
                found[slot.name] = cued
    for slot in service.slots:
        if slot.name in in_task and slot.name not in found and _indifferent(slot.name, text):
            found[slot.name] = "dontcare"
        elif slot.name in in_task and slot.name not in found and not slot.categorical:
            number = _number_named(slot.name, text)
            if number:
                found[slot.name] = number
    # The task's slots only: a name or a place could fill any of the service's.
    free = [s for s in service.slots if s.name in in_task and not s.categorical]
    categories = [found[s.name] for s in service.slots if s.categorical and s.name in found]
    # "Do they serve Pasta?" about the one named asks about it: it names nothing.
    unfilled = [] if about_offer else [s for s in free if s.name not in found]
    taken, known = set(found.values()), set(state.values)
    # What the system named for one slot ("Would you like to see Dumbo?") is no other's.
    heard_as = {v.lower(): slot for slot, values in state.heard.items() for v in values}
    found.update(
        _unasked_values(text, unfilled, taken, known, categories, kinds, foreign, heard_as)
    )
    return found


_NOT_HEADS = {"name", "range", "number", "of", "is", "has", "the"}


def _slot_head(slot: str) -> str | None:
    """The last word of a slot's name that names a thing ("rating" of "average_rating",
    "price" of "price_range"), before "of" when a thing comes first ("city" of
    "city_of_event", but "beds" of "number_of_beds")."""
    words = slot.lower().split("_")
    if "of" in words and words[0] not in _NOT_HEADS:
        words = words[: words.index("of")]
    heads = [w for w in words if w not in _NOT_HEADS]
    return heads[-1] if heads else None


def _number_named(slot: str, text: str) -> str | None:
    """A number said with the slot's own noun: "a rating of 3.6 or higher", "at least a 3.8
    rating" (`_slot_head`)."""
    noun = _slot_head(slot)
    if noun is None:
        return None
    head = re.escape(noun)
    number = r"(\d+(?:\.\d+)?)"
    found = re.search(
        rf"\b{head}s?(?: of)?(?: at least| above| over| higher than| greater than)? {number}\b"
        rf"|\b{number}\+? {head}s?\b",
        text,
        re.IGNORECASE,
    )
    return (found.group(1) or found.group(2)) if found else None


def _indifferent(slot: str, text: str) -> bool:
    """Whether the customer says, unasked, that any value of the slot will do: "any ticket
    class is good", "the price doesn't matter", "I'm easy on price" (`_slot_head`: "class" of
    flight_class, "price" of price_range)."""
    noun = _slot_head(slot)
    if noun is None or text.rstrip().endswith("?"):
        return False
    head = re.escape(noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun)  # "actors"
    return bool(
        re.search(
            rf"\bany (?:\w+ )?{head}s?\b(?! (?:for|to|in|on|at|that|which|with)\b)"
            rf"|\b{head}s? (?:(?:does ?n[o']t|do ?n[o']t|won'?t) matter|is not important)\b"
            rf"|\b(?:do ?n[o']t|do not) (?:mind|care) (?:which|what|about the|about) {head}s?\b"
            rf"|\b(?:easy|flexible|not picky|not fussy) (?:on|about|with) (?:the )?{head}\b",
            text,
            re.IGNORECASE,
        )
    )


_NAME_WORDS = r"([A-Za-z][\w'.-]*(?: (?!and\b|in\b|on\b|with\b)[A-Za-z][\w'.-]*){0,3})"
_CUES = (
    (
        ("director", "directed"),
        re.compile(
            rf"\bdirected by {_NAME_WORDS}|\b(?:movies?|films?|something|anything) (?:by|from) "
            rf"{_NAME_WORDS}",
            re.I,
        ),
    ),
    (
        ("starring", "actor", "cast"),
        re.compile(
            rf"\b(?:starring|stars|starred by|featuring|the actor|the actress)(?: with)? "
            rf"{_NAME_WORDS}"
            rf"|\b(?:with|has|have) {_NAME_WORDS} (?:starring |acting |appearing )?in "
            r"(?:it|th(?:at|e|is) (?:movie|film))\b"
            rf"|\b{_NAME_WORDS} (?:starring|acting|appearing) in it\b"
            # "a movie to watch with Edd Osmond": a capitalised name after "with"
            r"|\b(?:movies?|films?|watch)\b[^.?!,]{0,25}?\bwith "
            r"((?-i:[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){1,3}))",
            re.I,
        ),
    ),
    (
        ("stay_length", "number_of_days", "number_of_nights"),
        re.compile(
            r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
            r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty) (?:days?|nights?)\b",
            re.I,
        ),
    ),
)


def _cued_value(slot: str, text: str) -> str | None:
    """A value the customer gives with the words that name its slot: "directed by Tim
    Burton", "starring Ruth Wilson", "for nine days"."""
    for names, cue in _CUES:
        if any(name in slot for name in names):
            for found in cue.finditer(text):
                value = _name_only(next(g for g in found.groups() if g))
                if value and value.split()[0].lower() not in _NOT_NAMES:
                    return value
    return None


def _name_only(value: str) -> str:
    """A name as far as it goes: a capitalised name ends at the first word in lower case or
    at a full stop ("Elaine May to watch", "Likarion Wainaina. Search something")."""
    words: list[str] = []
    for word in value.split():
        if words and words[0][0].isupper() and not word[0].isupper():
            break
        words.append(word.rstrip(".,!?;:"))
        if word[-1] in ".,!?;:":
            break
    return " ".join(words)


_NOT_NAMES = {"in", "it", "a", "an", "the", "me", "my", "some", "any", "anyone", "someone",
              "is", "are", "was", "and", "what", "who"}  # fmt: skip
_PLACE = ("location", "city", "area", "address", "destination", "origin", "where", "place")
_NAME = ("name", "title", "artist", "song", "movie", "event", "album", "show", "restaurant")


def _unasked_values(
    text: str,
    slots: list[Slot],
    taken: set[str],
    known: set[str],
    categories: Sequence[str] = (),
    kind_words: Mapping[str, frozenset[str]] | None = None,
    foreign: frozenset[str] | set[str] = frozenset(),
    heard_as: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Values the customer volunteered for the task's free-text slots: a time, dates (start or
    end, `_dates`), the kind of thing wanted for a genre or cuisine slot, a proper name after
    "in"/"to"/"from" for a place (the one the preposition points to) and anywhere else for a
    name."""
    found: dict[str, str] = {}
    times = [s for s in slots if "time" in s.name]
    dates = [s for s in slots if "date" in s.name]
    if times and (match := _TIME.search(text)):
        found[times[0].name] = match.group(0)
    found.update(_dates(text, dates, taken, known))
    amounts = [s for s in slots if any(w in s.name for w in _MONEY_SLOT)]
    paid = _PAID.search(text) if amounts else None
    if paid and paid.group(1) not in taken:
        found[amounts[0].name] = paid.group(1)  # "transfer 550 bucks to Philip"
        taken.add(paid.group(1))
    kinds = [s for s in slots if _KIND_SLOT.search(s.name)]
    words = (kind_words or {}).get(kinds[0].name, frozenset()) if kinds else frozenset()
    kind = _known_kind(text, words) if kinds else None
    # A known kind word is itself even inside a category's cue ("a rock concert").
    is_known = kind is not None and kind.lower() in words
    if kind and kind not in taken and (is_known or not _same_kind(kind, categories, text)):
        found[kinds[0].name] = kind
        taken.add(kind)
    places = [s for s in slots if any(w in s.name for w in _PLACE)]
    names = [s for s in slots if any(w in s.name for w in _NAME) and s not in places]
    address = _street_address(text) if places else None
    if address and address.group(0) not in taken:
        lead = text[: address.start()].split()[-1:] or [""]
        found[_directional(places, lead[0].lower()).name] = address.group(0)
        taken.add(address.group(0))
        text = f"{text[: address.start()]} {text[address.end() :]}"  # its words are no names
    for before, value in _names_said(text):
        if value in taken or _TIME.fullmatch(value):
            continue
        named = _noun_named(names, before, value, text)
        if named is not None:
            target = named
        elif before in ("in", "near", "around", *_TOWARD, *_AWAY) and places:
            target = _directional(places, before)
        elif names and value.lower() not in foreign:
            target = names[0]
        else:
            continue
        if _named_for_another(value, target.name, heard_as or {}):
            continue
        if target.name not in found:
            found[target.name] = value
            taken.add(value)
    lowercase = places and not text[:1].isupper()
    lower = _LOWER_PLACE.search(text) if lowercase else None
    if lower and lower.group(1) not in taken and not any(p.name in found for p in places):
        found[_directional(places, "in").name] = lower.group(1)  # "a therapist in santa rosa?"
    directed = [p for p in places if _direction(p.name) and p.name not in found]
    for match in _LOWER_DIRECTED.finditer(text) if lowercase and directed else ():
        target = _directional(directed, match.group(1))
        if match.group(1) in _direction(target.name) and match.group(2) not in taken:
            found.setdefault(target.name, match.group(2))  # "a bus from lax on the 7th"
    return found


# "from las vegas to fresno", "from lax on the 7th": a lower-case place after "from" or "to",
# up to where the clause goes on, from a customer who types all in lower case.
_NOT_LOWER_PLACE = (
    r"(?!(?:the|a|an|my|your|me|you|it|there|here|go|get|be|book|find|buy|leave|travel|visit|"
    r"see|do|make|reserve|pick|take|have|know|check|watch|eat|stay|fly|ride|look|search|help|"
    r"rent|work|meet|pay|send|transfer|play|hear|listen|\d)\b)"
)
_LOWER_DIRECTED = re.compile(
    rf"\b(from|to) ({_NOT_LOWER_PLACE}[a-z][a-z'-]*(?: {_NOT_LOWER_PLACE}[a-z][a-z'-]*){{0,2}}?)"
    r"(?=(?:,? (?:to|from|on|at|for|in|and|tomorrow|today|tonight|next|this|please)\b)|[,.?!]|$)"
)
# A place typed in lower case by a customer who types all in lower case, closing a clause.
_LOWER_PLACE = re.compile(
    r"\bin ((?!the\b|a\b|an\b|my\b|your\b|there\b|here\b|it\b|that\b|this\b|town\b|"
    r"advance\b|person\b|total\b|general\b|particular\b|mind\b|time\b|case\b|stock\b)"
    r"[a-z][a-z'-]*(?: [a-z][a-z'-]*)?)(?=\s*[?.!,]|\s*$)"
)


def _named_for_another(value: str, slot: str, named: Mapping[str, str]) -> bool:
    """Whether the system named `value` (or a name ending in it, "Missing Link" for "Link")
    as another slot's value."""
    lowered = value.lower()
    return any(
        other != slot and (said == lowered or said.endswith(f" {lowered}"))
        for said, other in named.items()
    )


def _same_kind(kind: str, categories: Sequence[str], text: str) -> bool:
    """Whether the kind of thing asked for is a categorical value already taken from the turn,
    said as itself or inside one of its cue phrases ("Concert events" and "Match events" are
    the "Music" and "Sports" event types, not also a free-text category)."""
    if kind.lower() in {c.lower() for c in categories}:
        return True
    words = set(kind.lower().split())
    return any(words <= set(gram.split()) for c in categories for gram in cues_said(c, text))


def _noun_named(names: list[Slot], before: str, value: str, text: str) -> Slot | None:
    """The name slot whose own noun the customer put next to the name: "the album Gravity",
    "the Sunset Season album" (an album, not the artist the first name slot would take)."""
    for slot in names:
        noun = _slot_noun(slot.name)
        if noun is None:
            continue
        if before in (noun, f"{noun}s") or re.search(
            rf"{re.escape(value)}\s+{noun}s?\b", text, re.IGNORECASE
        ):
            return slot
    return None


def _slot_noun(name: str) -> str | None:
    """The one noun a name slot is about ("song_name" is "song"), if it has one."""
    words = [w for w in name.lower().split("_") if w not in ("name", "title")]
    return words[0] if len(words) == 1 and len(words[0]) > 2 else None


_PRONOUNS = {"I", "I'm", "I'd", "I'll", "I've"}
_JOINERS = {*_PRONOUNS, "and", "of", "the", "de"}


def _trimmed(value: str) -> str:
    """A proper name without joining words left at its end ("Philly and I" is "Philly")."""
    words = value.split()
    while words and words[-1] in _JOINERS:
        words.pop()
    return " ".join(words)


_RECEIVING = ("recipient", "receiver", "payee", "beneficiary")
_TO_THEM = {"their", "her", "his"}
_NOT_POSSESSIVE = {"what's", "it's", "that's", "there's", "here's", "he's", "she's", "who's",
                   "let's", "where's", "how's"}  # fmt: skip
_FROM_ME = {"from", "my", "mine"}


def _twin_value(slot: Slot, service: Service, lowered: str) -> str | None:
    """For one of two slots with the same values (the sender's and the recipient's account),
    the value said with its side's words: "from my savings account to her checking account"
    is savings for the sender and checking for the recipient ("" when the only value said is
    the other side's; None when no words tell)."""
    twins = [s for s in service.slots if s.categorical and s.values == slot.values]
    if len(twins) < 2 or not any(w in s.name for s in twins for w in _RECEIVING):
        return None
    receiving = any(word in slot.name for word in _RECEIVING)
    sides: dict[str, list[str]] = {"to": [], "from": []}
    for value in slot.values:
        for found in re.finditer(rf"\b{re.escape(value.lower())}\b", lowered):
            before = set(re.findall(r"[a-z']+", lowered[: found.start()])[-2:])
            possessive = any(w.endswith("'s") and w not in _NOT_POSSESSIVE for w in before)
            before |= {"their"} if possessive else set()
            if before & _TO_THEM:
                sides["to"].append(value)
            elif before & _FROM_ME:
                sides["from"].append(value)
    mine, theirs = (sides["to"], sides["from"]) if receiving else (sides["from"], sides["to"])
    if mine:
        return mine[-1]
    return "" if theirs else None


def _directional(places: list[Slot], word: str) -> Slot:
    """Of several place slots, the one a preposition points to ("to" a destination)."""
    for slot in places:
        if word in _direction(slot.name):
            return slot
    return places[0]


def _categorical(
    slot: Slot, lowered: str, asked: set[str], this_year: int | None = None
) -> str | None:
    values = set(slot.values)
    if slot.name in asked and _ANY.search(lowered):
        return "dontcare"  # "any is fine" to a question about this slot
    if values <= {"True", "False"}:
        lowered = _COSTLESS.sub("free", lowered)  # "no entry fee" wants it free, refuses nothing
        at = _feature_at(slot.name, lowered)
        if slot.name not in asked and at is None:
            return None
        # Unasked, only its own sentence can refuse it ("Not right now. Find something
        # child-friendly" wants it).
        scope = lowered if slot.name in asked or at is None else _sentence_at(lowered, at)
        if _NEGATE.search(scope):
            return "False"
        said = _AFFIRM.search(lowered) or _FINE.search(lowered) or slot.name not in asked
        return "True" if said else None
    if slot.values and all(re.fullmatch(r"(19|20)\d\d", v) for v in slot.values):
        return _year_said(slot.values, lowered, this_year)
    numeric = all(v.isdigit() for v in slot.values)
    if numeric and slot.name not in asked:
        return _counted(slot, lowered)  # a bare number could belong to any numeric slot
    named = _value_said(slot.values, lowered)
    if named is not None:
        return named
    tier = _price_tier(slot, lowered) if "price" in slot.name else None
    return tier or cued_value(slot.values, lowered)


_YEARS_AGO = re.compile(
    r"\b(?:(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2}) years? "
    r"(?:ago|back|before|old)|(last|this|past) year)\b"
)


def _year_said(years: Sequence[str], lowered: str, this_year: int | None = None) -> str | None:
    """A year of the slot's, in full, as "'14" (2014), or counted back from `this_year` (by
    default the latest of `years`) ("from six years back", "last year")."""
    for found in re.finditer(r"\b((?:19|20)\d\d)\b|'(\d\d)\b", lowered):
        year = found.group(1) or f"20{found.group(2)}"
        if year in years:
            return year
    if this_year is None:
        this_year = max(int(year) for year in years)
    ago = _YEARS_AGO.search(lowered)
    if ago:
        count, word = ago.group(1), ago.group(2)
        back = 0 if word == "this" else 1 if word or count in ("a", "an") else None
        if back is None:
            back = int(_NUMBER_WORDS.get(count, count))
        year = str(this_year - back)
        return year if year in years else None
    return None


def _value_said(values: Sequence[str], lowered: str) -> str | None:
    """The allowed value the customer names: in full, spelled as a number, or by the words
    that set it apart from the others ("my kitchen" for "Kitchen speaker" next to "Bedroom
    speaker"). Of several, the last one not refused ("not in the kitchen, the bedroom"); a
    value inside a longer one ("economy" in "premium economy") is not said on its own."""
    found = [(span, value) for value in values if (span := _value_span(value, values, lowered))]
    found = [
        (span, value)
        for span, value in found
        if not any(o[0] <= span[0] and span[1] <= o[1] and o != span for o, _ in found)
    ]
    kept = [f for f in found if not _REFUSED_BEFORE.search(lowered[: f[0][0]])] or found
    return max(kept)[1] if kept else None


_MODIFIERS = {"very", "really", "much", "more", "most", "less", "least", "super", "quite"}
_REFUSED_BEFORE = re.compile(r"\b(not|no|instead of|rather than)( (in|on|at|the|a|my))*\s*$")


def _value_span(value: str, values: Sequence[str], lowered: str) -> tuple[int, int] | None:
    """Where a value is said: in full, as a number word, or by all of its own words (those
    no other value of the slot has, four letters or more; the span of the first)."""
    words = [re.escape(value.lower())]
    words += [word for word, digit in _NUMBER_WORDS.items() if digit == value]
    for word in words:
        match = re.search(rf"\b{word}\b", lowered)
        if match:
            return match.span()
    others = {w for other in values if other != value for w in other.lower().split()}
    own = [w for w in value.lower().split() if w not in others]
    if any(w in _MODIFIERS for w in own):
        return None  # "thank you very much" does not say "very expensive"
    if len(value.split()) < 2 or not own or any(len(w) < 4 for w in own):
        return None
    spans = [re.search(rf"\b{re.escape(w)}\b", lowered) for w in own]
    return None if None in spans else min(m.span() for m in spans if m)


# How customers say a price range, from the most to the least specific, and which of a
# slot's values each tier is (SGD's services call the middle "moderate" and the ends
# "cheap"/"inexpensive" and "pricey"/"expensive"; its customers say "economical", "average"
# or "reasonably priced" for the middle: counted on SGD train).
_PRICE_TIERS = (
    (r"\b(any price|(do not|don'?t) (mind|care about) the (price|cost)|price (does not|"
     r"doesn'?t) matter)", r"^dontcare$"),
    (r"\b(very expensive|extremely expensive|ultra|high[- ]end|luxur)", r"very|ultra|luxur"),
    (r"\b(not (too|very|that|so) (expensive|costly|pricey)|moderate|average|affordabl|"
     r"economical|reasonabl|intermediate|mid[- ]range)", r"moderate|medium|mid|average"),
    (r"\b(cheap|inexpensive|budget|low[- ]cost)", r"cheap|inexpensive|budget|low"),
    (r"\b(expensive|pricey|fancy|upscale|costly)", r"^(expensive|pricey|high)"),
)  # fmt: skip


def _price_tier(slot: Slot, lowered: str) -> str | None:
    """A price range said in other words ("reasonably priced" is "moderate")."""
    for said, value in _PRICE_TIERS:
        if re.search(said, lowered):
            matching = [v for v in slot.values if re.search(value, v.lower())]
            return matching[0] if matching else ("dontcare" if "dontcare" in value else None)
    return None


_GENERIC = {"has", "is", "are", "good", "for", "allowed", "options", "available", "offers",
            "in", "unit", "the", "a", "with", "serves"}  # fmt: skip
_SYNONYMS = {"kids": ("kid", "child", "famil"), "wifi": ("wifi", "wi-fi", "internet")}


# Ways of saying "free" with a negation in them.
_COSTLESS = re.compile(
    r"\b(?:no|without(?: an?| any)?|zero)\s+(?:entry|entrance|admission|cover)?\s*"
    r"(?:fees?|charges?|costs?)\b|\b(?:do ?n[o']t|do not|not) (?:have|need) to pay\b"
)


def _sentence_at(text: str, position: int) -> str:
    """The sentence of `text` around `position`."""
    start = max(text.rfind(mark, 0, position) for mark in ".?!") + 1
    ends = [i for i in (text.find(mark, position) for mark in ".?!") if i >= 0]
    return text[start : min(ends) + 1 if ends else len(text)]


def _feature_at(slot: str, lowered: str) -> int | None:
    """Where the customer names a yes-or-no feature ("has_wifi", "good_for_kids",
    "has_seating_outdoors") as something they want, not as a question about it ("is it
    furnished?" asks; "a furnished apartment" says);
    None when they do not."""
    words = [w for w in _words(slot).split() if w not in _GENERIC] or _words(slot).split()
    if "free" in words:
        words = ["free"]  # "free things to do" is free entry
    spans = []
    for word in words:
        keys = _SYNONYMS.get(word, (word[:5],))
        found = re.search(rf"\b(?:{'|'.join(re.escape(k) for k in keys)})", lowered)
        if found is None:
            return None
        spans.append(found.start())
    asking = re.search(r"\b(is|are|does|do|whether|if)\b[^.?!]{0,30}$", lowered[: min(spans)])
    return min(spans) if asking is None else None


_PEOPLE = {"people", "person", "persons", "guests", "adults", "passengers", "travelers",
           "travellers", "riders", "tickets", "seats", "of us"}  # fmt: skip
_PEOPLE_SLOTS = ("seats", "people", "passengers", "travelers", "riders", "party", "group",
                 "tickets", "guests", "adults")  # fmt: skip
_COUNT = re.compile(
    r"\b(\d{1,2}|zero|one|two|three|four|five|six|seven|eight|nine|ten)\b"
    r"(?=((?:[\s-]+(?:of us|[a-z']+)){1,3}))"  # what follows, left for the next number too
)
# "a reservation for two at Sidebar", "It's for three": a bare count of people.
_PARTY = re.compile(
    r"\bfor (?:a (?:party|group|table) of )?(one|two|three|four|five|six|seven|eight|nine|ten|"
    r"\d{1,2})\b(?!\s*(?:[:.]\d|am\b|pm\b|a\.m|p\.m|o'|o\"|o’|oclock|[a-z]))"
    r"|\bfor (?:a (?:party|group|table) of )?(one|two|three|four|five|six|seven|eight|nine|ten|"
    r"\d{1,2})\s+(?:at|on|in|please|tonight|today|tomorrow)\b"
)
_UNITS = {"star", "stars", "bed", "beds", "bedroom", "bedrooms", "bath", "baths", "bathroom",
          "bathrooms", "day", "days", "night", "nights", "way", "hour", "hours", "minute",
          "minutes", "week", "weeks", "year", "years", "pm", "am"}  # fmt: skip
_FILLER = {"of", "the", "in", "a", "an", "to", "for", "and", "or", "is", "are", "be", "on", "at",
           "with", "by", "which", "that", "this"}  # fmt: skip


def _counted(slot: Slot, lowered: str) -> str | None:
    """A number the customer gave with what it counts ("for 3 people", "two rooms", "3 hotel
    rooms", "4 star"), when that is what the slot counts."""
    name = slot.name.lower()
    described = _stems(f"{name} {slot.description.lower()}")
    named = _stems(name) - _FILLER  # a word further on must be the slot's own ("3 hotel rooms")
    people_slot = any(w in name for w in _PEOPLE_SLOTS)
    for match in _COUNT.finditer(lowered):
        number = _NUMBER_WORDS.get(match.group(1), match.group(1))
        nouns = re.findall(r"of us|[a-z']+", match.group(2))
        for position, noun in enumerate(nouns):
            if noun in _NUMBER_WORDS or (position and nouns[0] in _UNITS):
                break  # "1 four star hotel room", "a 2 star hotel room": not rooms
            singular = noun[:-1] if noun.endswith("s") else noun
            stems = described if position == 0 else named
            own = singular in stems or singular.removesuffix("room") in stems  # "bedroom": bed
            if ((noun in _PEOPLE and people_slot) or own) and number in slot.values:
                return number
    party = _PARTY.search(lowered) if people_slot else None
    if party:
        said = party.group(1) or party.group(2)
        number = _NUMBER_WORDS.get(said, said)
        return number if number in slot.values else None
    return None


def _stems(text: str) -> set[str]:
    return {w[:-1] if w.endswith("s") else w for w in re.findall(r"[a-z]+", text)}


def _offered_values(service: Service) -> frozenset[str]:
    """The values of the service's categorical slots, lower-cased ("premium economy", "delta
    airlines"): said in an answer about a place or a name, they are not it."""
    return frozenset(
        value.lower()
        for slot in service.slots
        if slot.categorical
        for value in slot.values
        if not value.isdigit() and value not in ("True", "False", "dontcare")
    )


def _free_value(
    slot: Slot,
    text: str,
    kind_words: frozenset[str] = frozenset(),
    others: frozenset[str] = frozenset(),
) -> str | None:
    """The part of an answer that fills a free-text slot the system asked for."""
    name = slot.name.lower()
    cued = _cued_value(name, text)
    if cued:
        return cued  # "from the 1st and for twelve days": twelve, not 1
    if "time" in name:
        time = _TIME.search(text)
        return time.group(0) if time else None
    if "date" in name:
        return _asked_date(name, text)
    if any(w in name for w in _PLACE):
        address = _street_address(text)
        if address:
            return address.group(0)
        guess = _place_answer(name, text, others)
        # "San diego please", "I want New york": a known place said whole wins over its part.
        known = kind_said(known_places(), text)
        if known and (guess is None or guess.lower() in known.lower()):
            return known
        return guess
    return _other_answer(slot, name, text, kind_words)


def _place_answer(name: str, text: str, others: frozenset[str]) -> str | None:
    """The place in an answer about a place slot, from how it is said (`_free_value`)."""
    place = _place_value(name, text, others)
    if place:
        return _opening_place(text, place)
    tail = _trailing_place(text, name)
    if tail:
        return tail  # "find restaurants in gilroy?"
    opening = _opening_name(text)
    if opening and opening.lower() not in others:
        return opening  # "Seattle is my goal."
    return _bare_place(text, others)


def _other_answer(slot: Slot, name: str, text: str, kind_words: frozenset[str]) -> str | None:
    """The answer for a slot that is no time, date or place (`_free_value`): a kind, an
    amount, a name, a number or a short answer."""
    if _KIND_SLOT.search(name):  # a place or a number is not a kind of food or film
        placed = any(before in _AT_PLACE for before, _ in _names_said(text))
        found = _known_kind(text, kind_words) or _named_kind(text)
        return found or (None if placed else _short_answer(text))
    if any(w in name for w in _MONEY_SLOT):
        money = _MONEY.search(text)
        if money:
            return money.group(0)
    names = _names_said(text)
    opening = _opening_name(text) if any(w in name for w in _NAME) else None
    if opening and all(opening.endswith(value) for _, value in names[:1]):
        return opening  # "Sushi Hana.", "El Morocco at 19:00", "Mcdonald's is the restaurant."
    if names:
        # A name rather than the place said with it ("Taverna restaurant in Sunnyvale").
        unplaced = [value for before, value in names if before not in _AT_PLACE]
        return max(unplaced or [value for _, value in names], key=len)
    number = _MONEY.search(text)
    if number:
        return number.group(0)
    return _short_answer(text)


_OPENING = re.compile(
    r"^\s*(?i:(?:yes|yeah|yep|sure|ok|okay)\b[,.!]?\s*)?"
    r"([A-Z][\w'&-]*(?:\s+(?:[A-Z][\w'&-]*|of|the|de|la|le|del|and|&))*)"
)


def _opening_name(text: str) -> str | None:
    """The name an answer opens with, which `_PROPER` does not trust at a sentence's start
    ("Yes, Miyozen Restaurant."): not a pronoun, a command or a date."""
    found = _OPENING.match(text)
    if found is None:
        return None
    value = _trimmed(found.group(1))
    first = value.split()[0] if value else ""
    if not first or first in _NOT_REGIONS or first in _COMMANDS or first in _CALENDAR:
        return None
    return None if first.lower() in _NOT_KINDS | _NOT_PLACES else value


def _bare_place(text: str, others: frozenset[str] = frozenset()) -> str | None:
    """A place answered in lower case among dates and times ("fremont the 7th the 10th",
    "delhi economy march 8th"): the words left when they and the service's other values are
    taken out, if one or two; never a number."""
    rest = _TIME.sub(" ", _DATE.sub(" ", text))
    for value in others:
        rest = re.sub(rf"\b{re.escape(value)}\b", " ", rest, flags=re.IGNORECASE)
    words = re.findall(r"[A-Za-z][\w'-]*", _CLOSING.sub("", _LEAD_IN.sub("", rest.strip(" .!?"))))
    if not 0 < len(words) <= 2 or any(w.lower() in _NOT_PLACES for w in words):
        return None
    return " ".join(words)


_NOT_PLACES = {
    "yes", "yeah", "yep", "no", "nope", "ok", "okay", "sure", "please", "thanks", "thank", "you",
    "it", "that", "this", "there", "here", "works", "fine", "good", "great", "perfect", "any",
    "anywhere", "somewhere", "i", "me", "my", "the", "a", "an", "and", "or", "is", "be", "find",
    "want", "need", "one", "ones", "other", "else", "more", "what", "how", "when", "which",
}  # fmt: skip


def _short_answer(text: str) -> str | None:
    """A whole answer of one to four words ("rock", "any is fine" is taken before)."""
    answer = _CLOSING.sub("", _LEAD_IN.sub("", text.strip(" .!?")))
    words = answer.split()
    return " ".join(words) if 0 < len(words) <= 4 else None


# The words an answer may start with before what it says ("the place is concord").
_LEAD_IN = re.compile(
    r"^(?:(?:the|my) \w+ (?:is|will be|would be) |it'?s |it is |i'?m in |i am in |in |at |"
    r"near |around |maybe |probably |let'?s say |say |how about |what about |try |the |an? |"
    r"something |some )+",
    re.IGNORECASE,
)


# The words an answer may end with after what it says ("american is fine", "a drama would
# be nice", "something comic, I think").
_CLOSING = re.compile(
    r"(?:,?\s*(?:is|are|would be|will be|sounds|seems) (?:fine|good|great|nice|ok|okay|perfect)"
    r"|,?\s*(?:i think|i guess|please|thanks|thank you))+$",
    re.IGNORECASE,
)
_TOWARD = {"to", "into", "towards", "for", "reach", "visit", "visiting"}
_AWAY = {"from", "leaving", "leave", "departing", "depart", "out", "here"}
_REGION = re.compile(r",\s*([A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)\b")


def _direction(slot: str) -> set[str]:
    """The prepositions that point at this place slot's value ("to" a destination)."""
    if any(h in slot for h in ("destination", "to_", "arrival", "where_to", "dropoff")):
        return _TOWARD
    if any(h in slot for h in ("origin", "from_", "departure", "pickup", "leaving")):
        return _AWAY
    return set()


_KIND_SLOT = re.compile(r"(^|_)(genre|category|cuisine|type|subcategory|kind|style)($|_)")
# In lower case: a capitalised head is usually part of a name ("Lotus Cuisine").
_KIND_HEADS = (
    r"(?:food|cuisine|dishes|meals?|restaurants?|movies?|films?|flicks?|genre|songs?|music|tracks?|"
    r"events?|concerts?|games?|matches)"
)
_KIND = re.compile(
    rf"\b((?:[A-Z][\w-]*\s+(?:(?:and|&)\s+)?)?[A-Za-z][\w-]*)\s+"
    rf"(?:(?:type|kind|sort)\s+(?:of\s+)?)?{_KIND_HEADS}\b"
    r"|\bserv(?:es|ing|e)\s+(?:some\s+)?(?:fresh\s+|good\s+)?"
    r"([A-Za-z][\w-]*(?:\s+(?:and|&)\s+[A-Za-z][\w-]*|\s+[A-Z][\w-]*)?)"
)
_NOT_KINDS = {
    "a", "an", "the", "some", "any", "good", "nice", "great", "other", "another", "new",
    "different", "one", "few", "several", "interesting", "fun", "local", "nearby", "popular",
    "cheap", "expensive", "moderate", "best", "decent", "specific", "particular", "kind",
    "type", "sort", "kinds", "types", "sorts", "of", "to", "for", "in", "on", "at", "my",
    "your", "their", "this", "that", "these", "those", "more", "less", "most", "really",
    "very", "just", "also", "find", "search", "look", "looking", "want", "like", "love",
    "watch", "see", "hear", "play", "eat", "get", "book", "buy", "try", "have", "has", "is",
    "are", "be", "around", "near", "there", "here", "it", "its", "what", "which", "whatever",
    "anything", "something", "everything", "nothing", "all", "every", "no", "not", "live",
    "upcoming", "latest", "recent", "famous", "top", "favorite", "favourite", "certain",
    "similar", "same", "such", "many", "much", "online", "inexpensive", "costly", "affordable",
    "priced", "price", "pricey", "economical", "average", "intermediate", "eating", "dining",
    "suitable", "perfect", "alternative", "me", "us", "you", "they", "them", "we", "i", "with",
    "and", "or", "but", "so", "if", "then", "up", "out", "anymore", "else", "kid", "kids",
    "family", "friendly", "outdoor", "vegetarian", "high", "low", "order", "let", "let's",
    "please", "can", "could", "would", "yes", "okay", "ok", "sure", "maybe", "how", "hi",
    "hello", "hey", "show", "thanks", "thank", "perhaps", "well", "cool", "watching",
    "attending", "going", "finding", "seeing", "visiting", "sporting", "enjoy", "prefer", "mind",
    "awesome", "better", "entertaining", "exciting", "amazing", "wonderful", "fantastic",
}  # fmt: skip


def _named_kind(text: str) -> str | None:
    """The answer to "what kind of food?" without a word such as "food": its first name that
    is not a place ("Korean Barbeque in Newark", "Sushi bar or Chinese food")."""
    for match in re.finditer(r"\b([A-Z][\w-]*(?:\s+(?:(?:and|&)\s+)?[A-Z][\w-]*){0,2})", text):
        before = text[: match.start()].lower().split()[-1:] or [""]
        words = match.group(1).split()
        lead = []
        while words and words[0].split("'")[0].lower() in _NOT_KINDS:
            lead.append(words.pop(0).lower())  # "Something Jamaican"
        if {before[0], *lead} & _AT_PLACE or not words:
            continue  # "In Napa"
        if words[0] not in _CALENDAR and words[0] not in _PRONOUNS:
            return " ".join(words)
    found = re.search(r"\b(?:with|having)\s+(?:some\s+|good\s+)?([a-z][\w-]*)", text)
    if found and found.group(1) not in _NOT_KINDS:
        return found.group(1)  # "somewhere with sushi"
    return None


def _kind_words(words: list[str]) -> list[str]:
    """The words of a kind after the last word that is not one ("want asian fusion" is "asian
    fusion"), keeping "and" or "&" inside it ("Pizza and Pasta", "Soup & Salad")."""
    kept: list[str] = []
    for word in words:
        inside = word.lower() in ("and", "&") and kept
        kept = [*kept, word] if inside or word.lower() not in _NOT_KINDS else []
    return kept if kept and kept[-1].lower() not in ("and", "&") else []


_FILMED = re.compile(r"\b(movies?|films?|flicks?)$")


def _kind_value(text: str) -> str | None:
    """What kind of thing the customer wants, for a genre, cuisine or category slot: the word
    before "food", "movies", "songs", "events"... ("some Latin American food", "a funny
    movie", "Baseball games"), or what a restaurant should serve ("serving Diner")."""
    if text.rstrip().endswith("?") and not _SEARCH.search(text):
        return None  # "is it an inexpensive restaurant?" asks about one already found
    for match in _KIND.finditer(text):
        value = match.group(1) or match.group(2)
        words = _kind_words(value.split())
        if len(words) == 2 and words[0][0].isupper() and not words[1][0].isupper():
            words = words[1:]  # "a Bob Hastings adventure movie": the name is not the kind
        if len(words) == 2 and all(w[0].isupper() for w in words) and _FILMED.search(match[0]):
            continue  # "a Harry Elfont movie" is the director's
        if words and words[-1] == value.split()[-1] and words[0][0].isalpha():
            return " ".join(words)
    return None


def _known_kind(text: str, words: frozenset[str]) -> str | None:
    """The kind the customer asks for: `_kind_value`'s, or a known kind word said
    (`kinds.py`) when there is none or when the known one holds it ("Middle eastern" food,
    not "eastern")."""
    kind, known = _kind_value(text), kind_said(words, text)
    if kind is None or (known and kind.lower() in known.lower()):
        return known or kind
    return kind


_MONEY_SLOT = ("amount", "price", "fare", "balance", "cost", "rent", "fee")
# An amount the customer sends or pays, with its currency ("transfer $710", "send 370 dollars").
_PAID = re.compile(
    r"\b(?:transfer|send|sent|pay|move|give)\b[^.?!$\d]{0,20}"
    r"(\$\s?\d[\d,.]*|\d[\d,.]*\s*(?:bucks|dollars|usd|euros?|pounds|quid)\b)",
    re.IGNORECASE,
)
# A yes-or-no question about something already named ("Is it pricey?", "can you tell me if
# it is cheap?").
_YES_NO_QUESTION = re.compile(
    r"(?:^|[.?!,]\s*|\b(?:and|or|but|chance)\s+)(?:is|are|does|do|did|was|were|has)\s+"
    r"(?:it|they|this|that|the \w+)\b[^.?!]*\?"
    r"|(?:^|[.?!,]\s*)(?:it|this|that) (?:is|was)\b[^.?!]*\?"
    r"|\b(?:tell me|know) (?:if|whether)\b[^.?!]*\?",
    re.IGNORECASE,
)
_MONEY = re.compile(r"\$?\d[\d,.]*(?:\s*(?:bucks|dollars|usd|euros?|pounds|quid)\b)?", re.I)
_CALENDAR = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday", "Today", "Tomorrow",
}  # fmt: skip


def _proper_names(text: str) -> Iterator[re.Match[str]]:
    """Capitalised names in `text`, not dates ("make it March 5th") nor a lone capitalised
    word that names nothing ("Yes, That is correct")."""
    for match in _PROPER.finditer(text):
        words = match.group(1).split()
        if words[0] not in _CALENDAR and not (len(words) == 1 and words[0] in _NOT_PROPER):
            yield match


# Capitalised after a comma or in the middle of a sentence, and still not names ("Yes, That
# is correct", "Can You help me").
_NOT_PROPER = {
    "That", "It", "It's", "This", "Yes", "No", "You", "One", "Can", "Could", "Would", "Please",
    "Okay", "Ok", "Sure", "Thanks", "Thank", "What", "Where", "When", "How", "Why", "Is", "Are",
    "Do", "Does", "Did", "Will", "Let's", "Let", "Hi", "Hello", "Hey", "Oh", "Wait", "Also",
    "And", "But", "So", "Then", "The", "A", "An", "My", "We", "They", "He", "She", "There",
    "Here", "Great", "Perfect", "Cool", "Nice", "Good", "Fine", "Actually", "Maybe",
}  # fmt: skip
# Words that follow a name after a comma and are not its region ("Seattle, please").
_NOT_REGIONS = _NOT_PROPER | {"I", "On", "In", "At", "For", "To", "From"}


# A place's own last word, typed in lower case after its capitalised name.
_PLACE_TAIL = re.compile(
    r"\s+(?:city|hill|hills|beach|park|valley|creek|springs|heights|county|island|falls|bay|"
    r"lake|village|grove|gardens)\b"
)


def _names_said(text: str) -> list[tuple[str, str]]:
    """Proper names (of places, restaurants, people...) with the word before each ("out" of
    "out of X"), a region kept ("Seattle, WA", "Paris, France": customers' states record the
    place as said)."""
    found = []
    for match in _proper_names(text):
        value = _trimmed(match.group(1))
        if not value or value in _PRONOUNS:
            continue
        region = _REGION.match(text, match.end(1))
        tail = _PLACE_TAIL.match(text, match.end(1)) if value == match.group(1) else None
        if region and value == match.group(1) and region.group(1).split()[0] not in _NOT_REGIONS:
            value = f"{value}{region.group(0)}"
        elif tail:
            value = f"{value}{tail.group(0)}"  # "Suisun city", "Pleasant hill"
        before = text[: match.start(1)].lower().split()[-2:] or [""]
        found.append((before[0] if before[-1] == "of" else before[-1], value))  # "out of X"
    return found


_STREET = (
    r"(?:(?:st|ave|rd|blvd|dr|ln|ct|pl|hwy|pkwy)\.?|street|avenue|road|boulevard|drive|lane|way|"
    r"court|place|highway|parkway|circle|square|plaza|terrace|trail|alley|building|expressway)"
)
_NOT_STREET = (
    r"(?!(?:people|persons?|tickets?|seats?|on|the|for|at|in|to|of|and|a|an|is|am|pm|stars?|"
    r"rooms?|beds?|baths?|days?|nights?|hours?|minutes?|bags?|dollars|bucks)\b)"
)
# "5434 Ygnacio Valley Road #90", "655 Redwood highway Suite 100", "1538 Third Ave, East 86th
# Street": a house number, up to four words and a street word, then a unit or a cross street.
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}(?:-\d+)?(?:\s+{_NOT_STREET}[\w'.-]+){{0,4}}?\s+{_STREET}(?!\w)"
    r"(?:\s+(?:north|south|east|west)\b)?"
    rf"(?:,?\s*(?:#\s*\w+|(?:suite|ste|unit|apt|floor)\.?\s*\w+))?"
    rf"(?:,\s*(?:[\w'.-]+\s+){{0,3}}{_STREET}(?!\w))?"
    # "to 1850 El Camino Real", "at 2050 Broadway": a number and a capitalised name.
    r"|(?<=\b(?:to|at) )\d{2,6}(?-i:(?:\s+[A-Z][\w'-]*){1,4})",
    re.IGNORECASE,
)


def _street_address(text: str) -> re.Match[str] | None:
    """A street address the customer gives ("I need a ride to 1900 University Ave #105")."""
    return _ADDRESS.search(text)


_KIND_NOUNS = {"game", "games", "event", "events", "match", "matches", "concert", "concerts",
               "music", "food", "movie", "movies", "film", "films", "song", "songs"}  # fmt: skip


def _names_kind(value: str) -> bool:
    """Whether a capitalised phrase names a kind of thing ("Match events", "Baseball Games")."""
    return any(word in _KIND_NOUNS for word in value.lower().split())


def _place_value(slot: str, text: str, others: frozenset[str] = frozenset()) -> str | None:
    """The place in an answer for a place slot: the one its preposition points at when the
    customer names two ("from San Diego to Fresno"), else the longest."""
    # "Anaheim, CA and I like Baseball Games": the games are no place.
    found = [
        (before, value)
        for before, value in _names_said(text)
        if not _names_kind(value)
        and value.lower() not in others
        and not re.search(rf"\b{re.escape(value)}\s+(?:{'|'.join(_KIND_NOUNS)})\b", text)
    ]
    if not found:
        return None
    toward = _direction(slot)
    if toward:
        own = [value for before, value in found if before in toward]
        if own:
            return own[0]
        against = _AWAY if toward is _TOWARD else _TOWARD
        neutral = [value for before, value in found if before not in against]
        if neutral:
            return max(neutral, key=len)
    # "at All Spice in San Mateo": "in" points at a place, "at" often at a venue.
    placed = [value for before, value in found if before in _IN_PLACE] or [
        value for before, value in found if before in _AT_PLACE
    ]
    return placed[0] if placed else max((value for _, value in found), key=len)


# An answer that ends on "in <place>", in whatever case the customer typed it.
def _trailing(prepositions: str) -> re.Pattern[str]:
    """A place of up to three words closing the text after one of `prepositions`."""
    word = rf"(?!(?:{prepositions})\b)[A-Za-z][\w'-]*"
    return re.compile(
        rf"\b(?:{prepositions}) ((?!the\b|a\b|my\b|there\b|it\b|here\b|me\b|you\b)"
        rf"{word}(?: {word}){{0,2}})[.?!\s]*$",
        re.IGNORECASE,
    )


_TRAILING_PLACE = _trailing("in|near|around")
# For a slot that a preposition points at: "i want to get to long beach." for a destination.
_TRAILING_TOWARD, _TRAILING_AWAY = _trailing("to|into"), _trailing("from")
_AFTER_PLACE = {"please", "thanks", "thank", "you", "today", "tomorrow", "tonight", "instead",
                "too", "then", "again", "also", "now", "first", "area"}  # fmt: skip


_OPENING_NAME = re.compile(r"\s*([A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*)+)")
_COMMANDS = {"Find", "Search", "Book", "Get", "Show", "Look", "Play", "Reserve", "Rent", "Make",
             "Try", "Check", "Give", "Tell", "Help", "Go", "Fly", "Leave", "Depart", "Arrive",
             "Visit", "Take", "Need", "Want", "Call", "Buy", "Send", "Set"}  # fmt: skip


_BEFORE_PLACE = {"in", "near", "around", "at", "to", "from", "lookin", "looking", "try", "maybe"}


def _opening_place(text: str, place: str) -> str:
    """An answer that opens with the place ("Los Angeles.", "Redwood City."): the capital of
    its first word, which `_PROPER` does not trust at a sentence's start, is the place's."""
    opening = _OPENING_NAME.match(text)
    regional = re.match(rf"\s*([A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*)*),\s*{re.escape(place)}\b", text)
    lead = regional.group(1).split()[0] if regional else ""
    if regional and lead not in _COMMANDS and lead not in _NOT_REGIONS:
        return regional.group(0).strip()  # "Anaheim, CA and I like ..."
    if opening is None or not opening.group(1).endswith(place) or opening.group(1) == place:
        return place
    first = opening.group(1).split()[0]
    leading = first in _NOT_REGIONS or first in _COMMANDS or first.lower() in _BEFORE_PLACE
    return place if leading else opening.group(1)


def _trailing_place(text: str, slot: str = "") -> str | None:
    """The place an answer ends on after "in" (or after "to" for a destination, "from" for
    an origin), in lower case ("in gilroy"), without the words that close a request
    ("please", "today")."""
    direction = _direction(slot)
    pointing = _TRAILING_TOWARD if direction is _TOWARD else _TRAILING_AWAY
    found = _TRAILING_PLACE.search(text) or (pointing.search(text) if direction else None)
    if found is None:
        return None
    words = found.group(1).split()
    while words and words[-1].lower() in _AFTER_PLACE:
        words.pop()
    return " ".join(words) or None


_AT_PLACE = {"in", "near", "around", "at", "to", "from"}  # "a Psychologist in Novato"
_IN_PLACE = {"in", "near", "around"}


_UNTIL = {"till", "until", "til", "to", "through", "thru", "returning", "return", "back", "by"}
_END_SLOT = ("return", "dropoff", "check_out", "end", "until")


def _dates(text: str, slots: list[Slot], taken: set[str], known: set[str]) -> dict[str, str]:
    """Dates the customer volunteered, for the task's date slots: after "until", "till" or
    "returning" the end of a stay or trip (a return or drop-off date), otherwise its start,
    a slot not yet known first."""
    if not slots:
        return {}
    ends = [s.name for s in slots if any(h in s.name for h in _END_SLOT)]
    starts = [s.name for s in slots if s.name not in ends]
    found: dict[str, str] = {}
    for match in _DATE.finditer(text):
        value = _date_value(match.group(0))
        if value in taken:
            continue
        group = ends if _after_until(text, match) and ends else [*starts, *ends]
        free = [name for name in group if name not in found]
        if not free:
            continue
        fresh = [name for name in free if name not in known]
        target = (fresh or free)[0]
        found[target] = value
        taken.add(value)
    return found


def _after_until(text: str, match: re.Match[str]) -> bool:
    """Whether "till", "until", "returning"... comes within three words before a date."""
    before = text[max(0, match.start() - 24) : match.start()].lower().split()[-3:]
    return not _UNTIL.isdisjoint(before)


def _asked_date(slot: str, text: str) -> str | None:
    """The date in an answer for a date slot: of "from the 7th till the 10th", the one after
    "till" for an end date and the other for a start date."""
    matches = list(_DATE.finditer(text))
    if not matches:
        return None
    end = any(h in slot for h in _END_SLOT)
    for match in matches:
        if _after_until(text, match) == end:
            return _date_value(match.group(0))
    # "the 7th the 10th" for a start and an end: the end is the later one said.
    return _date_value(matches[-1 if end else 0].group(0))


def _date_value(text: str) -> str:
    """A date as customers' state records it: "11th of March", not "on the 11th of March"."""
    value = re.sub(r"^on ", "", text, flags=re.I)
    return re.sub(r"^the (?=\d+\w* of )", "", value, flags=re.I)


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", name).lower()
