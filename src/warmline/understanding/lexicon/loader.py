"""Reading rule files: YAML -> validated, compiled rules, or a `LexiconError` listing every
problem with its file, line, column and field (`warmline.yamlfile` keeps the locations).

Refused at load: YAML that is not a rule file, an unknown field, a duplicate rule id, a signal
that does not exist (with the closest known one), a strength outside 0..1, an unknown macro, a
regular expression that does not compile or that can backtrack catastrophically (a repeat
inside a repeat; for a business file also a timed probe, `safety.probe`), and a rule that
misses one of its `examples` or matches one of its `not` texts.

A business file (`WARMLINE_LEXICON_FILE`) changes the shipped pack: a rule with a shipped id
replaces that rule where it stands, a new id adds a rule after its signal's others, and
`enabled: false` removes the shipped rule. Its `cues` replace shipped cues and its `lists` add
words to shipped lists, both named `concern.name` (e.g. `emotion.acronyms`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warmline.understanding.lexicon import catalog
from warmline.understanding.lexicon.pack import Pack
from warmline.understanding.lexicon.regexplan import SCAN, nested_quantifier, parse, plan
from warmline.understanding.lexicon.rules import Rule, fires
from warmline.understanding.lexicon.safety import probe
from warmline.understanding.lexicon.text import Cue, normalise, preceded
from warmline.yamlfile import (
    ConfigFileError,
    ConfigIssue,
    Marks,
    PathKey,
    default_message,
    load_marked,
    locate,
    read_text,
    validate,
)

SHIPPED_DIR = Path(__file__).resolve().parent
SHIPPED_FILES = ("emotion.yaml", "escape_hatch.yaml", "offer.yaml", "sensitive_topics.yaml")
_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_FLAGS = {
    "emotion": re.IGNORECASE,
    "escape_hatch": re.IGNORECASE,
    "offer": re.IGNORECASE,
    # Topic patterns run on the message lower-cased (docs/policy.md).
    "sensitive_topic": 0,
}


class LexiconError(ConfigFileError):
    """A rule file is not valid; `issues` says where and why (all of them, not the first)."""


# -- the file format ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CueSpec(_Strict):
    """Words that change what follows them (see `lexicon.text.Cue`)."""

    words: list[str] = Field(min_length=1)
    contractions: bool = False
    after: int = Field(default=2, ge=0, le=20)
    reach: int = Field(default=30, ge=1, le=500)
    gap: int | None = Field(default=None, ge=0, le=500)
    stops: str | None = None
    examples: list[str] = Field(default_factory=list)
    not_: list[str] = Field(default_factory=list, alias="not")


class RuleSpec(_Strict):
    """One rule as written (docs/lexicon.md, "Rule fields")."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    signal: str | None = None
    use: str = "signal"
    pattern: str | list[str] | None = None
    words: list[str] | None = None
    phrases: list[str] | None = None
    strength: float | None = Field(default=None, ge=0.0, le=1.0)
    negatable: bool = False
    factual: bool = False
    examples: list[str] = Field(default_factory=list)
    not_: list[str] = Field(default_factory=list, alias="not")
    enabled: bool = True


class LexiconFile(_Strict):
    """A rule file: the shipped ones name their `concern`; a business file may mix them."""

    concern: str | None = None
    macros: dict[str, str | list[str]] = Field(default_factory=dict)
    cues: dict[str, CueSpec] = Field(default_factory=dict)
    lists: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(default_factory=list)


@dataclass
class _Read:
    source: str
    spec: LexiconFile
    marks: Marks
    shipped: bool


def _read(text: str, source: str, *, shipped: bool) -> _Read:
    data, marks = load_marked(text, source, LexiconError, "a rule file", fast=True)
    spec = validate(LexiconFile, data, source, marks, LexiconError, _message)
    return _Read(source, spec, marks, shipped)


def _message(error: Any) -> str:
    """A pydantic error in words; YAML's yes/no/on/off (read as true/false) explained."""
    if str(error["type"]) == "string_type" and isinstance(error.get("input"), bool):
        return (
            "expected text: quote it (YAML reads an unquoted yes, no, on or off as true or false)"
        )
    return default_message(error)


