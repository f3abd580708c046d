"""Sentences and clauses of radiology prose: where a chain's statements begin and end.

Pure functions of text. :func:`split_sentences` cuts a ``<think>`` paragraph or a report into
sentences; :func:`clauses` cuts a sentence into the clauses that may carry findings (contrast
splits, explanatory tails dropped or kept as restatements); :func:`sentence_frame` recognises the
sentence shapes whose subject takes its status from elsewhere ("Regarding X, none is seen",
"X would appear as ..., but the lungs are clear") and those that assert nothing (definitions).
"""

from __future__ import annotations

import re

from reasoner.radrscore import lexicon as lx

_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|vs|approx|dr|no)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_HEADER = re.compile(r"\b(?:findings|impression|comparison|indication|technique)\s*:\s*", re.IGNORECASE)
_NUMBERED = re.compile(r"(?:^|\s)\d{1,2}[.)]\s+(?=[A-Za-z])")
# Clause boundaries: contrast, and a new clause opening after a comma.
_CONTRAST = re.compile(
    r";|\s+but\s+|,?\s+however,?\s+|\s+whereas\s+|\s+while\s+|\s+(?:al|even )?though\s+|\s+despite\s+|"
    r",\s*(?=(?:and\s+|yet\s+)?(?:there (?:is|are|was|were)|no |without|not |the |its |with no ))|"
    r"\s+(?=without\s)|\s+and\s+(?=there (?:is|are|was|were)|no\s)|\s+(?=with no\s)",
    re.IGNORECASE,
)
# Connectors that open an explanatory tail ("..., which is indicative of ...", "suggesting ...").
_CONNECTOR = re.compile(
    r"(?:,\s*|\s+)(?=(?:(?:which|that) (?:is|are|was|were|could|can|may|might|would|suggests?|"
    r"indicates?|supports?|points?|aligns?|represents?|corresponds?|helps?|confirms?|excludes?|"
    r"rules? out|makes?|negates?|eliminates?|means?)|indicating|indicative of|suggesting|suggestive of|"
    r"consistent with|compatible with|characteri[sz]ed by|as (?:indicated|evidenced|seen|shown|"
    r"suggested|demonstrated|confirmed) by|as there|as the|as these|as no|since|because|due to|"
    r"secondary to|likely|possibly|probably|representing|related to|associated with|attributed to|"
    r"in keeping with|in line with|implying|reflecting|typical of|often|confirming|supporting|"
    r"(?:may|might|could) (?:reflect|represent)|concerning for|worrisome for|suspicious for|"
    r"corroborating|ruling out|rules? out|excluding|eliminating|negating|dismissing|making|"
    r"thereby|thus|therefore|hence|so that|leading to|pointing to|aligning with|which|"
    r"(?:is|are|was|were) (?:suggested|indicated|evidenced|supported|shown|demonstrated) by)\b)",
    re.IGNORECASE,
)
# A tail that restates an observation explicitly: "..., supporting the presence of X".
_KEPT_TAIL = re.compile(
    r"^(?:\w+\s+){0,4}?(?:the\s+)?(?:presence|diagnosis|existence)\s+of\s+|"
    r"^(?:(?:which|that)\s+(?:is|are|was|were)\s+)?(?:indicative of|suggestive of|consistent with|"
    r"compatible with|in keeping with|characteristic of)\s+",
    re.IGNORECASE,
)
# "Regarding X, <status>", "In examining (the possibility of) X, <status>",
# "The search for X shows <status>": X takes the status of the rest.
_TOPIC = re.compile(
    r"^(?:regarding|concerning|as for|as to|in regard to|with regard to|with respect to|"
    r"(?:in|when|upon|on|while|after) (?:examining|evaluating|assessing|reviewing|checking|looking)"
    r"(?: at| for)?(?: the (?:x-ray|images?|radiograph|chest x-ray)(?: images?)? for)?"
    r"(?: the possibility of| the presence of| potential)?)\s+(.+?),\s*(.+)$|"
    r"^(?:the |a )?(?:search|consideration|examination|evaluation|assessment|review|analysis|"
    r"inspection|investigation|check|look|scrutiny|evaluating(?: the findings)?|examining|assessing|"
    r"reviewing|checking)\s+(?:for|of)\s+(?:the possibility of\s+|any\s+|the presence of\s+)?"
    r"(.+?)\s+(?:shows?|reveals?|demonstrates?|yields?|finds?|found|indicates?|confirms?|showed|"
    r"revealed|confirmed|is|are|was|were)\s+(.+)$",
    re.IGNORECASE,
)
# "To evaluate X, ...", "X was examined by looking for ...", "The images were scrutinized for X":
# X is being looked for; what was found follows (after a contrast, or in the next sentence).
_LOOK = (
    r"(?:evaluate|assess|detect|check|determine|identify|investigate|look for|search for|exclude|rule out)"
)
_SUBJECT_END = r"(?=\s*(?:,|;|$|\s+(?:by|through|using|involved|within|in the (?:images?|x-ray)|on the)\b))"
_INVESTIGATION = (
    re.compile(
        rf"^(?:to|in order to) {_LOOK}(?: for)?(?: the)?(?: (?:potential|possible))?(?: presence of|"
        rf" possibility of)?\s+(?P<s>.+?){_SUBJECT_END}",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:for|when (?:assessing|evaluating|checking|looking|searching) for|in (?:examining|evaluating|"
        r"assessing|checking) for)(?: the)?(?: (?:potential|possible))?(?: presence of| possibility of)?"
        rf"\s+(?P<s>.+?){_SUBJECT_END}",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:the possibility of |the presence of |potential |possible )?(?P<s>.+?)\s+(?:was|were|is|are) "
        r"(?:considered|examined|evaluated|investigated|assessed|scrutinized|checked|reviewed|explored|"
        r"sought|searched for|looked for|analy[sz]ed)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:the )?(?:images?|x-rays?|radiographs?|lungs?|chest|lung fields|films?) (?:were|was|are|is) "
        r"(?:scrutinized|examined|evaluated|reviewed|searched|checked|inspected|assessed|analy[sz]ed) for "
        rf"(?:any |signs of |evidence of |the presence of )?(?P<s>.+?){_SUBJECT_END}",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:an? |the )?(?:examination|evaluation|assessment|search|inspection|analysis) (?:for|of) "
        r"(?P<s>.+?)\s+involved\b",
        re.IGNORECASE,
    ),
)
_AFTER_CONTRAST = re.compile(
    r"(?:[,;]\s*|\s+)(?:but|yet|however|although)\b,?\s*(?P<rest>.+)$", re.IGNORECASE
)
_META = re.compile(
    r"^(?:for |in |regarding |as for |in regard to |considering )?(?:the )?options? (?:[a-e]\b|of\b)|"
    r"^(?:a |the )?diagnosis of\b",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^(?:upon |on |after )?(?:examining|examination of|evaluating|assessing|inspecting|reviewing|"
    r"looking at|turning to|considering|analy[sz]ing)\b[^,]*,\s*",
    re.IGNORECASE,
)
_CONSISTENT = re.compile(
    r"\b(?:features?|findings?|appearances?|signs?|changes?)\s+(?:that are\s+)?(?:consistent|compatible)"
    r"\s+with\b",
    re.IGNORECASE,
)
_ANAPHORIC = re.compile(
    r"^(?:this|these|such|it|they|both)\b(?:\s+\w+){0,2}\s+(?:is|are|was|were|suggests?|indicates?|"
    r"supports?|confirms?|points?|align|aligns|further|could|can|may|might|would|typically|"
    r"often|also|help|helps|finding|findings|observation|observations|change|changes|condition)",
    re.IGNORECASE,
)
# "X would appear as ..., but <status>": X is hypothetical until the contrast settles it.
_HYPOTHETICAL = re.compile(
    r"^(?:an?\s+|the\s+)?(?P<subject>.+?)\s+(?:would|could|might|may|can|typically|usually|generally|"
    r"often|commonly|suggests?|indicates?|presents?|appears? as|manifests?|involves?|includes?|"
    r"(?:is|are) (?:characteri[sz]ed|defined|suggested|indicated))\b.*?[,;]?\s+"
    r"(?:but|yet|however|although)\b,?\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
# Planning asserts nothing either: "Another finding to consider is X", "X needs exploration".
_PLANNING = re.compile(
    r"^(?:the possibility of|to (?:evaluate|assess|check|determine|answer)|we (?:need|should|must)|"
    r"i (?:need|should|must)|the (?:problem|question|task) requires|(?:another|one of the|the next) "
    r"(?:potential |possible )?findings? (?:to consider|suggested|to evaluate|is)|options? [a-e] "
    r"(?:requires|involves|includes|suggests|mentions|proposes|lists|describes))|"
    r"\b(?:needs?|requires?|warrants?) (?:further )?(?:exploration|evaluation|assessment|consideration)|"
    r"\b(?:would|will|could) (?:depend|rely) on\b|^(?:check|look|search|assess|evaluate) (?:for|whether)\b|"
    r"\bmust be (?:considered|evaluated|assessed)",
    re.IGNORECASE,
)
_DISCOURSE = re.compile(
    r"^(?:lastly|finally|next|first(?:ly)?|second(?:ly)?|third(?:ly)?|additionally|furthermore|moreover|"
    r"similarly|also|then|in addition|subsequently|likewise|importantly|in contrast|conversely|"
    r"on the other hand|notably|overall),?\s+",
    re.IGNORECASE,
)
# A definition asserts nothing about this image: "Hypoinflation involves low lung volumes".
_DEFINITION = re.compile(
    r"^(?:an?\s+|the\s+)?(?P<s>.+?)\s+(?:involves|includes?|(?:is|are) characteri[sz]ed by|"
    r"(?:is|are) defined as|(?:is|are) indicated by|(?:is|are) suggested by|(?:is|are) recogni[sz]ed by|"
    r"presents? as|manifests? as|(?:is|are) identified by|would (?:appear|be seen|present|show|manifest)|"
    r"typically (?:presents?|appears?|manifests?)|(?:is|are) typically|usually appears?|"
    r"(?:is|are) (?:a )?(?:common|typical|frequent))\b",
    re.IGNORECASE,
)
# A "definition" whose subject is already a statement about this image is an observation with
# an explanation after it: "There is no X, as X would appear as ...", "Upon examining the
# images, X is suggested by ...", "X is seen, which would ...".
_OBSERVED_SUBJECT = re.compile(
    r",|\bthere (?:is|are|was|were)\b|\b(?:no|not|without|absence of|lacks?)\b|"
    r"\b(?:is|are|was|were) (?:seen|noted|observed|present|visible|identified|detected)\b",
    re.IGNORECASE,
)
_HEDGE_TAIL = re.compile(r"\b(?:such as|like|e\.g\.|for example)\b.*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_CONCLUSION = re.compile(
    r"\b(?:in conclusion|final answer|correct answer|the answer is|thus, the answer|"
    r"(?:most )?consistent with option|options? [a-e]\b)",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """Whitespace collapsed, report headers and de-identification marks (``XXXX``) removed."""
    text = _HEADER.sub(" ", text or "")
    text = re.sub(r"\bX{2,}\b", " ", text)
    return _SPACES.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, in order; empty strings and bare numbering are dropped."""
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\x00"), clean(text))
    protected = _NUMBERED.sub(" \n", protected)
    out = []
    for part in _SENTENCE_END.split(protected):
        sentence = part.replace("\x00", ".").strip(" .")
        if len(sentence) > 2 and re.search(r"[A-Za-z]", sentence):
            out.append(sentence)
    return out


def is_conclusion(sentence: str) -> bool:
    """True for a closing restatement ("In conclusion, the final answer is ...")."""
    return bool(_CONCLUSION.search(sentence))


# The closing restatement only: "In conclusion, ...", "the final answer is ...". Unlike
# :func:`is_conclusion`, a step that rules an option out ("..., excluding option B") is not one.
_CLOSING = re.compile(
    r"\b(?:in conclusion|in summary|to summari[sz]e|final answer|correct answer|the answer is|"
    r"thus,? the answer|therefore,? the answer)\b",
    re.IGNORECASE,
)


def is_closing(step: str) -> bool:
    """True for the closing restatement of a chain ("In conclusion, the final answer is B")."""
    return bool(_CLOSING.search(step))


def strip_discourse(sentence: str) -> str:
    """The sentence without an opening discourse adverb ("Lastly, ...", "Additionally, ...")."""
    return _DISCOURSE.sub("", sentence)


def sentence_frame(sentence: str) -> tuple[str, str | None, str] | None:
    """The shape of a sentence whose subject takes its status from another part.

    Returns ``("topic", subject, rest)`` for "Regarding X, <rest>" and "The search for X shows
    <rest>"; ``("hypothetical", subject, rest)`` for "X would appear as ..., but <rest>";
    ``("definition", subject, "")`` for a sentence that only defines a finding (what was seen
    comes in the next sentence; subject None when it names no finding), ``("planning",
    None, "")`` for one that plans the analysis and ``("anaphoric", None, "")`` for "This finding
    suggests ..."; None for an ordinary sentence.
    """
    sentence = _DISCOURSE.sub("", sentence)
    if _ANAPHORIC.match(sentence):
        return ("anaphoric", None, "")
    for pattern in _INVESTIGATION:
        looked = pattern.match(sentence)
        if looked and lx.FINDING_RE.search(looked.group("s")) and not _META.match(looked.group("s")):
            settled = _AFTER_CONTRAST.search(sentence, looked.end())
            return ("investigation", looked.group("s"), settled.group("rest") if settled else "")
    if _PLANNING.search(sentence):
        return ("planning", None, "")
    topic = _TOPIC.match(sentence)
    if topic:
        subject = topic.group(1) or topic.group(3)
        if lx.FINDING_RE.search(subject) and not _META.match(subject):
            return ("topic", subject, topic.group(2) or topic.group(4))
    hypothetical = _HYPOTHETICAL.match(sentence)
    if hypothetical and lx.FINDING_RE.search(hypothetical.group("subject")):
        return ("hypothetical", hypothetical.group("subject"), hypothetical.group("rest"))
    defined = _DEFINITION.match(sentence)
    if defined and not is_conclusion(sentence) and not _OBSERVED_SUBJECT.search(defined.group("s")):
        subject = defined.group("s")
        if lx.FINDING_RE.search(subject) and not _META.match(subject) and not _ANAPHORIC.match(sentence):
            return ("definition", subject, "")
        return ("definition", None, "")
    return None


def clauses(sentence: str) -> list[tuple[str, bool]]:
    """Clauses of one sentence that may carry findings, in order, each with a tail flag.

    Contrastive parts become clauses of their own. An explanatory tail ("..., which suggests
    COPD") is dropped unless it is negated ("..., ruling out cardiomegaly") or names an
    observation explicitly ("..., supporting the presence of X"); a kept tail is flagged True,
    since it restates the clause before it in other words. A fragment naming no finding ("In the
    right middle lobe,") is carried into the next clause as its location. Clauses about the
    options themselves ("Option D suggests ...") are meta-talk and dropped.
    """
    sentence = _CONSISTENT.sub(" ", _PREAMBLE.sub("", sentence.strip()))
    out: list[tuple[str, bool]] = []
    carry = ""
    for raw in _CONTRAST.split(sentence):
        for j, part in enumerate(_CONNECTOR.split(raw or "")):
            part = part.strip(" ,.")
            if j > 0 and not lx.PRE_NEGATION_RE.search(part):
                kept = _KEPT_TAIL.match(part)
                if not kept:
                    continue
                part = part[kept.end() :]
            part = _HEDGE_TAIL.sub("", part).strip(" ,.")
            if not part or _META.match(part):
                continue
            if not lx.FINDING_RE.search(part) and not lx.NORMAL_RE.search(part):
                carry = f"{carry} {part}".strip()
                continue
            out.append((f"{carry} {part}".strip() if carry and j == 0 else part, j > 0))
            carry = ""
    return out
