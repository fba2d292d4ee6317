"""Lexical emotion signals: what in the text shows how the customer feels, with the evidence.

Why rules next to a learned model: the model is trained on Reddit comments (GoEmotions), where
customer-service complaints are rare. The things that make a customer upset in a support
conversation (waiting, being passed around, asking again, a double charge, a threat to leave)
are said in a small number of recognisable ways, and a rule that fires on them can show the
agent exactly which words it read. Each detector returns at most one `Signal` per name, whose
`strength` (0..1) is a noisy-or of the matches and whose `evidence` quotes up to three of them.

VADER (vaderSentiment) supplies general negative and positive valence; it is one input among
many because it scores most polite complaints ("I've been waiting 3 weeks for my refund") as
neutral.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warmline.understanding.types import Signal

# Lexical analysis reads at most this many characters: enough for a long email, and it bounds
# the time spent on a pasted log or a 100,000-character message.
MAX_CHARS = 20_000
# VADER is run on at most this many characters (it is slower per character than the regexes).
VADER_MAX_CHARS = 4_000
_MAX_EVIDENCE = 3
_EVIDENCE_CHARS = 80

SIGNAL_NAMES: tuple[str, ...] = (
    "negative_valence",
    "anger",
    "annoyance",
    "disappointment",
    "distress",
    "confusion",
    "urgency",
    "capitals",
    "exclamations",
    "question_marks",
    "profanity",
    "sarcasm",
    "churn_threat",
    "waiting_complaint",
    "passed_around",
    "repeated_contact",
    "problem",
    "complaint_question",
    "demand",
    "resignation",
    "satisfaction",
    "gratitude",
    "positive_valence",
    "plain_answer",
    "polite_regret",
)

_NUM = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|many|few|"
    r"couple(?: of)?)"
)
_SPAN = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?)"
_NEG = r"(?:not|no|never|n't|nt|cannot|cant|without|hardly)"
_ORDINAL = (
    r"(?:second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|\d+th|umpteenth|nth|hundredth|"
    r"millionth)"
)
_CONTACT = (
    r"(?:called|rang|phoned|emailed|e-mailed|messaged|contacted|written|wrote|chatted|tweeted|"
    r"dm'?d|asked|complained|reported|raised|spoken|spoke)"
)
_WAIT_OBJ = (
    r"(?:refund|order|parcel|package|delivery|money|card|replacement|reply|response|answer|"
    r"callback|call back|engineer|technician|item|reimbursement|payment|credit|update|email|"
    r"confirmation)"
)


@dataclass(frozen=True)
class _Rule:
    """A pattern for one signal; `strength` says how sure the match alone makes the signal."""

    pattern: re.Pattern[str]
    strength: float
    negatable: bool = False
    # Counts only when stated as a fact: "I need this fixed now" or "that would be great" is
    # a wish, not satisfaction.
    factual: bool = False


def _rules(
    items: Iterable[tuple[str, float]], *, negatable: bool = False, factual: bool = False
) -> tuple[_Rule, ...]:
    return tuple(
        _Rule(re.compile(pattern, re.IGNORECASE), strength, negatable, factual)
        for pattern, strength in items
    )


def _words(words: str) -> str:
    """A word-bounded alternation from a space-separated list (underscores stand for spaces)."""
    alternatives = "|".join(word.replace("_", r"\s+") for word in words.split())
    return rf"\b(?:{alternatives})\b"


# -- rule tables -------------------------------------------------------------------------------

_ANGER = _rules(
    [
        (
            _words(
                "furious livid fuming outraged outrageous enraged enrages infuriating infuriated "
                "irate seething angry angrier raging incensed"
            ),
            0.9,
        ),
        (
            _words(
                "disgusted disgusting disgrace disgraceful appalling appalled shocking "
                "shambles shambolic atrocious abysmal horrendous diabolical unacceptable "
                "inexcusable unbelievable ridiculous ludicrous absurd pathetic incompetent "
                "incompetence useless worthless clowns liars lying thieves thieving crooks "
                "criminal scammers scam rip-off ripoff daylight_robbery extortion"
            ),
            0.75,
        ),
        (
            _words(
                "worst terrible horrible awful dreadful rubbish garbage trash crap crappy "
                "joke laughable a_joke shameful shame_on_you"
            ),
            0.6,
        ),
        (r"\bhow\s+dare\s+you\b", 0.9),
        (r"\b(?:you|they|your\s+\w+)\s+should\s+be\s+(?:ashamed|embarrassed)\b", 0.85),
        (r"\b(?:sick|tired)\s+(?:and\s+tired\s+)?of\b", 0.8),
        (r"\bfed\s*up\b", 0.85),
        (
            r"\bruin(?:ed|s|ing)?\s+(?:my|our|the)\s+(?:\w+\s+)?(?:day|trip|holiday|vacation|"
            r"weekend|evening|night|life|birthday|christmas|experience|plans?)\b",
            0.8,
        ),
        (r"\b(?:had|have\s+had)\s+(?:it|enough)\b", 0.8),
        (r"\bthis\s+is\s+(?:a\s+)?(?:joke|beyond|insane|madness|nonsense|criminal|theft)\b", 0.8),
        (r"\bpiss(?:ed|es|ing)?\s+(?:me\s+)?off\b|\bp\*+ed\s+off\b", 0.9),
        (r"\bmad\s+(?:at|about|that)\b", 0.6),
        (r"\blost\s+(?:my|all)\s+(?:patience|faith|trust)\b", 0.85),
        (r"\b(?:treat|treating|treated)\s+(?:your\s+)?customers?\s+like\b", 0.8),
        (r"\bno\s+(?:excuse|way\s+to\s+treat)\b", 0.75),
        # Angry faces: pouting, swearing, angry, steaming, imp.
        ("[\U0001f621\U0001f92c\U0001f620\U0001f624\U0001f47f]", 0.75),
        (
            r"\b(?:is|that'?s|this\s+is|what\s+a\s+load\s+of)\s+(?:total\s+|complete\s+|"
            r"absolute\s+|utter\s+)?(?:bull|bullshit|bs|crap|b\.s\.)(?=\W|$)",
            0.75,
        ),
        (
            r"\b(?:you|you\s+guys|you\s+people|your\s+company|they)\s+(?:clearly\s+|obviously\s+|"
            r"just\s+|simply\s+)?(?:don'?t|do\s+not|doesn'?t|does\s+not|couldn'?t|could\s+not)\s+"
            r"(?:even\s+|really\s+|seem\s+to\s+)?care\b(?!\s+(?:which|what|how|whether|if|where|when|who)\b)",
            0.8,
        ),
    ]
)

_ANNOYANCE = _rules(
    [
        (
            _words(
                "annoying annoyed annoys annoyance irritating irritated irritates frustrating "
                "frustrated frustration exasperated exasperating aggravating aggravated "
                "infuriates ugh argh grr smh ffs jeez sigh tiresome"
            ),
            0.8,
        ),
        (r"\b(?:once|yet)\s+again\b|\bagain\s*[?!]|\bhere\s+we\s+go\s+again\b", 0.6),
        (
            r"\b(?:back|down|broken|happening|happened|failed|failing|crashed|crashing|charged|"
            r"cancelled|canceled|delayed|late|wrong|gone|missing|stopped)\s+again\b",
            0.6,
        ),
        (
            r"\bstill\s+(?:not|no|nothing|can'?t|cannot|won'?t|doesn'?t|isn'?t|aren'?t|haven'?t"
            r"|hasn'?t|didn'?t|don'?t|unable|broken|down|waiting|missing|the\s+same|having)\b",
            0.7,
        ),
        (
            r"\b(?:keeps?|kept)\s+(?:on\s+)?(?:crashing|failing|happening|freezing|dropping|"
            r"disconnecting|asking|telling|saying|charging|sending|getting|breaking|cutting|"
            r"logging|going|showing)\b",
            0.6,
        ),
        (r"\bevery\s+(?:single\s+)?(?:time|day|week|month)\b", 0.4),
        (
            r"\b(?:seriously|come\s+on|for\s+real|are\s+you\s+kidding|you'?re\s+kidding|"
            r"give\s+me\s+a\s+break|really\?|what\s+the\s+heck|what\s+the\s+hell|why\s+on\s+earth)",
            0.6,
        ),
        (
            r"\b(?:nothing|none\s+of\s+(?:it|this|them))\s+(?:works?|has\s+worked|helped|helps)\b",
            0.7,
        ),
        (
            r"\bwaste\s+of\s+(?:my\s+)?(?:time|money|energy|breath)\b|\bwasted\s+(?:my\s+)?"
            r"(?:time|money|day|hours?|morning|afternoon|evening|weekend)\b",
            0.8,
        ),
        (r"\bnothing\s+has\s+changed\b|\bstill\s+the\s+same\s+(?:problem|issue|thing)\b", 0.6),
        (
            r"\bwasting\s+(?:so\s+much\s+|too\s+much\s+|all\s+)?(?:of\s+)?(?:my\s+|our\s+)?(?:time|"
            r"money|day|hours?)\b",
            0.8,
        ),
        (
            r"\b(?:can'?t|cannot|couldn'?t|could\s+not)\s+even\b(?!\s+(?:begin\s+to\s+)?(?:thank|"
            r"express|describe|tell\s+you\s+how|say\s+how|imagine\s+how\s+(?:happy|grateful|good)))",
            0.55,
        ),
        (
            r"\b(?:enough\s+is\s+enough|not\s+good\s+enough|this\s+is\s+not\s+(?:ok|okay|right|fair|"
            r"acceptable))\b",
            0.8,
        ),
        (
            r"\bwhy\s+(?:is\s+it\s+so\s+(?:hard|difficult)|does\s+it\s+take\s+so\s+long|do\s+i\s+"
            r"(?:always|have\s+to|need\s+to\s+keep))\b",
            0.7,
        ),
        (r"\bthe\s+(?:least|bare\s+minimum)\s+you\s+(?:could|can)\b", 0.7),
    ]
)

_DISAPPOINTMENT = _rules(
    [
        (
            _words(
                "disappointed disappointing disappointment dissatisfied unsatisfied unhappy "
                "underwhelmed underwhelming let-down letdown regret regretting unsatisfactory "
                "unimpressed unimpressive"
            ),
            0.8,
        ),
        (r"\blet\s+(?:me|us)\s+down\b|\b(?:really|very|so)\s+let\s+down\b", 0.8),
        (r"\bnot\s+(?:happy|impressed|satisfied|pleased|amused|acceptable|good\s+enough)\b", 0.75),
        (
            r"\b(?:expected|expect)\s+(?:better|more)\b|\bused\s+to\s+be\s+(?:good|great|better)\b",
            0.75,
        ),
        (
            r"\b(?:poor|bad|worse|lousy|shoddy|sub-?par|substandard|appalling)\s+(?:customer\s+)?"
            r"(?:service|support|experience|quality|communication|job|show|effort)\b",
            0.8,
        ),
        (r"\b(?:was|were|been|am|are)\s+(?:promised|told|assured)\b", 0.4),
        (
            r"\b(?:you|they|he|she|(?:your|ur)\s+\w+)\s+(?:promised|said\s+(?:it\s+)?(?:would|will)|told\s+"
            r"me\s+(?:it\s+)?(?:would|will))\b",
            0.5,
        ),
        (
            r"\b(?:didn'?t|did\s+nt|did\s+not|never|wouldn'?t\s+have)\s+expect(?:ed)?\s+(?:this|that)\s+"
            r"(?:\w+\s+)?from\b",
            0.8,
        ),
        (r"\bsupposed\s+to\s+(?:be|have|arrive|get|come|receive)\b", 0.5),
        (r"\bshould\s+(?:have|'?ve)\s+(?:been|arrived|received|got|come)\b", 0.5),
        (
            r"\b(?:not|wasn'?t|isn'?t)\s+what\s+(?:i|we)\s+(?:ordered|paid\s+for|asked\s+for|"
            r"expected)\b",
            0.8,
        ),
        (r"\b(?:never|not)\s+(?:again|recommend)\b|\bwould\s+not\s+recommend\b", 0.7),
        (
            # "All I was hoping for was food" (not "that's all I needed").
            r"\ball\s+(?:i|we)\s+(?:wanted|asked\s+for|needed|was\s+(?:hoping|asking)\s+for|were\s+"
            r"(?:hoping|asking)\s+for)\s+(?:was|is|were)\b",
            0.6,
        ),
        # Sad, weary or let-down faces.
        ("[\U0001f61e\U0001f614\U0001f622\U0001f62d\u2639\U0001f641\U0001f629\U0001f62b]", 0.5),
        (
            r"\bno\s+(?:apology|apologies|explanation|compensation|acknowledge?ment)\b|\bnot\s+"
            r"(?:even\s+)?(?:an?\s+)?(?:apology|sorry)\b",
            0.6,
        ),
    ]
)

_DISTRESS = _rules(
    [
        # fear and anxiety
        (
            _words(
                "worried worrying anxious anxiety scared terrified frightened panic panicking "
                "panicked stressed stressful desperate desperately distraught devastated "
                "heartbroken helpless hopeless overwhelmed petrified nervous"
            ),
            0.75,
        ),
        # "I'm afraid of losing my home", not the polite "I'm afraid I have to say" or "I don't
        # have one, I'm afraid".
        (
            r"\b(?:so|very|really|too|terribly|genuinely|quite)\s+afraid\b|\bafraid\s+(?:of|to|for|"
            r"about)\b",
            0.75,
        ),
        (r"\b(?:please|pls|plz)\s+(?:please\s+)?help\b|\bbegging\s+you\b|\bi\s+beg\b", 0.5),
        (
            r"\b(?:don'?t|do\s+not)\s+know\s+what\s+(?:else\s+)?to\s+do\b|\bat\s+my\s+wits'?\s+end\b"
            r"|\bin\s+tears\b|\bcrying\b|\bcan'?t\s+sleep\b|\bbreaking\s+down\b",
            0.85,
        ),
        (r"\b(?:stranded|stuck)\s+(?:at|in)\b|\bno\s+way\s+(?:home|to\s+get)\b", 0.7),
        # money worries
        (
            r"\b(?:can'?t|cannot|unable\s+to|won'?t\s+be\s+able\s+to)\s+(?:afford|pay\s+(?:my\s+)?"
            r"(?:rent|bills?|mortgage)|feed|buy\s+food)\b",
            0.9,
        ),
        (
            r"\b(?:no|run\s+out\s+of|ran\s+out\s+of|without)\s+money\b|\boverdrawn\b|\bin\s+debt\b"
            r"|\bdebt\s+collectors?\b|\beviction\b|\bevicted\b|\bbankrupt(?:cy)?\b|\bfood\s+bank\b"
            r"|\bforeclos(?:e|ed|ing|ure)\b|\brepossess(?:ed|ion)?\b"
            r"|\bbailiffs?\b|\blast\s+(?:few\s+)?(?:pounds|dollars|euros)\b|\bpaycheck\s+to\b",
            0.85,
        ),
        (r"\b(?:rent|mortgage|bills?)\s+(?:is|are)\s+due\b|\blive\s+on\s+benefits\b", 0.6),
        # health
        (
            r"\b(?:hospital|hospitali[sz]ed|a\s*&\s*e|emergency\s+room|intensive\s+care|icu|"
            r"surgery|operation|chemo(?:therapy)?|cancer|terminal(?:ly)?\s+ill|diagnosed|stroke|"
            r"heart\s+attack|seizure|disabled|disability|wheelchair|medication|medicine|insulin|"
            r"prescription|pregnant|miscarriage|mental\s+health|depression|depressed|suicidal)\b",
            0.7,
        ),
        # someone vulnerable in the household
        (
            r"\b(?:newborn|new-born|(?:a|my|our)\s+new\s+baby|(?:my|our)\s+(?:elderly|frail|vulnerable)\s+"
            r"\w+)\b",
            0.6,
        ),
        # bereavement
        (
            r"\b(?:passed\s+away|died|dying|death|deceased|funeral|bereavement|bereaved|widow(?:ed|er)?"
            r"|late\s+(?:husband|wife|father|mother|mum|mom|dad|son|daughter|partner))\b",
            0.9,
        ),
        (
            r"\blost\s+my\s+(?:husband|wife|father|mother|mum|mom|dad|son|daughter|partner|baby|"
            r"child|brother|sister|grandmother|grandfather|nan|gran)\b",
            0.9,
        ),
        # being a victim
        (
            r"\b(?:stolen|hacked|fraud(?:ulent)?|scammed|identity\s+theft|unauthori[sz]ed|"
            r"someone\s+(?:used|took|stole)|vulnerable|abuse|abusive|harass(?:ed|ment)|threatened|"
            r"unsafe|not\s+safe|danger(?:ous)?)\b",
            0.6,
        ),
        (
            r"\b(?:sad|upset|miserable|gutted|crushed|depressing|heartbreaking|awful\s+day|"
            r"nightmare)\b",
            0.55,
        ),
    ]
)

_CONFUSION = _rules(
    [
        (
            _words(
                "confused confusing confusion baffled baffling puzzled puzzling perplexed "
                "bewildered unclear misleading contradictory"
            ),
            0.8,
        ),
        (
            r"\b(?:don'?t|do\s+not|doesn'?t|can'?t|cannot|didn'?t)\s+(?:understand|get\s+it|"
            r"figure\s+out|make\s+sense)\b|\bmakes?\s+no\s+sense\b",
            0.8,
        ),
        (
            r"\bwhat\s+(?:does|do)\s+(?:this|that|it)\s+(?:mean|even\s+mean)\b|\bwhat\s+is\s+going\s+"
            r"on\b|\bwhat'?s\s+going\s+on\b|\bwhat\s+happened\s+to\b",
            0.6,
        ),
        (
            r"\b(?:no|any)\s+idea\s+(?:why|what|how|where)\b|\bnot\s+sure\s+(?:why|what|how|where|"
            r"if)\b|\bi'?m\s+lost\b|\bam\s+i\s+missing\s+something\b",
            0.6,
        ),
        (r"\bhow\s+(?:come|is\s+that\s+possible|can\s+that\s+be)\b", 0.5),
    ]
)

_URGENCY = _rules(
    [
        (
            r"\b(?:asap|a\.s\.a\.p|urgent|urgently|urgency|emergency|immediately|immediate|"
            r"right\s+(?:now|away)|at\s+once|straight\s+away|time[-\s]sensitive|critical)\b",
            0.85,
        ),
        (r"\bas\s+soon\s+as\s+(?:possible|you\s+can)\b|\bsooner\s+rather\s+than\s+later\b", 0.75),
        (
            r"\bdeadline\b|\bdue\s+(?:today|tomorrow|tonight|by|on|in)\b|\bexpires?\s+(?:today|"
            r"tomorrow|tonight|in)\b|\blast\s+day\b|\brunning\s+out\s+of\s+time\b",
            0.7,
        ),
        (
            r"\b(?:need|needs|needed|want|must\s+have|have\s+to\s+have)\s+(?:it|this|them|that|"
            r"my\s+\w+)?\s*(?:now|today|tonight|by\s+tomorrow|before\s+\w+|fixed\s+(?:now|today))\b",
            0.7,
        ),
        # A demand for now ("I want a refund now"), or "now" shouted after a lower-case word
        # ("fix it NOW").
        (
            r"\b(?:want|need|demand|expect)\s+(?:\w+\s+){0,3}?now\b|(?-i:\b[a-z]+\s+NOW\b(?!\s+[A-Z]))",
            0.7,
        ),
        (
            r"\b(?:flight|train|bus|ferry|event|wedding|appointment|surgery|exam|interview|meeting|"
            r"connection|check-?in)\s+(?:is\s+|leaves\s+|departs\s+|starts\s+)?(?:in\s+(?:\d+|an?|"
            r"one|two)\s+(?:minutes?|mins?|hours?|hrs?)|today|tonight|tomorrow)\b",
            0.75,
        ),
        (
            r"\bin\s+(?:the\s+next\s+)?(?:\d+|an?|one|two|few)\s+(?:minutes?|mins?|hours?|hrs?)\b",
            0.4,
        ),
        (
            r"\b(?:today|tonight|tomorrow\s+morning|by\s+(?:monday|tuesday|wednesday|thursday|"
            r"friday|saturday|sunday|tomorrow|tonight|noon|eod|end\s+of\s+(?:day|the\s+day|week)))\b",
            0.3,
        ),
        (
            r"\bhurry\b|\b(?:need|want|please|must)\s+(?:\w+\s+){0,3}?(?:quickly|fast|urgently)\b"
            r"|\bcan'?t\s+wait\s+(?:any\s+longer|much\s+longer|forever)\b",
            0.55,
        ),
    ]
)

_PROFANITY = _rules(
    [
        (
            r"\b(?:fuck\w*|f\*+k\w*|f\*+\b|fck\w*|fuk\w*|f\W?u\W?c\W?k|motherf\w+|shit\w*|sh\*t\w*|"
            r"bullshit|bs|crap|crappy|damn|dammit|goddamn\w*|bloody|bollocks|arse\w*|asshole\w*|"
            r"a\*+hole|bastard\w*|bitch\w*|piss\w*|dick(?:head)?s?|wanker\w*|twat\w*|cunt\w*|"
            r"c\*+t|wtf|ffs|stfu|omfg|jfc|effing|frigging|freaking|fricking)\b",
            0.85,
        ),
        (r"\bthe\s+hell\b|\bhell\s+(?:is|are|was)\b|\bgo\s+to\s+hell\b", 0.6),
        (r"\b[a-z]\*{2,}[a-z]*\b|\b[a-z]+[#@$%&]{2,}[a-z]*\b", 0.6),
    ]
)

_CHURN = _rules(
    [
        (
            r"\b(?:cancel|cancelling|canceling|close|closing|terminate|terminating|end|ending|quit|"
            r"delete|deleting)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:account|subscription|contract|"
            r"membership|service|plan|policy|broadband|phone\s+line|direct\s+debit)\b",
            0.55,
        ),
        (
            r"\b(?:switch|switching|switched|move|moving|moved|go|going|went|port|porting)\s+"
            r"(?:over\s+)?to\s+(?:a\s+|another\s+|a\s+different\s+|a\s+new\s+|your\s+)"
            r"(?:competitor|competition|rival|provider|supplier|bank|network|carrier|company|"
            r"airline|service)\b",
            0.8,
        ),
        # "switching to Vodafone": a capitalised name after switch/port (case-sensitive part).
        (
            r"\b(?:switch|switching|switched|port|porting)\s+(?:over\s+|my\s+\w+\s+)?to\s+"
            r"(?-i:[A-Z][\w&]+)",
            0.7,
        ),
        (
            r"\b(?:switching|moving|leaving|taking\s+my\s+(?:business|money|custom)|going)\s+"
            r"(?:provider|supplier|bank|network|carrier|elsewhere|somewhere\s+else)\b"
            r"|\btake\s+my\s+(?:business|money|custom)\s+elsewhere\b",
            0.9,
        ),
        (
            r"\b(?:lost|losing|lose)\s+(?:a|another|me\s+as\s+a|your|my)\s+(?:loyal\s+)?"
            r"(?:customer|business|custom)\b|\bex-?customer\b|\bformer\s+customer\b",
            0.9,
        ),
        (
            r"\b(?:never|won'?t\s+ever|will\s+not\s+ever|not\s+going\s+to)\s+(?:use|fly|shop|buy|"
            r"order|book|stay|travel|bank|deal)\s+(?:with|from|at)?\s*(?:you|again|here)\b"
            r"|\bnever\s+again\b|\blast\s+time\s+i\s+(?:use|fly|shop|buy|order|book)",
            0.9,
        ),
        (
            r"\b(?:ditch|ditching|dump|dumping)\s+(?:you\s+guys|you|your\s+(?:company|service|bank|network|"
            r"app|airline))\b|\b(?:leave|leaving|quit|quitting)\s+(?:you\s+guys|your\s+(?:company|service|"
            r"bank|network|airline))\b(?!\s+(?:running|open|on|a|an|the|my)\b)",
            0.8,
        ),
        (r"\bor\s+(?:you'?ll|you\s+will|you'?re\s+going\s+to)\s+lose\b", 0.85),
        (
            r"\bconsider(?:ing)?\s+(?:other|another|a\s+different|alternative|different)\s+(?:providers?|"
            r"suppliers?|banks?|companies|company|networks?|carriers?|airlines?|options\s+elsewhere)\b",
            0.8,
        ),
        (
            r"\bnot\s+(?:flying|shopping|buying|ordering|booking|staying|travell?ing|banking|using)\s+"
            r"(?:with\s+|at\s+|from\s+)?(?:[\w&'-]+\s+){0,2}?again\b",
            0.85,
        ),
        (
            r"\b(?:won'?t|will\s+not|not\s+going\s+to)\s+(?:be\s+)?(?:renew|renewing|recommend|"
            r"coming\s+back|returning|staying)\b",
            0.85,
        ),
        (
            r"\b(?:or|otherwise)\s+i(?:'ll|\s+will|'m|\s+am)\s+(?:going\s+to\s+)?(?:cancel|leave|"
            r"switch|close|go|report|take)\b",
            0.9,
        ),
        (
            r"\b(?:time|looking)\s+(?:to|for)\s+(?:find|look\s+for|move\s+to|switch\s+to)?\s*"
            r"(?:a\s+)?(?:new|another|different)\s+(?:provider|supplier|bank|network|carrier|company"
            r"|airline|service)\b",
            0.9,
        ),
        (r"\b(?:done|finished|through)\s+with\s+(?:you|your|this\s+company)\b", 0.9),
        (r"\b(?:unsubscribe|opt(?:ing)?\s+out)\b", 0.35),
        (
            r"\b(?:small\s+claims|ombudsman|trading\s+standards|bbb|better\s+business\s+bureau|"
            r"lawyer|solicitor|attorney|legal\s+action|sue|suing|chargeback|regulator|ofcom|ofgem|"
            r"fca|cfpb|ftc|report\s+you)\b",
            0.75,
        ),
        (
            r"\b(?:formal|official)\s+complaint\b|\b(?:writing|wish|want|like)\s+to\s+(?:make\s+a\s+)?"
            r"complain\b|\b(?:make|raise|lodge|file|escalate)\s+(?:a|my|this)\s+complaint\b",
            0.7,
        ),
    ]
)

_WAITING = _rules(
    [
        (
            rf"\b(?:been\s+)?waiting\s+(?:for\s+|on\s+)?(?:over\s+|more\s+than\s+|almost\s+|nearly\s+|"
            rf"about\s+|around\s+|well\s+over\s+|at\s+least\s+)?{_NUM}\s+{_SPAN}\b",
            0.85,
        ),
        (
            rf"\bwaited\s+(?:for\s+)?(?:over\s+|more\s+than\s+|almost\s+|nearly\s+|about\s+)?{_NUM}\s+"
            rf"{_SPAN}\b",
            0.8,
        ),
        (
            rf"\b(?:trying|tried)\s+(?:to\s+(?:get|reach|contact|fix|sort|resolve|cancel|access|log|sign|call"
            rf"|speak|talk|book|change|return|claim|do|report|update|get\s+through)\s+(?:[\w']+\s+){{0,3}})?for\s+"
            rf"(?:over\s+|almost\s+|nearly\s+)?"
            rf"(?:{_NUM}\s+{_SPAN}|days|weeks|months|hours|ages|so\s+long|forever)\b",
            0.8,
        ),
        (r"\b(?:any|an)\s+update\s+(?:on|about|regarding|for)\s+(?:this|my|our|the)\b", 0.45),
        (
            r"\bheard\s+nothing\s+(?:back|since|more|further)\b|\bnothing\s+back\s+(?:yet|from)\b",
            0.75,
        ),
        (
            r"\b(?:didn'?t|doesn'?t|did\s+not|does\s+not|never|still\s+(?:haven'?t|hasn'?t))\s+"
            r"answer(?:ed)?\s+my\s+question\b",
            0.6,
        ),
        (
            r"\b(?:still|been|keep|kept)\s+waiting\b|\bwaiting\s+(?:for\s+)?(?:ages|forever|so\s+long|"
            r"too\s+long|all\s+day|since)\b|\bwaited\s+(?:ages|forever|so\s+long|all\s+day)\b",
            0.85,
        ),
        (
            rf"\bon\s+hold\s+(?:for\s+)?(?:over\s+|more\s+than\s+|almost\s+|nearly\s+)?{_NUM}\s+{_SPAN}"
            r"|\b(?:been|kept|put|left)\s+on\s+hold\b|\bhold\s+music\b",
            0.85,
        ),
        (
            r"\b(?:no|zero|never\s+(?:got|received|had)\s+(?:a|any))\s+(?:reply|replies|response|"
            r"responses|answer|answers|update|updates|call\s*back|callback|feedback|follow[-\s]?up|"
            r"word|news|contact|communication)\b",
            0.75,
        ),
        (
            r"\b(?:nobody|no\s+one|no-one|noone|none\s+of\s+you)\s+(?:has\s+|have\s+|had\s+|ever\s+|"
            r"even\s+|bothered\s+to\s+)*(?:got|gotten|get|come|came|been|called|rang|emailed|replied"
            r"|responded|answered|contacted|bothered|helped|helps|cares?|listens?|picks?|picked"
            r"|taken\s+(?:responsibility|ownership)|takes\s+(?:responsibility|ownership))\b"
            r"|\b(?:nobody|no\s+one|no-one|noone)\s+(?:is|was|ever)\s+(?:answering|responding|replying|"
            r"picking\s+up|getting\s+back|helping|listening|giving|telling)\b",
            0.85,
        ),
        (
            r"\b(?:haven'?t|have\s+not|hasn'?t|has\s+not|didn'?t|did\s+not|never)\s+(?:yet\s+)?"
            r"(?:heard\s+back|heard\s+anything|had\s+a\s+(?:reply|response)|got\s+(?:a\s+)?"
            r"(?:reply|response|back|my)|gotten|received|arrived|come|turned\s+up|shown\s+up|turn\s+up|"
            r"show\s+up|been\s+"
            r"(?:refunded|contacted|delivered|credited|paid|fixed|resolved|sorted))\b",
            0.75,
        ),
        (r"\b(?:still\s+)?(?:not|no|yet\s+to)\s+(?:received|receive|seen|had|got|heard)\b", 0.6),
        (
            rf"\b{_NUM}\s+{_SPAN}\s+(?:later|on|now|and\s+(?:still|counting|nothing|no)|ago\s+and)\b"
            rf"|\bfor\s+(?:over\s+)?{_NUM}\s+{_SPAN}\s+now\b",
            0.7,
        ),
        (rf"\b(?:over|more\s+than|almost|nearly)\s+(?:a|an|{_NUM})\s+{_SPAN}\b", 0.35),
        (
            rf"\b(?:it'?s|it\s+has|it\s+had|that'?s)\s+(?:now\s+)?been\s+(?:over\s+|more\s+than\s+|"
            rf"almost\s+|nearly\s+)?(?:a|an|{_NUM})\s+(?:\w+\s+)?{_SPAN}\b"
            rf"|\b(?:it'?s|it\s+is)\s+(?:now\s+|already\s+)?(?:over|more\s+than)\s+(?:a|an|{_NUM})"
            rf"\s+{_SPAN}\b",
            0.7,
        ),
        (
            r"\btook\s+(?:forever|ages|so\s+long|too\s+long)\b|\btaking\s+(?:forever|ages|so\s+long|"
            r"too\s+long)\b|\bhow\s+much\s+longer\b|\bhow\s+long\s+(?:do|must|should|will|am)\s+i\s+"
            r"(?:have\s+to\s+|need\s+to\s+|going\s+to\s+)?(?:wait|be\s+waiting|keep)\b",
            0.6,
        ),
        (
            rf"\bwhere\s+(?:is|are)\s+(?:my|our)\s+(?:\w+\s+)?{_WAIT_OBJ}s?\b|\bwhen\s+(?:will|am|do)\s+"
            rf"(?:i|we)\s+(?:get|receive|see|be\s+getting|hear)\s+(?:my|our|a|back)\b",
            0.45,
        ),
        (r"\b(?:late|delayed|overdue|delay|delays)\b", 0.3),
    ]
)

_PASSED_AROUND = _rules(
    # Being hung up on ("please don't hang up on me" is a plea, hence negatable).
    [
        (
            r"\b(?:hung\s+up\s+on|hangs?\s+up\s+on|hanging\s+up\s+on)\b|\b(?:keep|kept)\s+getting\s+"
            r"(?:cut\s+off|disconnected)\b|\b(?:cut\s+off|disconnected)\s+(?:again|twice|\d+\s+times)\b",
            0.7,
        )
    ],
    negatable=True,
) + _rules(
    [
        (
            r"\b(?:passed|bounced|shuffled|pushed|shunted|thrown)\s+(?:\w+\s+)?(?:around|about|from|"
            r"between|back\s+and\s+forth)\b|\bpass(?:ing)?\s+the\s+buck\b",
            0.85,
        ),
        (
            r"\b(?:transferred|redirected|forwarded|put\s+through)\s+(?:\w+\s+){0,3}?(?:again|"
            r"\d+\s+times|several\s+times|multiple\s+times|many\s+times|times|to\s+(?:another|yet"
            r"\s+another|a\s+different|someone\s+else))\b",
            0.85,
        ),
        (
            r"\b(?:keeps?|kept)\s+(?:on\s+)?(?:transferring|sending|redirecting|passing|referring|"
            r"bouncing|telling)\s+me\b",
            0.85,
        ),
        (
            r"\b(?:told|asked)\s+(?:me\s+)?to\s+(?:call|contact|ring|email|speak\s+to|go\s+to|ask)\s+"
            r"(?:\w+\s+){0,3}?(?:someone\s+else|another|a\s+different|back|them|you|the\s+other)\b",
            0.55,
        ),
        (
            r"\b(?:spoke|spoken|talked|talking|chatted)\s+(?:to|with)\s+(?:\d+|two|three|four|five|"
            r"several|multiple|many|numerous|countless|different|various)\s+(?:different\s+)?"
            r"(?:people|agents|staff|reps|representatives|advisors|advisers|members|departments)\b",
            0.85,
        ),
        (
            r"\b(?:different|conflicting|inconsistent|contradictory)\s+(?:answer|answers|"
            r"information|info|story|stories|advice|responses)\b",
            0.8,
        ),
        (
            rf"\b(?:visited|went\s+to|been\s+to|tried|called|rang|phoned)\s+{_NUM}\s+(?:different\s+)?"
            r"(?:stores|shops|branches|offices|numbers|departments|agents|people|reps|representatives)\b",
            0.75,
        ),
        (
            r"\b(?:tells?|told|telling|gives?|gave|giving)\s+(?:me|us)\s+(?:something|a|a\s+completely|"
            r"something\s+completely)\s+different\b",
            0.8,
        ),
        (
            r"\b(?:nobody|no\s+one|no-one)\s+(?:seems\s+to\s+|actually\s+|here\s+)?(?:knows?|can\s+"
            r"(?:help|tell|explain|answer)|takes?\s+responsibility)\b",
            0.8,
        ),
        (
            r"\b(?:round|around)\s+(?:in\s+)?circles\b|\brun-?around\b|\bgo\s+round\s+and\s+round\b"
            r"|\bping[-\s]?pong\b|\beach\s+(?:one|agent|person)\s+(?:says|tells)\b",
            0.85,
        ),
        (
            r"\b(?:blame|blaming|blamed)\s+(?:each\s+other|the\s+other|someone\s+else)\b"
            r"|\bnot\s+(?:our|my)\s+(?:department|problem|responsibility)\b",
            0.8,
        ),
    ]
)

_REPEATED = _rules(
    [
        (
            r"\b(?:that'?s|that\s+is|this\s+is)\s+what\s+(?:they|you|he|she|your\s+\w+|the\s+last\s+\w+)"
            r"\s+(?:said|told\s+me|promised|say|tell\s+me)\s+(?:last\s+time|before|yesterday|last\s+week|"
            r"every\s+time|each\s+time)\b",
            0.8,
        ),
        (
            r"\b(?:every|each)\s+time\s+(?:i|we)\s+(?:call|ring|phone|email|chat|contact|ask|check|chase)\b"
            r"|\bdespite\s+(?:several|many|multiple|numerous|repeated|countless|\d+)\s+(?:calls|emails|"
            r"messages|requests|attempts|complaints|chasers|reminders|visits)\b",
            0.8,
        ),
        (
            rf"\b(?:re-?submitted|re-?sent|submitted|sent|provided|uploaded|explained|given|gave|asked\s+to\s+"
            rf"(?:re-?submit|re-?send|send|provide|upload|explain))\s+(?:the\s+same\s+|it\s+|them\s+|my\s+|"
            rf"this\s+|the\s+)(?:[\w-]+\s+){{0,2}}?(?:again\s+and\s+again|over\s+and\s+over|twice|{_NUM}\s+"
            r"times|several\s+times|multiple\s+times|many\s+times)\b",
            0.8,
        ),
        (
            rf"\b(?:for\s+the\s+|this\s+is\s+(?:the|my)\s+|it'?s\s+(?:the|my)\s+){_ORDINAL}\s+"
            r"(?:time|request|email|message|call|attempt|try|complaint|ticket)\b",
            0.9,
        ),
        (rf"\b{_ORDINAL}\s+time\b", 0.75),
        (
            rf"\b(?:i'?ve|i\s+have|we'?ve|we\s+have|i|we)\s+(?:already\s+|now\s+|also\s+)?{_CONTACT}\s+"
            rf"(?:you\s+|your\s+\w+\s+|them\s+|about\s+this\s+)?(?:\d+|two|three|four|five|six|several|"
            r"multiple|many|numerous|countless|so\s+many|a\s+few|a\s+couple\s+of|(?:a\s+)?dozens?\s+"
            r"of)\s+times\b",
            0.9,
        ),
        (
            rf"\b(?:i'?ve|i\s+have|we'?ve|we\s+have)\s+already\s+{_CONTACT}\b|\balready\s+(?:told|"
            r"explained|sent|provided|gave|given|asked|answered|done\s+that|tried\s+(?:that|this|"
            r"everything))\b",
            0.75,
        ),
        (
            r"\bhow\s+many\s+(?:more\s+)?(?:times|emails|calls|messages)\b|\bas\s+i\s+(?:have\s+)?"
            r"(?:said|mentioned|explained|stated|told\s+you|wrote)\b|\bas\s+(?:previously|already)\s+"
            r"(?:said|mentioned|explained|stated)\b|\brepeat(?:ing)?\s+myself\b|\bagain\s+and\s+"
            r"again\b|\bover\s+and\s+over\b",
            0.85,
        ),
        (
            r"\b(?:i\s+)?(?:keep|kept)\s+(?:on\s+)?(?:asking|calling|emailing|telling|explaining|"
            r"chasing|contacting|ringing|messaging|getting)\b|\bchasing\s+(?:this|you|it|up)\b",
            0.8,
        ),
        (
            r"\b(?:again|another|yet\s+another|a\s+(?:new|second|third))\s+(?:ticket|complaint|"
            r"case|claim)\b|\b(?:same|this)\s+(?:problem|issue|thing)\s+(?:again|keeps|every)\b"
            r"|\bsame\s+(?:old\s+)?(?:problem|issue|story)\b",
            0.7,
        ),
        (
            r"\b(?:called|contacted|emailed|rang|messaged)\s+(?:you\s+)?(?:last|yesterday|previously|"
            r"before|earlier|on\s+\w+day)\b|\b(?:ticket|case|reference|complaint)\s+(?:was\s+)?"
            r"(?:opened|raised|logged)\s+(?:weeks?|days?|months?)\b",
            0.5,
        ),
    ]
)

_PROBLEM = _rules(
    [
        (
            r"\b(?:not|isn'?t|aren'?t|wasn'?t|weren'?t|stopped|still\s+not)\s+"
            r"(?:(?:my|the|your|this|it|our)\s+(?:\w+\s+){0,2}?)?(?:working|loading|"
            r"opening|responding|connecting|charging|syncing|updating|downloading|arriving|showing)\b"
            r"|\b(?:doesn'?t|does\s+not|don'?t|do\s+not|didn'?t|did\s+not|won'?t|will\s+not|can'?t|"
            r"cannot|couldn'?t|wouldn'?t)\s+(?:(?:my|the|your|this|it|our)\s+(?:\w+\s+){0,2}?)?"
            r"(?:work|load|open|respond|connect|sync|update|download|"
            r"start|turn\s+on|boot|let\s+me|accept)\b",
            0.6,
        ),
        (
            r"\b(?:can'?t|cannot|couldn'?t|unable\s+to|not\s+able\s+to|impossible\s+to)\s+"
            r"(?:log\s*in|login|sign\s*in|access|get\s+(?:in|into|through|hold)|use|reach|pay|"
            r"complete|place|book|cancel|make|find|see|download|contact|receive|withdraw|transfer|"
            r"send|get)\b",
            0.5,
        ),
        (
            r"\b(?:broken|broke|crash(?:es|ed|ing)?|froze|freezing|frozen|glitch(?:es|y)?|bug(?:gy)?"
            r"|faulty|defective|damaged|smashed|cracked|leaking|missing|lost|stuck|outage|"
            r"malfunction(?:ing)?|error|errors|failed|failing|fails|down\s+again|is\s+down|"
            r"went\s+down|no\s+signal|no\s+service|no\s+internet|no\s+wifi|no\s+power|mould(?:y)?|"
            r"mold(?:y)?|expired|rotten|stale|spoilt|spoiled|cold\s+food)\b",
            0.45,
        ),
        (
            r"\b(?:charged|charging|billed|billing|debited|taken)\s+(?:me\s+)?(?:\w+\s+){0,4}?(?:twice|"
            r"double|two\s+times|three\s+times|multiple\s+times|several\s+times|repeatedly)\b"
            r"|\b(?:charged|billed|debited|taken)\s+(?:me\s+)?(?:again|too\s+much|extra|incorrectly|wrongly|"
            r"the\s+wrong)\b|\b(?:double|duplicate|"
            r"wrong|incorrect|unexpected|extra|hidden|unauthori[sz]ed)\s+(?:charge|charges|payment|"
            r"payments|debit|fee|fees|bill|billing|transaction|amount)\b|\bovercharg\w*\b",
            0.75,
        ),
        (
            rf"\b{_NUM}\s+{_SPAN}\s+(?:without|with\s+no)\s+(?:any\s+)?(?:\w+\s+)?(?:heating|heat|power|electricity|"
            r"water|hot\s+water|gas|internet|broadband|wifi|phone\s+line|signal|service)\b",
            0.75,
        ),
        (
            rf"\b(?:without|no)\s+(?:any\s+)?(?:heating|heat|power|electricity|water|hot\s+water|gas|"
            rf"internet|broadband|wifi|phone\s+line|signal|service)\s+(?:for\s+)?(?:over\s+|almost\s+|"
            rf"nearly\s+)?(?:{_NUM}\s+{_SPAN}|days|weeks|hours)\b",
            0.75,
        ),
        (
            r"\b(?:didn'?t|did\s+not|doesn'?t|does\s+not|hasn'?t|has\s+not|won'?t|will\s+not)\s+"
            r"(?:really\s+|even\s+)?help\b|\b(?:no|not\s+much|not\s+any)\s+help\s+(?:to|at|for|offered)\b",
            0.6,
        ),
        (
            r"\b(?:it|power|electricity|heating|internet|wi-?fi|service|broadband|signal|line|network|"
            r"system|site|website|app|tv|cable|phone)(?:'s|\s+is|\s+was|\s+has\s+been|'s\s+been|\s+been)\s+"
            r"(?:out|down|off)\s+(?:all\s+(?:day|night|morning|week|weekend)|since|for\s+(?:hours|days|ages|"
            r"\d+|a\s+|an\s+|over))|\bcan\s+no\s+longer\b|\b(?:is|are|was|were|been|got|all|totally|"
            r"completely|really)\s+(?:messed|"
            r"screwed|mucked)\s+up\b",
            0.6,
        ),
        (
            r"\b(?:not|never|didn'?t|did\s+not|fail(?:ed)?\s+to)\s+deliver(?:ed)?\b|\bstill\s+"
            r"(?:charg|bill|debit)(?:e|es|ed|ing|s)?\b",
            0.65,
        ),
        (
            r"\b(?:never|not|didn'?t|haven'?t|hasn'?t)\s+(?:arrived|received|got|turned\s+up|come|"
            r"shown\s+up|been\s+(?:delivered|refunded|credited))\b|\b(?:wrong|incorrect|missing|"
            r"damaged|broken)\s+(?:item|items|order|parcel|package|product|size|address|amount|"
            r"delivery)\b",
            0.7,
        ),
        (
            r"\b(?:cancelled|canceled)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:flight|train|order|booking|"
            r"reservation|appointment)\b|\b(?:flight|train|order|booking|reservation|appointment)\s+"
            r"(?:was|has\s+been|got)\s+(?:cancelled|canceled)\b",
            0.6,
        ),
        (
            r"\b(?:rude|unhelpful|unprofessional|dismissive|condescending|patronising|patronizing|"
            r"arrogant|ignored|ignoring|ignore)\b",
            0.7,
        ),
        (
            r"\bwithout\s+(?:my\s+|any\s+)?(?:permission|consent|authori[sz]ation|agreement|"
            r"asking|telling\s+me|notice|notification|warning)\b",
            0.7,
        ),
        (
            r"\bno\s+(?:one|body)\s+(?:at|in|on)\b|\b(?:lied|misled|mis-sold|ripped\s+off|conned|"
            r"cheated|overcharged|refused|denied|rejected)\b",
            0.65,
        ),
    ]
)

# A "why" question about something that went wrong reads as a complaint, however polite.
_COMPLAINT_QUESTION = _rules(
    [
        (
            r"\b(?:are|r)\s+(?:you|u)\s+(?:guys\s+|people\s+)?(?:serious|kidding(?:\s+me)?|joking|"
            r"insane|crazy|nuts|for\s+real|out\s+of\s+your\s+(?:[\w-]+\s+)?minds?)\b(?!\s+about\b)|\byou(?:'ve|\s+have)?"
            r"\s+(?:got|gotta)\s+(?:to\s+)?be\s+(?:kidding|joking)\b|\byou\s+must\s+be\s+(?:kidding|"
            r"joking)\b",
            0.8,
        ),
        (r"^\W*(?:seriously|are\s+you\s+kidding(?:\s+me)?)\s*\?+", 0.75),
        (
            r"\bwhy\s+would\s+(?:i|we|anyone)\s+(?:\w+\s+){0,3}?(?:do\s+that|trust\s+you|bother|believe"
            r"\s+you)\b|\b(?:i\s+)?(?:can'?t|cannot|don'?t|do\s+not|fail\s+to)\s+understand\s+why\b",
            0.6,
        ),
        (
            r"\b(?:is|was|how\s+is|how\s+was)\s+(?:that|this|it)\s+my\s+fault\b|\bwhy\s+(?:do|should|must|"
            r"would|did)\s+i\s+(?:have\s+to\s+|need\s+to\s+|keep\s+)?(?:wait|chase|repeat|keep)\b",
            0.7,
        ),
        (
            r"\b(?:just\s+)?(?:making\s+fun\s+(?:of|out\s+of)|laughing\s+at|mocking|trolling)\s+(?:me|us)\b"
            r"|\bare\s+(?:you|u)\s+(?:guys\s+)?(?:even|really|actually)\s+(?:trying|listening|reading)\b",
            0.75,
        ),
        (
            r"\bwhy\s+(?:\w+\s+){0,4}?(?:\w+n't|(?:is|are|was|were|does|do|did|wo|ca|could|would|"
            r"should|have|has|had)nt|not|no|never|cannot|twice|again|still|wrong|"
            r"charged|cancelled|canceled|removed|blocked|declined|refused|rejected|closed|suspended|"
            r"stopped|late|delayed|missing|gone|lost|disconnected|cut\s+off|so\s+(?:long|slow|hard|"
            r"difficult|expensive))\b",
            0.6,
        ),
        (
            r"\b(?:what|where)\s+(?:the\s+hell|on\s+earth|happened\s+to)\b|\bhow\s+(?:is|was)\s+(?:it|"
            r"this|that)\s+(?:possible|acceptable|fair|ok|okay|allowed|legal)\b|\bhow\s+(?:hard|"
            r"difficult)\s+(?:is|can)\s+it\b|\bhow\s+can\s+you\s+(?:\w+\s+)?(?:charge|justify|"
            r"do|treat|call|expect|say|claim|not)\b",
            0.75,
        ),
        (
            r"\bis\s+(?:anyone|anybody|someone)\s+(?:there|going\s+to|actually|even|ever)\b"
            r"|\b(?:does|will)\s+(?:anyone|anybody)\s+(?:even\s+|actually\s+)?(?:care|read|answer|"
            r"respond|reply)\b|\bhello\s*\?{2,}|\banyone\s*\?{2,}",
            0.8,
        ),
        (
            r"\bwhen\s+(?:are|will)\s+you\s+(?:going\s+to\s+)?(?:fix|sort|refund|reply|respond|"
            r"answer|get\s+back|call|deliver|send|pay|resolve)\b|\bwhen\s+is\s+(?:this|it)\s+"
            r"(?:going\s+to\s+be|getting)\s+(?:fixed|sorted|resolved)\b",
            0.6,
        ),
        (
            r"\b(?:what|which)\s+(?:kind|sort)\s+of\s+(?:service|company|business|customer\s+service|"
            r"support)\b|\bis\s+this\s+(?:how|what)\s+you\s+treat\b|\bdo\s+you\s+(?:even|actually)\s+"
            r"(?:care|read|check|test|know)\b",
            0.85,
        ),
    ]
)

_SATISFACTION = _rules(
    [
        (
            r"\b(?:started|starts)\s+working\b|\bback\s+(?:up\s+and\s+)?(?:working|running)\b"
            r"|(?:^|[.!?]\s*)(?:please\s+)?disregard\b"
            r"|\b(?:works?|working)\s+(?:now|again|perfectly|great|fine)\b|\b(?:all\s+)?(?:sorted|"
            r"resolved|fixed)\s+(?:now|it|that)\b|\bthat\s+(?:worked|did\s+it|helped|fixed\s+it|"
            r"solved\s+it)\b|\bproblem\s+solved\b|\bissue\s+(?:is\s+)?resolved\b",
            0.9,
        ),
        (
            r"\b(?:perfect|excellent|brilliant|fantastic|amazing|awesome|wonderful|superb|"
            r"outstanding|lovely|great|happy|pleased|delighted|satisfied|glad|impressed|"
            r"love|loved|loving)\b",
            0.5,
        ),
        (
            r"\b(?:great|excellent|amazing|fantastic|brilliant|quick|fast|friendly|helpful|"
            r"wonderful|outstanding|superb)\s+(?:service|support|help|job|work|experience|"
            r"response)\b|\b(?:so|very|really|super)\s+(?:helpful|quick|fast|kind|friendly)\b",
            0.85,
        ),
        (
            r"\b(?:you'?re|you\s+are|you'?ve\s+been)\s+(?:a\s+)?(?:star|legend|lifesaver|life\s+saver"
            r"|the\s+best|amazing|great|brilliant|awesome)\b|\bmade\s+my\s+day\b",
            0.9,
        ),
    ],
    negatable=True,
    factual=True,
)

_GRATITUDE = _rules(
    [
        (
            # "Thanks in advance" asks for help; it does not thank for any.
            r"\b(?:thank\s*(?:you|u|ya|yo)|thanks|thankyou|thanx|thx|tnx|ty|tysm|cheers|ta|"
            r"much\s+appreciated)\b(?!\s+(?:\w+\s+)?in\s+advance|\s+(?:anyway|anyways|all\s+the\s+same|"
            r"for\s+trying)\b)",
            0.6,
        ),
        (
            r"\b(?:appreciate|appreciated|grateful|thankful|many\s+thanks|thanks\s+(?:so|very)\s+"
            r"much|thank\s+you\s+(?:so|very)\s+much|really\s+appreciate|kudos|shout\s*out)\b",
            0.85,
        ),
    ],
    negatable=True,
) + _rules(
    # A negation that is itself the thanks.
    [
        (
            r"\b(?:can'?t|cannot|couldn'?t|could\s+not)\s+(?:even\s+)?(?:begin\s+to\s+)?thank\s+"
            r"(?:you|u|you\s+guys)\s+enough\b",
            0.9,
        )
    ]
)

# The customer insisting on a remedy. A support-desk construct the Reddit-trained model hardly
# knows ("I want a refund NOW" reads as calm to it), so it is not gated by the model's reading.
_DEMAND = _rules(
    [
        (
            r"\b(?:want|demand|need|expect)\s+(?:a\s+full\s+|my\s+|a\s+|an?\s+immediate\s+)?"
            r"(?:refund|money\s+back|compensation|apology|replacement)\s+(?:now|immediately|asap|today|"
            r"right\s+now|right\s+away)\b|\bi\s+(?:demand|insist)\b|\bgive\s+me\s+my\s+money\s+back\b",
            0.75,
        ),
        (
            r"\b(?:i|we)\s+(?:expect|want|need)\s+(?:a\s+full\s+|my\s+|our\s+|a\s+|an\s+)?(?:refund|"
            r"compensation|apology|explanation|replacement)\b(?!\s+(?:policy|process|form|status)\b)",
            0.5,
        ),
        (
            r"\bfix\s+(?:it|this)\s+(?:now|immediately|asap|today)\b|\b(?-i:[a-z]+\s+NOW\b(?!\s+[A-Z]))",
            0.6,
        ),
    ]
)

# Giving up on getting help: in rated dialogues, how unhappy customers often end (politely).
_RESIGNATION = _rules(
    [
        (
            r"\bi\s+give\s+up\b|\bi'?m\s+giving\s+up\b|\bi\s+(?:have\s+|'ve\s+)?given\s+up\b",
            0.85,
        ),
        (
            # Not "never mind, I found it" or "I always forget it".
            r"(?:\b(?:never\s*mind|nevermind)|(?:^|[,.;!?]\s*)(?:just\s+)?forget\s+it|\bnot\s+worth\s+(?:it|"
            r"the\s+hassle|the\s+effort))\b(?![\s,.!-]+(?:[\w']+\s+){0,2}(?:found|figured|sorted|fixed|"
            r"solved|works|working|got\s+it|fine|ok|okay|see|understand|get\s+it))",
            0.75,
        ),
        (
            r"\b(?:nothing|not\s+much)\s+(?:more|else)\s+(?:you|anyone|they)\s+can\s+do\b|\bno\s+"
            r"(?:help|use)\s+(?:at\s+all|whatsoever)\b",
            0.75,
        ),
        (
            r"\b(?:i'?ll|i\s+will|i'?m\s+going\s+to|i\s+guess\s+i'?ll|i\s+(?:have|had)\s+to)\s+(?:just\s+)?"
            r"(?:sort|fix|figure|work)\s+(?:it|this|that)\s+(?:out\s+)?(?:myself|on\s+my\s+own)\b",
            0.7,
        ),
        (
            r"\b(?:thanks|thank\s+you|cheers)\s+(?:anyway|anyways|all\s+the\s+same|for\s+trying|for\s+"
            r"nothing\s+then)\b",
            0.5,
        ),
        (r"^\W*(?:whatever|forget\s+it)\W*$|(?:^|[,.;]\s*)whatever\W*$", 0.6),
        (r"^\W*fine\W*$", 0.45),
        # "what's the point??", not "what's the point of the premium plan".
        (r"\bwhat(?:'?s|\s+is)\s+the\s+point\s*(?:[?!.]|$|then\b|anyway\b)", 0.7),
        ("\U0001f937", 0.5),  # shrug
    ]
)

_RULES: dict[str, tuple[_Rule, ...]] = {
    "anger": _ANGER,
    "annoyance": _ANNOYANCE,
    "disappointment": _DISAPPOINTMENT,
    "distress": _DISTRESS,
    "confusion": _CONFUSION,
    "urgency": _URGENCY,
    "profanity": _PROFANITY,
    "churn_threat": _CHURN,
    "waiting_complaint": _WAITING,
    "passed_around": _PASSED_AROUND,
    "resignation": _RESIGNATION,
    "demand": _DEMAND,
    "repeated_contact": _REPEATED,
    "problem": _PROBLEM,
    "complaint_question": _COMPLAINT_QUESTION,
    "satisfaction": _SATISFACTION,
    "gratitude": _GRATITUDE,
}


@dataclass(frozen=True)
class _Gate:
    """Whether any rule of a signal can match: one scan instead of one per rule (most messages
    carry few signals). Case-insensitive matching is about 3x slower in `re`, so ASCII text is
    scanned lower-cased with a lower-cased pattern (the same matches for ASCII); other text
    goes through the case-insensitive pattern."""

    lowered: re.Pattern[str]
    exact: re.Pattern[str]

    def may_match(self, text: str, lowered: str | None) -> bool:
        if lowered is not None:
            return self.lowered.search(lowered) is not None
        return self.exact.search(text) is not None


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's literals, leaving escapes such as \\S, \\W or \\B alone."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\" and index + 1 < len(pattern):
            out.append(pattern[index : index + 2])
            index += 2
        else:
            out.append(pattern[index].lower())
            index += 1
    return "".join(out)


def _can_match_ascii(pattern: str) -> bool:
    """False for a rule made only of non-ASCII characters (the emoji rules): it cannot match the
    ASCII text the lower-cased gate scans, and a class of emoji slows the whole scan 3-fold."""
    return any(ch.isascii() and ch.isalnum() for ch in pattern)


def _gate(rules: Sequence[_Rule]) -> _Gate:
    combined = "|".join(f"(?:{rule.pattern.pattern})" for rule in rules)
    ascii_only = "|".join(
        f"(?:{rule.pattern.pattern})" for rule in rules if _can_match_ascii(rule.pattern.pattern)
    )
    return _Gate(
        lowered=re.compile(_lower_pattern(ascii_only)),
        exact=re.compile(combined, re.IGNORECASE),
    )


_GATES: dict[str, _Gate] = {name: _gate(rules) for name, rules in _RULES.items()}

# -- sarcasm -----------------------------------------------------------------------------------

# Praise that, next to something going wrong, is meant the other way round.
_SARCASTIC_PRAISE = re.compile(
    r"\b(?:oh\s+)?(?:great|brilliant|fantastic|wonderful|awesome|perfect|lovely|superb|nice|"
    r"impressive|amazing|excellent|marvell?ous|stellar|genius|outstanding|groovy|terrific|"
    r"splendid|super)\b"
    r"|\bthanks\s+a\s+(?:lot|bunch|million)\b"
    r"|\b(?:well|nicely)\s+(?:done|played)\b|\bgood\s+(?:job|one|work|show|stuff)\b"
    r"|\bbravo\b|\bkudos\b|\bway\s+to\s+go\b|\bkeep\s+up\s+the\s+good\s+work\b|\bnice\s+one\b"
    r"|\b(?:love|loving|enjoy|enjoyed|enjoying|loved)\s+(?:how|that|the\s+way|being|having|"
    r"waiting|paying|it\s+when)\b|\bso\s+(?:helpful|useful)\b|\bwhat\s+(?:a|great)\s+"
    r"(?:service|help|experience|company|joke)\b|\bjust\s+what\s+i\s+needed\b",
    re.IGNORECASE,
)
# Always sarcastic, whatever else the message says.
_SARCASM_MARKERS = re.compile(
    r"\b(?:thanks|thank\s+you|cheers)\s+for\s+(?:nothing|wasting|ruining|the\s+(?:help|"
    r"runaround))\b|\byeah\s+right\b|\bsure\s+you\s+(?:will|are|do)\b|"
    r"\bwhat\s+a\s+(?:joke|surprise|shock)\b|\b(?:not|never)\s*\.\s*$|/s\b|\bonly\s+to\s+"
    r"(?:be\s+told|find|discover|have)\b|\bwhat\s+makes\s+it\s+(?:even\s+)?better\b|"
    r"\bcouldn'?t\s+make\s+it\s+up\b|\bwho\s+knew\b|\bshock\s+horror\b|\bsurprise\s+surprise\b"
    r"|\b(?:this|that|it|you|you\s+lot|you\s+guys|your\s+\w+)(?:\s+(?:is|are)|'s|'re)\s+(?:a\s+|an\s+"
    r"absolute\s+|a\s+complete\s+|a\s+total\s+|such\s+a\s+)?(?:joke|shambles|farce|circus)\b"
    r"|\bbeyond\s+a\s+joke\b|\bwhat\s+a\s+(?:shambles|farce|circus)\b"
    r"|\bcomedy\s+of\s+errors\b|\b(?:but|and)\s+(?:this|it)\s+gets\s+(?:even\s+)?better\b"
    r"|\b(?:this|it)\s+gets\s+(?:even\s+)?better\s*[.!:\u2026]"
    r"|[\U0001F644\U0001F612\U0001F611]|\U0001F44F",
    re.IGNORECASE,
)

# Praise reads as sarcasm only next to one of these (a bare problem report is not enough: "thanks
# for the quick reply, the app still has a bug" is sincere).
# "Amazing business you have here": praise of the service itself, sarcastic next to any
# problem with it (a bare problem is not enough for other praise).
_PRAISE_OF_THE_SERVICE = re.compile(
    r"\b(?:great|amazing|fantastic|wonderful|brilliant|lovely|nice|excellent|stellar|superb|"
    r"outstanding)\s+(?:\w+\s+)?(?:business|company|service|job|operation|outfit|system)\s+you\s+"
    r"(?:have|run|got|'ve\s+got)\s+(?:here|there|going)\b",
    re.IGNORECASE,
)

_SARCASM_CONTEXT = (
    "anger",
    "annoyance",
    "disappointment",
    "waiting_complaint",
    "passed_around",
    "repeated_contact",
    "complaint_question",
    "profanity",
)

# -- helpers -----------------------------------------------------------------------------------

_NEGATION_BEFORE = re.compile(rf"(?:\b{_NEG}\b|n't)(?:\s+\w+){{0,2}}\s*$", re.IGNORECASE)
# A wish, request, hope or condition just before a match: what follows has not happened.
_WISH_BEFORE = re.compile(
    r"\b(?:need|needs|want|wants|wanted|expect|expected|expecting|please|hope|hoping|hopefully|"
    r"wish|if|unless|until|would|could|should|will|to\s+be|to\s+get)\b(?:\s+[\w'’]+){0,2}\s*$",
    re.IGNORECASE,
)
_ACRONYMS = frozenset(
    [
        "ATM",
        "PIN",
        "SMS",
        "MMS",
        "USB",
        "USA",
        "UK",
        "EU",
        "US",
        "API",
        "URL",
        "FAQ",
        "CEO",
        "CFO",
        "IBAN",
        "BIC",
        "VAT",
        "GST",
        "ETA",
        "OTP",
        "SIM",
        "IMEI",
        "PDF",
        "HTML",
        "HTTP",
        "HTTPS",
        "DNS",
        "VPN",
        "WIFI",
        "NHS",
        "DVLA",
        "HMRC",
        "IRS",
        "BBC",
        "ITV",
        "DVD",
        "BT",
        "EE",
        "ISP",
        "ID",
        "OK",
        "AM",
        "PM",
        "GMT",
        "UTC",
        "EST",
        "PST",
        "ASAP",
        "IT",
        "IOS",
        "APP",
        "LOL",
        "OMG",
        "NYC",
        "LA",
        "LAX",
        "JFK",
        "LHR",
        "CC",
        "DM",
        "PS",
        "BA",
        "KLM",
        "IKEA",
        "TV",
        "PC",
        "UPS",
        "DHL",
        "FEDEX",
        "USPS",
        "GPS",
        "RSVP",
        "UPI",
        "ACH",
        "SEPA",
        "FCA",
        "CFPB",
        "FTC",
        "BBB",
        "RMA",
        "SKU",
        "TSA",
        "EFT",
        "PAYE",
        "AWS",
        "GCP",
        "SQL",
        "CSV",
        "XML",
        "JSON",
    ]
)
# Short words that, written in capitals, are emphasis rather than an acronym.
_SHOUTED_WORDS = frozenset(
    {"NOW", "WHY", "WHAT", "HOW", "WHO", "STOP", "HELP", "NOT", "NO", "NEVER", "EVER", "STILL"}
    | {"AGAIN", "YOU", "YOUR", "ANY", "ALL", "JUST"}
)
_CAPS_WORD = re.compile(r"\b[A-Z][A-Z']{2,}\b")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-Z]")
_EXCLAIM_RUN = re.compile(r"!{2,}|(?:![?!]*\?[?!]*!)[?!]*|(?:!\s){2,}")
_QUESTION_RUN = re.compile(r"\?{2,}|\?!+\?*")


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Bound the length and straighten typographic quotes so "don’t" matches like "don't"."""
    return text[:MAX_CHARS].translate(_QUOTES)