# -- building a pack ---------------------------------------------------------------------------


@dataclass
class _Builder:
    """Collects rules, cues and lists file by file, and every problem with its location."""

    issues: list[ConfigIssue] = field(default_factory=list)
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    ids: dict[str, Rule] = field(default_factory=dict)
    cues: dict[str, Cue] = field(default_factory=dict)
    cue_specs: dict[str, tuple[CueSpec, _Read, PathKey]] = field(default_factory=dict)
    lists: dict[str, set[str]] = field(default_factory=dict)
    macros: dict[str, dict[str, str]] = field(default_factory=dict)
    to_check: list[tuple[Rule, _Read, int]] = field(default_factory=list)
    to_probe: list[tuple[Rule, _Read, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def problem(self, read: _Read, loc: PathKey, message: str) -> None:
        self.issues.append(locate(read.source, read.marks, loc, message))

    # -- files ---------------------------------------------------------------------------------

    def add_file(self, read: _Read) -> None:
        self.sources.append(read.source)
        spec = read.spec
        concern = spec.concern
        if concern is not None and concern not in catalog.CONCERNS:
            self.problem(read, ("concern",), catalog.unknown("concern", concern, catalog.CONCERNS))
            return
        if read.shipped and concern is None:
            self.problem(read, (), "a shipped rule file names its concern")
            return
        own_macros = self._macros(read)
        self._cues(read)
        self._lists(read)
        first_of: dict[str, int] = {}
        for number, rule in enumerate(spec.rules):
            first = first_of.setdefault(rule.id, number)
            if first != number:
                line = read.marks.get(("rules", first, "id"), (None, None))[0]
                self.problem(
                    read,
                    ("rules", number, "id"),
                    f"duplicate rule id {rule.id!r} (first at line {line})",
                )
                continue
            self._rule(read, number, rule, own_macros)

    def _macros(self, read: _Read) -> dict[str, str]:
        spec = read.spec
        raw = {name: "".join(v) if isinstance(v, list) else v for name, v in spec.macros.items()}
        shipped_names = {name for macros in self.macros.values() for name in macros}
        for name in raw:
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                self.problem(read, ("macros", name), "a macro name is upper case: A-Z, 0-9, _")
            elif not read.shipped and name in shipped_names:
                self.problem(
                    read, ("macros", name), f"{name} is a shipped macro: give yours another name"
                )
        expanded: dict[str, str] = {}
        for name in raw:
            value = self._expand_macro(read, name, raw, expanded, ())
            if value is not None:
                expanded[name] = value
        if read.shipped and spec.concern is not None:
            self.macros[spec.concern] = expanded
        return expanded

    def _expand_macro(
        self,
        read: _Read,
        name: str,
        raw: dict[str, str],
        done: dict[str, str],
        stack: tuple[str, ...],
    ) -> str | None:
        if name in done:
            return done[name]
        if name in stack:
            self.problem(read, ("macros", name), f"macro {name} refers to itself")
            return None
        result = raw[name]
        for used in set(_MACRO.findall(result)):
            if used not in raw:
                continue  # checked when a rule uses it
            value = self._expand_macro(read, used, raw, done, (*stack, name))
            if value is None:
                return None
            result = result.replace(f"{{{used}}}", value)
        done[name] = result
        return result

    def _qualified(self, read: _Read, section: str, key: str) -> tuple[str, str] | None:
        concern = read.spec.concern
        if read.shipped:
            assert concern is not None
            return concern, key
        if "." in key:
            head, _, name = key.partition(".")
            return head, name
        if concern is not None:
            return concern, key
        self.problem(
            read, (section, key), f"name the concern too, e.g. emotion.{key} (a business file)"
        )
        return None

    def _cues(self, read: _Read) -> None:
        for key, cue in read.spec.cues.items():
            named = self._qualified(read, "cues", key)
            if named is None:
                continue
            concern, name = named
            known = catalog.CUES.get(concern)
            if known is None or name not in known:
                every = [f"{c}.{n}" for c, names in catalog.CUES.items() for n in names]
                self.problem(
                    read, ("cues", key), catalog.unknown("cue", f"{concern}.{name}", every)
                )
                continue
            qualified = f"{concern}.{name}"
            self.cues[qualified] = Cue.of(
                cue.words,
                contractions=cue.contractions,
                after=cue.after,
                reach=cue.reach,
                gap=cue.gap,
                stops=cue.stops,
            )
            self.cue_specs[qualified] = (cue, read, ("cues", key))

    def _lists(self, read: _Read) -> None:
        for key, words in read.spec.lists.items():
            named = self._qualified(read, "lists", key)
            if named is None:
                continue
            concern, name = named
            known = catalog.LISTS.get(concern)
            if known is None or name not in known:
                every = [f"{c}.{n}" for c, names in catalog.LISTS.items() for n in names]
                self.problem(
                    read, ("lists", key), catalog.unknown("list", f"{concern}.{name}", every)
                )
                continue
            self.lists.setdefault(f"{concern}.{name}", set()).update(words)

    # -- rules ---------------------------------------------------------------------------------

    def _rule(self, read: _Read, number: int, spec: RuleSpec, macros: dict[str, str]) -> None:
        here: PathKey = ("rules", number)
        existing = self.ids.get(spec.id)
        if read.shipped and existing is not None:
            self.problem(
                read, (*here, "id"), f"duplicate rule id {spec.id!r} (first at {existing.where})"
            )
            return
        if not spec.enabled:
            if read.shipped:
                self.problem(read, (*here, "enabled"), "to drop a shipped rule, delete it")
            elif existing is None:
                self.problem(read, (*here, "id"), catalog.unknown("rule", spec.id, self.ids))
            else:
                self.rules[existing.concern].remove(existing)
                del self.ids[spec.id]
            return
        concern = self._concern(read, here, spec)
        if concern is None:
            return
        if existing is not None and existing.concern != concern:
            self.problem(
                read,
                (*here, "signal"),
                f"rule {spec.id!r} is {_article(existing.concern)} {existing.concern} rule; its "
                "replacement must be too",
            )
            return
        rule = self._compile(read, here, spec, concern, macros)
        if rule is None:
            return
        rules = self.rules.setdefault(concern, [])
        if existing is not None:
            rules[rules.index(existing)] = rule
        else:
            rules.append(rule)
        self.ids[spec.id] = rule
        self.to_check.append((rule, read, number))
        if not read.shipped:
            self.to_probe.append((rule, read, number))

    def _concern(self, read: _Read, here: PathKey, spec: RuleSpec) -> str | None:
        signal = spec.signal or catalog.USES.get(spec.use)
        if signal is None:
            self.problem(read, here, "a rule names its signal")
            return None
        file_concern = read.spec.concern
        known = catalog.CONCERNS[file_concern] if file_concern else catalog.CONCERNS_ALL
        if signal not in known:
            self.problem(read, (*here, "signal"), catalog.unknown("signal", signal, known))
            return None
        concern = file_concern or catalog.concern_of(signal)
        assert concern is not None
        return concern

    def _compile(
        self, read: _Read, here: PathKey, spec: RuleSpec, concern: str, macros: dict[str, str]
    ) -> Rule | None:
        problems: list[tuple[PathKey, str]] = []
        signal = spec.signal or catalog.USES.get(spec.use) or ""
        problems += _shape_problems(spec, concern, signal)
        regex = ""
        pattern: re.Pattern[str] | None = None
        tree: Any = None
        if not problems and spec.phrases is None:
            field_name = "words" if spec.words is not None else "pattern"
            regex, problem = self._regex(spec, concern, macros)
            if problem is None:
                try:
                    tree = parse(regex, _FLAGS[concern])
                    pattern = re.compile(regex, _FLAGS[concern])
                except re.error as error:
                    problem = f"not a valid regular expression: {error}"
            if problem is None:
                nested = nested_quantifier(tree)
                if nested is not None:
                    problem = (
                        f"can backtrack catastrophically: {nested}; bound the outer repeat "
                        "(e.g. {0,5}) or make the alternatives distinct"
                    )
            if problem is not None:
                problems.append(((field_name,), problem))
        for loc, message in problems:
            self.problem(read, (*here, *loc), message)
        if problems:
            return None
        line = read.marks.get(here, (None, None))[0]
        return Rule(
            id=spec.id,
            concern=concern,
            signal=signal,
            use=spec.use,
            pattern=pattern,
            regex=regex,
            phrases=tuple(spec.phrases or ()),
            strength=spec.strength if spec.strength is not None else 0.0,
            negatable=spec.negatable,
            factual=spec.factual,
            examples=tuple(spec.examples),
            not_examples=tuple(spec.not_),
            source=read.source,
            line=line,
            plan=plan(tree) if tree is not None and concern == "emotion" else SCAN,
        )

    def _regex(
        self, spec: RuleSpec, concern: str, macros: dict[str, str]
    ) -> tuple[str, str | None]:
        if spec.words is not None:
            alternatives = "|".join(
                r"\s+".join(re.escape(part) for part in word.split()) for word in spec.words
            )
            return rf"\b(?:{alternatives})\b", None
        assert spec.pattern is not None
        text = "".join(spec.pattern) if isinstance(spec.pattern, list) else spec.pattern
        available = {**self.macros.get(concern, {}), **macros}
        missing = sorted({name for name in _MACRO.findall(text) if name not in available})
        if missing:
            known = ", ".join(sorted(available)) or "none"
            return text, f"unknown macro {{{missing[0]}}} (macros here: {known})"
        return _MACRO.sub(lambda m: available[m.group(1)], text), None

    # -- checks that need the whole pack ---------------------------------------------------------

    def check_examples(self, probe_patterns: bool) -> None:
        for rule, read, number in self.to_check:
            here: PathKey = ("rules", number)
            if not rule.examples:
                self.problem(read, (*here, "examples"), "give at least one text the rule matches")
            for index, example in enumerate(rule.examples):
                if not fires(rule, example, self.cues):
                    self.problem(
                        read, (*here, "examples", index), f"the rule misses its example {example!r}"
                    )
            for index, text in enumerate(rule.not_examples):
                if fires(rule, text, self.cues):
                    self.problem(
                        read, (*here, "not", index), f"the rule matches {text!r}, listed under not"
                    )
        for name, (spec, read, loc) in self.cue_specs.items():
            cue = self.cues[name]
            for index, example in enumerate(spec.examples):
                if not preceded(example, len(example), cue):
                    self.problem(
                        read, (*loc, "examples", index), f"no cue at the end of {example!r}"
                    )
            for index, text in enumerate(spec.not_):
                if preceded(text, len(text), cue):
                    self.problem(
                        read, (*loc, "not", index), f"a cue ends {text!r}, listed under not"
                    )
        if probe_patterns:
            for rule, read, number in self.to_probe:
                if rule.pattern is not None:
                    unsafe = probe(rule.pattern, [normalise(e) for e in rule.examples])
                    if unsafe is not None:
                        field_name = "words" if read.spec.rules[number].words else "pattern"
                        self.problem(read, ("rules", number, field_name), unsafe)

    def check_complete(self) -> None:
        for concern, names in catalog.CUES.items():
            for name in names:
                if f"{concern}.{name}" not in self.cues:
                    self.issues.append(
                        ConfigIssue(self.sources[0], None, None, "cues", f"no cue {concern}.{name}")
                    )

    def pack(self) -> Pack:
        if self.issues:
            raise LexiconError(self.issues)
        return Pack(
            self.rules,
            self.cues,
            {name: frozenset(words) for name, words in self.lists.items()},
            self.sources,
        )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _shape_problems(spec: RuleSpec, concern: str, signal: str) -> list[tuple[PathKey, str]]:
    """Which fields a rule of this concern and use must, may and may not have."""
    problems: list[tuple[PathKey, str]] = []
    given = [name for name in ("pattern", "words", "phrases") if getattr(spec, name) is not None]
    allowed = {
        "emotion": ("pattern", "words"),
        "sensitive_topic": ("pattern", "phrases"),
    }.get(concern, ("pattern",))
    if len(given) != 1:
        problems.append(((), f"give exactly one of {', '.join(allowed)}"))
    elif given[0] not in allowed:
        problems.append(
            ((given[0],), f"a {concern} rule has {' or '.join(allowed)}, not {given[0]}")
        )
    if concern != "emotion":
        for name in ("use", "strength", "negatable", "factual"):
            if name in spec.model_fields_set:
                problems.append(((name,), f"a {concern} rule has no {name}"))
        return problems
    if spec.use not in catalog.USES:
        problems.append((("use",), catalog.unknown("use", spec.use, catalog.USES)))
        return problems
    fixed = catalog.USES[spec.use]
    if fixed is None and signal not in catalog.RULE_SIGNALS:
        problems.append(
            (
                ("signal",),
                f"signal {signal!r} is computed, not matched by rules (rule signals: "
                f"{', '.join(catalog.RULE_SIGNALS)}; see the other uses in docs/lexicon.md)",
            )
        )
    elif fixed is not None and signal != fixed:
        problems.append((("signal",), f"a {spec.use} rule is about signal {fixed!r}"))
    if spec.use in catalog.SCORED_USES_WITH_STRENGTH:
        if spec.strength is None:
            problems.append((("strength",), "a strength between 0 and 1 is needed"))
    elif spec.strength is not None:
        problems.append((("strength",), f"a {spec.use} rule has no strength"))
    for flag in ("negatable", "factual"):
        if getattr(spec, flag) and spec.use not in catalog.SCORED_USES:
            problems.append(((flag,), f"a {spec.use} rule cannot be {flag}"))
    return problems


# -- entry points ------------------------------------------------------------------------------


def _build(reads: list[_Read], *, probe_patterns: bool, check_examples: bool = True) -> Pack:
    builder = _Builder()
    for read in reads:
        builder.add_file(read)
    builder.check_complete()
    if check_examples:
        builder.check_examples(probe_patterns)
    return builder.pack()


def _shipped_reads() -> list[_Read]:
    reads = []
    for name in SHIPPED_FILES:
        path = SHIPPED_DIR / name
        reads.append(_read(read_text(path, LexiconError), str(path), shipped=True))
    return reads


@lru_cache(maxsize=2)
def shipped_pack(*, check_examples: bool = True) -> Pack:
    """The shipped rules alone (read and checked once). The generated test reads them with
    `check_examples=False`, to report every rule's examples as a test of its own."""
    return _build(_shipped_reads(), probe_patterns=False, check_examples=check_examples)


def load_pack(path: Path | str, *, probe_patterns: bool = True) -> Pack:
    """The shipped rules changed by the business file at `path`, validated (its patterns
    probed for catastrophic backtracking unless `probe_patterns` is False)."""
    path = Path(path)
    business = _read(read_text(path, LexiconError), str(path), shipped=False)
    return _build([*_shipped_reads(), business], probe_patterns=probe_patterns)


def parse_pack(text: str, source: str = "<lexicon>", *, probe_patterns: bool = True) -> Pack:
    """The shipped rules changed by business rules given as YAML text (`source` names it)."""
    business = _read(text, source, shipped=False)
    return _build([*_shipped_reads(), business], probe_patterns=probe_patterns)


def probe_pack(pack: Pack, report: Callable[[Rule, str], None]) -> None:
    """Run the safety probe on every rule of `pack`, reporting the unsafe ones."""
    for rules in pack.rules.values():
        for rule in rules:
            if rule.pattern is not None:
                unsafe = probe(rule.pattern, [normalise(e) for e in rule.examples])
                if unsafe is not None:
                    report(rule, unsafe)
