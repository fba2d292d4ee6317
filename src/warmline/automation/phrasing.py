"""Every word the bot says comes from editable templates (`automation/templates/`): Jinja2
files for the shape of a reply and `phrases.yaml` for the phrases. A business overrides any of
them by putting a file of the same name in `WARMLINE_TEMPLATES_DIR` (phrase lists are replaced
by key). Templates are checked when loaded: a broken one names its file and stops the start,
instead of failing a customer's message later."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
)

DEFAULT_TEMPLATES = Path(__file__).resolve().parent / "templates"
_PHRASES = Environment(undefined=StrictUndefined, autoescape=False)
TEMPLATE_NAMES = (
    "answer.j2",
    "reply.chat.j2",
    "reply.email.j2",
    "handoff.j2",
    "reminder.j2",
    "survey.j2",
    "letter.email.j2",
    "notice.email.j2",
)


class TemplateProblem(ValueError):
    """A template or the phrases file cannot be used (the message names the file)."""


@dataclass(frozen=True)
class Acknowledgement:
    """A phrase that acknowledges a feeling; `apology` ones are not used twice in a row."""

    text: str
    apology: bool = False


@dataclass
class Phrasing:
    """The loaded templates and phrases."""

    templates: dict[str, Template]
    phrases: dict[str, Any]
    compiled: dict[str, Template] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, override: Path | None = None) -> Phrasing:
        """The shipped templates, with any of `override`'s files in their place."""
        folders = [override, DEFAULT_TEMPLATES] if override else [DEFAULT_TEMPLATES]
        environment = Environment(
            loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for chat, email text and voice; never HTML
            keep_trailing_newline=False,
            trim_blocks=True,
        )
        templates = {}
        for name in TEMPLATE_NAMES:
            try:
                templates[name] = environment.get_template(name)
            except TemplateError as error:
                raise TemplateProblem(f"{_origin(name, override)}: {error}") from None
        phrases = _phrases(DEFAULT_TEMPLATES / "phrases.yaml")
        if override is not None and (override / "phrases.yaml").exists():
            phrases.update(_phrases(override / "phrases.yaml"))
        loaded = cls(templates, phrases)
        loaded._check(override)
        return loaded

    def render(self, template: str, **values: Any) -> str:
        """A template filled in, stripped."""
        return self.templates[template].render(**values).strip()

    def phrase(self, *path: str, **values: Any) -> str:
        """One phrase (a string, possibly with `{{ }}` values)."""
        found: Any = self.phrases
        for part in path:
            found = found[part]
        text = str(found)
        template = self.compiled.get(text)
        if template is None:  # compiled once: compiling costs more than rendering
            template = self.compiled.setdefault(text, _PHRASES.from_string(text))
        return template.render(**values)

    def has(self, *path: str) -> bool:
        """Whether a phrase exists at `path` (optional ones, such as a recap per entity)."""
        found: Any = self.phrases
        for part in path:
            if not isinstance(found, dict) or part not in found:
                return False
            found = found[part]
        return True

    def choices(self, *path: str) -> list[str]:
        """A list of interchangeable phrases."""
        found: Any = self.phrases
        for part in path:
            found = found.get(part, []) if isinstance(found, dict) else []
        return [str(item) for item in found] if isinstance(found, list) else [str(found)]

    def acknowledgements(self, feeling: str) -> list[Acknowledgement]:
        """The acknowledgements of a feeling (frustration, anxiety, urgency)."""
        items = (self.phrases.get("acknowledge") or {}).get(feeling) or []
        return [
            Acknowledgement(str(item["text"]), bool(item.get("apology", False)))
            if isinstance(item, dict)
            else Acknowledgement(str(item))
            for item in items
        ]

    def _check(self, override: Path | None) -> None:
        """Render every template once with sample values, so a mistake shows at start."""
        sample = {
            "section": {"text": "t", "title": "t", "url": None},
            "acknowledgement": "",
            "pushback": "",
            "recap": "",
            "body": "b",
            "next_step": "",
            "person_hint": "p",
            "name": None,
            "upset": False,
            "opening": "",
            "situation": "staffed",
            "when": None,
            "by_email": False,
            "wait_minutes": None,
            "questions": ["csat", "nps", "felt_heard"],
            "channel": "web",
            "greet": True,
            "signer": None,
            "problem": "attachments",
            "refused": [{"label": "a (1 MB)"}],
            "limit": "1 MB",
            "postscript": True,
        }
        for name in TEMPLATE_NAMES:
            try:
                self.render(name, **sample)
            except TemplateError as error:
                raise TemplateProblem(f"{_origin(name, override)}: {error}") from None
        where = _origin("phrases.yaml", override)
        pair = {"first": "a", "second": "b"}
        rendered: list[tuple[tuple[str, ...], dict[str, str]]] = [
            (("person_hint", "calm"), {}),
            (("person_hint", "rising"), {}),
            (("clarify", "open"), {}),
            (("clarify", "topic"), pair),
            (("clarify", "choice"), pair),
        ]
        rendered += [(("recap", kind), {"value": "1"}) for kind in self.phrases.get("recap") or {}]
        rendered += [(("sensitive", topic), {}) for topic in self.phrases.get("sensitive") or {}]
        for path, values in rendered:
            try:
                self.phrase(*path, **values)
            except (KeyError, TypeError, AttributeError, TemplateError) as error:
                raise TemplateProblem(f"{where}: {'.'.join(path)}: {error!r}") from None
        for key in ("offer", "person_way", "no_answer"):  # a reply may need any of them
            if not [c for c in self.choices(key) if c.strip()]:
                raise TemplateProblem(f"{where}: {key}: needs at least one phrase")
        for feeling in ("frustration", "anxiety", "urgency"):
            try:
                self.acknowledgements(feeling)
            except (KeyError, TypeError, AttributeError) as error:
                raise TemplateProblem(
                    f"{where}: acknowledge.{feeling}: each item is a phrase or has a text "
                    f"({error!r})"
                ) from None


def _phrases(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise TemplateProblem(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise TemplateProblem(f"{path}: expected a mapping of phrase lists")
    return data


def _origin(name: str, override: Path | None) -> Path:
    if override is not None and (override / name).exists():
        return override / name
    return DEFAULT_TEMPLATES / name