def _clip(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


def _noisy_or(strengths: Iterable[float]) -> float:
    remaining = 1.0
    for strength in strengths:
        remaining *= 1.0 - _clip(strength)
    return 1.0 - remaining


def _evidence(matches: Sequence[str]) -> str:
    seen: list[str] = []
    for match in matches:
        cleaned = " ".join(match.split())[:_EVIDENCE_CHARS]
        if cleaned and cleaned.lower() not in (item.lower() for item in seen):
            seen.append(cleaned)
        if len(seen) == _MAX_EVIDENCE:
            break
    return "; ".join(seen)


def _negated(text: str, start: int) -> bool:
    return _NEGATION_BEFORE.search(text[max(0, start - 30) : start]) is not None


_SENTENCE_END = re.compile(r"[.!?\n]")


def _wished(text: str, start: int, end: int) -> bool:
    """A wish before the match, or a question around it ("when will it be back up and running?")."""
    if _WISH_BEFORE.search(text[max(0, start - 30) : start]) is not None:
        return True
    stop = _SENTENCE_END.search(text, end, end + 120)
    return stop is not None and stop.group(0) == "?"


def _apply(name: str, rules: Sequence[_Rule], text: str) -> Signal | None:
    strengths: list[float] = []
    evidence: list[str] = []
    for rule in rules:
        for match in rule.pattern.finditer(text):
            if rule.negatable and _negated(text, match.start()):
                continue
            if rule.factual and _wished(text, match.start(), match.end()):
                continue
            strengths.append(rule.strength)
            evidence.append(match.group(0))
    if not strengths:
        return None
    return Signal(name=name, evidence=_evidence(evidence), strength=round(_noisy_or(strengths), 4))


# -- VADER -------------------------------------------------------------------------------------

_vader: Any = None
_vader_lock = threading.Lock()


def _analyzer() -> Any:
    """The VADER analyser, loaded once (its lexicon load takes ~50 ms)."""
    global _vader
    if _vader is None:
        with _vader_lock:
            if _vader is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _vader = SentimentIntensityAnalyzer()
    return _vader


# Letter formulas carry no feeling about the service: VADER scores "Kind regards" or "Best
# wishes" as positive, which made a polite complaint e-mail look content.
_LETTER_FORMULAS = re.compile(
    r"\b(?:(?:kind(?:est)?|best|warm(?:est)?|many)\s+regards|regards|best\s+wishes|yours\s+"
    r"(?:sincerely|faithfully|truly)|dear\s+(?:sir|madam|sirs|team|support|all)(?:\s*/\s*madam)?|to\s+"
    r"whom\s+it\s+may\s+concern|(?:thanks|thank\s+you)\s+in\s+advance|(?:i\s+)?hope\s+(?:you(?:'re|"
    r"\s+are)|this\s+finds\s+you)\s+well)\b",
    re.IGNORECASE,
)


def vader_compound(text: str) -> float:
    """VADER's compound score in -1..1 for the first `VADER_MAX_CHARS` characters, letter
    formulas (salutations, sign-offs) left out."""
    return plain_vader_compound(_LETTER_FORMULAS.sub(" ", text[:VADER_MAX_CHARS]))


def plain_vader_compound(text: str) -> float:
    """VADER's compound score of the text as it is: the published baseline benchmarks compare
    warmline with."""
    text = text[:VADER_MAX_CHARS]
    if not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


def _valence_words(text: str, negative: bool) -> list[str]:
    lexicon: dict[str, float] = _analyzer().lexicon
    words = re.findall(r"[\w']+", text[:VADER_MAX_CHARS].lower())
    picked = [
        word for word in words if (lexicon.get(word, 0.0) < 0) == negative and word in lexicon
    ]
    picked.sort(key=lambda word: lexicon[word], reverse=not negative)
    return picked


def _valence_evidence(words: list[str], compound: float) -> str:
    listed = ", ".join(list(dict.fromkeys(words))[:3])
    return f"{listed} (VADER {compound:.2f})" if listed else f"VADER {compound:.2f}"


def _valence_signals(text: str, compound: float) -> list[Signal]:
    if compound <= -0.25:
        words = _valence_words(text, negative=True)
        return [Signal("negative_valence", _valence_evidence(words, compound), round(-compound, 4))]
    if compound >= 0.5:
        words = _valence_words(text, negative=False)
        return [Signal("positive_valence", _valence_evidence(words, compound), round(compound, 4))]
    return []


# -- typography --------------------------------------------------------------------------------


def _capitals(text: str) -> Signal | None:
    """Shouting: several all-capital words that are not acronyms, or a mostly upper-case text."""
    shouted = [word for word in _CAPS_WORD.findall(text) if word.strip("'") not in _ACRONYMS]
    letters = len(_LETTER.findall(text))
    upper_ratio = len(_UPPER.findall(text)) / letters if letters else 0.0
    if letters >= 12 and upper_ratio >= 0.7 and len(shouted) >= 2:
        return Signal("capitals", _evidence([" ".join(shouted[:6])]), 1.0)
    long_shouted = [word for word in shouted if len(word) >= 4]
    if (
        (len(shouted) >= 2 and long_shouted)
        or any(len(word) >= 5 for word in long_shouted)
        or any(word in _SHOUTED_WORDS for word in shouted)
    ):
        strength = _clip(0.35 * len(shouted))
        return Signal("capitals", _evidence(shouted), round(max(strength, 0.4), 4))
    return None


def _runs(name: str, pattern: re.Pattern[str], text: str) -> Signal | None:
    runs = pattern.findall(text)
    if not runs:
        return None
    longest = max(len(run.replace(" ", "")) for run in runs)
    strength = _clip(0.3 + 0.2 * (longest - 2) + 0.15 * (len(runs) - 1))
    return Signal(name, _evidence(runs), round(strength, 4))


# Most messages carry no marker: one lower-cased scan of ASCII text rules them out quickly.
_SARCASM_MARKERS_LOWERED = re.compile(_lower_pattern(_SARCASM_MARKERS.pattern))


def _sarcasm(text: str, negative_cue: bool, lowered: str | None = None) -> Signal | None:
    if lowered is not None and _SARCASM_MARKERS_LOWERED.search(lowered) is None:
        marker = None
    else:
        marker = _SARCASM_MARKERS.search(text)
    if marker:
        return Signal("sarcasm", _evidence([marker.group(0)]), 0.85)
    if not negative_cue:
        return None
    praise = [m.group(0) for m in _SARCASTIC_PRAISE.finditer(text) if not _negated(text, m.start())]
    if praise:
        return Signal("sarcasm", _evidence(praise), 0.5)
    return None


# -- plain answers -----------------------------------------------------------------------------

# A short reply that starts by answering a question ("No they aren't", "Nope! No VPN", "Yes I
# did"). Models trained on comments read a bare "no" as disapproval; in a dialogue it is an
# answer to the agent's question, not a complaint.
_ANSWER_START = re.compile(
    r"^\W*(?:(?:and|but|oh|um|well|so)\W+)?(?:no|nope|nah|not\s+yet|not\s+really|yes|yep|yeah|"
    r"yup|ok|okay|sure|correct|right|i\s+did|i\s+have|it\s+is|it\s+does)\b",
    re.IGNORECASE,
)
_PLAIN_ANSWER_WORDS = 6
# Any of these means the reply says more than an answer (VADER's negative valence does not
# count: it reads a bare "no" as negative).
_NOT_PLAIN = frozenset(SIGNAL_NAMES) - {
    "negative_valence",
    "satisfaction",
    "gratitude",
    "positive_valence",
    "plain_answer",
    "polite_regret",
}
# "I don't have a rewards number, unfortunately": regret as politeness. The model, trained on
# Reddit comments, reads these words as sadness or disappointment.
_POLITE_REGRET = re.compile(
    r"\b(?:unfortunately|sadly|regrettably|i'?m\s+afraid(?!\s+(?:of|to|for|about)\b))\b",
    re.IGNORECASE,
)


def _polite_regret(text: str, found: Mapping[str, Signal]) -> Signal | None:
    if _NOT_PLAIN & found.keys():
        return None
    match = _POLITE_REGRET.search(text)
    if match is None:
        return None
    return Signal(name="polite_regret", evidence=match.group(0), strength=0.8)


# Words that make a short answer a complaint ("No, I did that already. Twice.").
_NOT_PLAIN_WORDS = re.compile(
    r"\b(?:again|twice|already|whatever|still|seriously|nothing|never|useless|joke)\b",
    re.IGNORECASE,
)


def _plain_answer(text: str, found: Mapping[str, Signal]) -> Signal | None:
    if len(text.split()) > _PLAIN_ANSWER_WORDS or _NOT_PLAIN & found.keys():
        return None
    if _NOT_PLAIN_WORDS.search(text):
        return None
    match = _ANSWER_START.match(text)
    if match is None:
        return None
    return Signal(name="plain_answer", evidence=match.group(0).strip(), strength=0.8)


# -- public API --------------------------------------------------------------------------------


def detect_signals(text: str) -> tuple[Signal, ...]:
    """Every lexical signal in one message, at most one per name, in `SIGNAL_NAMES` order."""
    if not isinstance(text, str):
        return ()
    text = normalise(text)
    if not text.strip():
        return ()
    found: dict[str, Signal] = {}
    lowered = text.lower() if text.isascii() else None
    for name, rules in _RULES.items():
        if not _GATES[name].may_match(text, lowered):
            continue
        signal = _apply(name, rules, text)
        if signal is not None:
            found[name] = signal
    for signal_or_none in (
        _capitals(text),
        _runs("exclamations", _EXCLAIM_RUN, text),
        _runs("question_marks", _QUESTION_RUN, text),
    ):
        if signal_or_none is not None:
            found[signal_or_none.name] = signal_or_none
    # VADER scores "unfortunately" itself as negative: polite regret is read without it.
    regret = _polite_regret(text, found)
    valence_text = _POLITE_REGRET.sub(" ", text) if regret is not None else text
    compound = vader_compound(valence_text)
    for signal in _valence_signals(valence_text, compound):
        found[signal.name] = signal
    negative_cue = any(name in found for name in _SARCASM_CONTEXT) or (
        "problem" in found
        and (compound <= -0.25 or _PRAISE_OF_THE_SERVICE.search(text) is not None)
    )
    sarcasm = _sarcasm(text, negative_cue, lowered)
    if sarcasm is not None:
        found["sarcasm"] = sarcasm
        # Praise inside a sarcastic message is not satisfaction, and "thanks for nothing" is not
        # gratitude.
        found.pop("satisfaction", None)
        found.pop("positive_valence", None)
        if sarcasm.strength >= 0.85:
            found.pop("gratitude", None)
    if "satisfaction" in found:
        found.pop("resignation", None)  # "never mind, it works now": helped, not giving up
    if regret is not None and "sarcasm" not in found:
        found[regret.name] = regret
    answer = _plain_answer(text, found)
    if answer is not None:
        found[answer.name] = answer
    return tuple(found[name] for name in SIGNAL_NAMES if name in found)
