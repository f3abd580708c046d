"""Radiology vocabulary for the offline RadRScore judge: cues, regions, synonyms, finding terms.

Pure data plus a few compiled regular expressions; no logic beyond compiling. The vocabulary
covers the findings of chest radiograph reports (CheXpert labels, the MeSH-derived terms of the
Indiana University / OpenI collection, MIMIC-CXR phrasing). Extending it is how the offline judge
learns a new finding: add the term to ``FINDING_TERMS`` and, where it has several names, a row
to ``SYNONYMS`` that maps them onto one canonical phrase.
"""

from __future__ import annotations

import re

# Negation cues that open a scope running to the end of the clause ("no X, Y or Z").
PRE_NEGATION = (
    r"no(?:t)? (?:evidence|signs?|indications?|mention|findings?|visible signs?) (?:of|for|to suggest)",
    r"without (?:any |evidence of |signs of )?",
    r"absence of",
    r"absent",
    r"negative for",
    r"free of",
    r"lack of",
    r"lacking",
    r"lacks",
    r"devoid of",
    r"none of",
    r"none",
    r"no",
    r"not",
    r"nor",
    r"neither",
    r"never",
    r"ruling out",
    r"rules? out",
    r"ruled out",
    r"excluding",
    r"excludes?",
    r"excluded",
    r"exclusion of",
    r"negat(?:es|ing)",
    r"dismiss(?:es|ing)",
    r"eliminat(?:es|ing)",
    r"does not (?:show|reveal|demonstrate|support|suggest|indicate|display|exhibit)",
    r"do not (?:show|reveal|demonstrate|support|suggest|indicate|display|exhibit)",
    r"did not (?:show|reveal|demonstrate)",
    r"cannot be (?:seen|identified|confirmed)",
    r"unlikely",
    r"resolution of",
    r"resolved",
    r"clear of",
)
# Negation that follows its finding ("pneumothorax is not seen", "X is absent").
POST_NEGATION = (
    r"(?:is|are|was|were) (?:not|no longer) (?:seen|observed|present|identified|visible|noted|evident|"
    r"detected|apparent|appreciated|demonstrated|shown|found|indicated|supported|suggested|"
    r"enlarged|applicable|consistent|confirmed|mentioned)",
    r"(?:is|are|was|were) (?:considered |deemed |thus )?(?:absent|excluded|ruled out|inapplicable|unlikely|"
    r"resolved|negative|negated|eliminated|dismissed|refuted|invalidated)",
    r"not (?:seen|observed|present|identified|visible|noted|evident|detected|applicable|supported)",
    r"cannot be (?:confirmed|substantiated|established|verified|seen|identified)",
    r"(?:is|are|was|were) not (?:substantiated|established|verified|corroborated)",
    r"(?:lacks?|lacking) (?:support|evidence|confirmation)",
    r"(?:is|are) not",
    r"unlikely",
    r"inapplicable",
    r"not applicable",
    r"(?:has|have) resolved",
)
# A clause that calls its structure normal states that the structure's abnormalities are absent.
NORMAL_CUES = (
    r"normal",
    r"within normal limits",
    r"unremarkable",
    r"clear",
    r"intact",
    r"well[- ]expanded",
    r"well[- ]aerated",
    r"sharp",
    r"no acute",
    r"negative",
)
# Words marking a differential or an explanation rather than an observation.
HEDGE_CUES = (
    r"such as",
    r"conditions? like",
    r"e\.g\.",
    r"typically",
    r"commonly",
    r"often",
    r"usually",
    r"can be",
    r"could (?:be|indicate|suggest|represent)",
    r"may (?:be|indicate|suggest|represent)",
    r"might",
    r"would",
    r"for example",
    r"differential",
)
# Temporal statuses (comparison with a prior study).
TEMPORAL_CUES = {
    "improved": r"improv\w*|less (?:prominent|conspicuous|extensive)|smaller|regress\w*|resolving",
    "worsened": r"worsen\w*|increas\w* in size|progress\w*|enlarg\w* since|larger|"
    r"more (?:prominent|extensive|conspicuous)|new",
    "stable": r"stable|unchanged|persistent|no (?:significant |interval )?change",
}

LATERALITY = {
    "bilateral": r"bilateral(?:ly)?|both|bibasilar|bibasal|biapical|bilaterally",
    "left": r"left|lingula\w*|leftward",
    "right": r"right|rightward",
}

# Anatomical regions, most specific first; the first match names the finding's region.
REGIONS = (
    ("costophrenic angle", r"costophrenic|cp angle|sulcus|sulci"),
    ("lung apex", r"ap(?:ex|ices|ical)|biapical"),
    ("lung base", r"bases?|basilar|basal|bibasilar|bibasal"),
    ("upper lobe", r"upper lobes?|upper lung"),
    ("middle lobe", r"middle lobes?|lingula\w*|mid(?:dle)? lung"),
    ("lower lobe", r"lower lobes?|lower lung"),
    ("hilum", r"hil(?:um|a|ar)|perihilar"),
    ("retrocardiac", r"retrocardiac"),
    ("paratracheal", r"paratracheal"),
    ("diaphragm", r"(?:hemi)?diaphragm\w*"),
    ("pleura", r"pleura\w*"),
    ("heart", r"heart|cardiac|cardio\w*|pericardi\w*|atri\w*|ventric\w*|mitral"),
    ("mediastinum", r"mediastin\w*|carina|trachea\w*"),
    ("aorta", r"aort\w*"),
    ("spine", r"spin\w*|vertebra\w*|thoracolumbar|lumbar|cervical"),
    ("rib", r"ribs?|costal"),
    ("clavicle", r"clavic\w*"),
    ("shoulder", r"shoulders?|humer\w*"),
    ("sternum", r"stern\w*"),
    ("abdomen", r"abdom\w*|subdiaphragmatic|bowel|stomach|esophag\w*"),
    ("soft tissue", r"soft tissues?|breast\w*|neck|nipple"),
    ("lung", r"lungs?|pulmonary|alveol\w*|airspace|parenchym\w*|thorax|chest"),
)

# Terms that make a clause a radiological finding. A clause naming none of these is an
# explanation, a plan or a restatement, and carries no finding.
FINDING_TERMS = (
    r"opacit\w*|densit\w*|consolidat\w*|infiltrat\w*|airspace disease|air space disease|fullness",
    r"effusion\w*|pneumothora\w*|hydropneumothorax|pneumoperitoneum|pneumomediastinum|free air",
    r"cardiomegaly|cardiomediastinal|enlarg\w*|prominen\w*|widen\w*|silhouette|heart size",
    r"atelecta\w*|collapse|volume loss|hypoinflat\w*|hyperinflat\w*|hyperexpan\w*|hyperdisten\w*",
    r"hyperlucen\w*|lucen\w*|emphysema\w*|bulla\w*|bleb\w*|blister\w*|cyst\w*|cavit\w*|copd",
    r"nodul\w*|mass(?:es)?|granulom\w*|calcif\w*|calcinos\w*|lesion\w*|tumou?r\w*|neoplas\w*",
    r"edema|oedema|congesti\w*|vascularity|vasculature|cephalization|kerley",
    r"fibros\w*|scar\w*|cicatri\w*|reticul\w*|interstiti\w*|markings?|thicken\w*|cuffing",
    r"pneumoni\w*|infection|bronchiectasis|bronchitis|bronchiolitis|sarcoid\w*|tuberculosis",
    r"fractur\w*|deformit\w*|degenerat\w*|osteophyt\w*|spondylo\w*|scolio\w*|kyphos\w*",
    r"arthriti\w*|arthropath\w*|osteopor\w*|osteopen\w*|sclero\w*|hyperostosis|metabolic bone",
    r"dislocat\w*|bony abnormalit\w*|bone\w*|osseous|(?:retro|spondylo)?listhesis",
    r"hernia\w*|eventration|elevat\w*|flatten\w*|blunt\w*|obscur\w*|shift\w*",
    r"tortu\w*|ectasia|ectatic|aneurysm\w*|atherosclero\w*|arosclerosis",
    r"tubes?|catheters?|caters?|lines?|devices?|pacemaker\w*|pacer|wires?|clips?|stents?|sutur\w*",
    r"instruments?|hardware|prosthe\w*|implant\w*|foreign bod\w*|foreign objects?|port|drain\w*|sternotomy",
    r"radio-?opa\w*|radiodens\w*|artifacts?|artefacts?|tracheostomy",
    r"fusion|mastectomy|pneumonectomy|lobectomy|surg\w*|post-?operative",
    r"azygos|interposition|nipple|fat|contrast|lymph\w*|adenopath\w*|abnormalit\w*|disease\w*|changes?",
    r"aerat\w*|expan\w*|inflat\w*|volumes?|lungs? (?:are|is|appear\w*) clear|clear lungs?",
    r"hypertension|cardiomyopathy|pericardial|contour\w*|size",
    r"(?:acute|cardiopulmonary|intrathoracic|infectious|inflammatory|airspace|interstitial) process(?:es)?",
)

# Synonyms mapped onto one canonical phrase, applied in order to lower-cased text.
SYNONYMS = (
    (
        r"(?:enlarged|enlargement of (?:the )?|prominent|increased?(?: in)?) (?:the )?(?:cardiac|heart) "
        r"(?:silhouette|shadow|size)|(?:enlarged|large) heart|(?:cardiac|heart) enlargement|"
        r"increase(?:d)? (?:in )?(?:the )?heart size|enlarged (?:or prominent )?cardiac shadow|"
        r"(?:cardiac|heart) (?:silhouette|shadow|size) (?:is |appears )?enlarged",
        "cardiomegaly",
    ),
    (r"hemidiaphragms?|diaphragms", "diaphragm"),
    (
        r"free (?:intraperitoneal |intra-abdominal |subdiaphragmatic )?air"
        r"(?: (?:under|below|beneath) (?:the |either )?diaphragm)?",
        "pneumoperitoneum",
    ),
    (
        r"acute (?:cardiopulmonary |intrathoracic |chest )?(?:process|abnormalit(?:y|ies)|disease)",
        "acute cardiopulmonary process",
    ),
    (r"pleural effusions", "pleural effusion"),
    (r"(?<!pericardial )(?<!pleural )effusions?", "pleural effusion"),
    (r"pneumothoraces", "pneumothorax"),
    (r"air[- ]space", "airspace"),
    (r"hyper(?:distention|distension|expansion|inflated|expanded)|hyperinflated", "hyperinflation"),
    (
        r"low lung volumes?|(?:reduced|decreased|diminished) lung volumes?|hypoventilation|"
        r"poor inspiration|hypoinflated|shallow inspiration|lung volumes? (?:is |are )?(?:low|reduced)",
        "hypoinflation",
    ),
    (r"cicatri(?:x|ces)|scar tissue|scars?\b|scarring", "scarring"),
    (r"calcinos[ie]s|calcifications?|calcified", "calcification"),
    (r"granulomatous (?:lung )?disease|granulomas\b", "granuloma"),
    (
        r"spondylosis|degenerative (?:disease|changes?) (?:of|in) (?:the )?(?:thoracic )?spine",
        "degenerative spine",
    ),
    (
        r"tortuosity of (?:the )?(?:thoracic )?aorta|aorta (?:is |appears )?(?:mildly )?tortuous",
        "tortuous aorta",
    ),
    (r"atelectatic|subsegmental atelectasis|discoid atelectasis|linear atelectasis", "atelectasis"),
    (r"infiltrates", "infiltrate"),
    (r"opacities|opacification", "opacity"),
    (r"densities", "density"),
    (r"nodules|nodular densit(?:y|ies)|nodular opacit(?:y|ies)", "nodule"),
    (r"fractures", "fracture"),
    (r"indwelling caters?|caters?\b|catheters|central lines?|picc lines?", "catheter"),
    (r"surgical (?:instruments?|clips?|wires?|sutures?)|sternotomy wires?|sutures?", "surgical hardware"),
    (r"lymphadenopathy|adenopathy|enlarged lymph nodes?|lymph node enlargement", "enlarged lymph node"),
    (r"hiatus hernia", "hiatal hernia"),
    (r"vascular congestion|pulmonary congestion|pulmonary venous congestion", "pulmonary congestion"),
    (r"thoracic vertebra[el]?|vertebral bodies|vertebrae", "spine"),
    (r"aortic", "aorta"),
    (r"lungs\b", "lung"),
    (r"bases\b", "base"),
    (r"apices\b", "apex"),
    (r"angles\b", "angle"),
    (r"ribs\b", "rib"),
    (r"changes\b", "change"),
    (r"markings\b", "marking"),
)

# Words dropped from a finding's core before it is embedded: fillers, verbs of seeing, and the
# attributes that are compared as hard constraints instead (status, laterality, severity).
FILLER = (
    r"the|a|an|of|in|at|on|to|with|within|along|over|near|from|by|for|is|are|was|were|be|been|"
    r"there|this|these|that|those|it|its|which|any|some|also|additionally|furthermore|moreover|"
    r"further|noted|seen|observed|present|presence|identified|visible|evident|shown|shows?|"
    r"reveals?|revealed|demonstrates?|demonstrated|appears?|appearing|suggest\w*|indicat\w*|"
    r"consistent|compatible|confirm\w*|support\w*|evidence|signs?|findings?|finding|noting|"
    r"image|images|x-ray|xray|radiograph|chest x-ray|examination|exam|study|view|"
    r"mild|mildly|moderate|moderately|severe|severely|small|large|minimal|slight|slightly|"
    r"subtle|trace|tiny|marked|markedly|significant|borderline|possible|probable|likely|"
    r"left|right|bilateral|bilaterally|both|side|sided|side's|and|or|as|well|again|still|"
    r"stable|unchanged|persistent|new|no|not|without|absence|absent|normal|clear|"
    r"sides|lateral|pa|ap|frontal|projecting|area|areas|region|regions|xxxx|x|ray|rays|chest|"
    r"conclusion|final|answer|correct|diagnosis|diagnoses|applicable|inapplicable|despite|detected|"
    r"making|used|considered|thus|therefore|hence|observation|observations|features?|overall|most|"
    r"recent|other|such|possibility|upon|examining|examined|evaluation|assessment|careful|note|"
    r"option|options|indicative|suggestive|representing|characterized|seen|like|including|"
    r"potential|potentially|determination|leads?|leading|exclusion|condition|conditions|"
    r"associated|related|due|since|because|we|our|can|could|may|might|would|should|identify|"
    r"show|display|exhibit|noting|visualized|appreciated|apparent|demonstrating|showing|include|"
    r"includes|including|fields?|typically|involves?|involving|specific|specifically|align|aligns|"
    r"analysis|imaging|based|evaluating|evaluate|evaluated|given|found|identifying|identification|"
    r"manifest|manifests|through|than|observable|description|described|look|looks|looking|when|"
    r"while|typical|definite|only|represent|represents|match|matches|matching|assessing|assess|"
    r"assessed|past|more|usually|although|mention|mentions|mentioned|has|have|had|correspond|"
    r"corresponds|requires|requiring|determine|greater|specified|one|considering|cannot|early|"
    r"especially|best|detection|very|case|analyzed|analyzing|review|reviewed|reviewing|correlate|"
    r"correlates|search|searching|after|their|however|particularly|issues?|closely|inferred|"
    r"likelihood|rather|several|recognition|located|being|examine|questionable|concerning|"
    r"noticeable|characteristics?|observing|yet|noticed|investigation|means|meaning|checking|"
    r"checked|mentions|history|discovery|discovered|approximately|incidental|incidentally|observe|"
    r"similar|causing|makes|make|made|consideration|interpretation|indeed|reinforcing|notably|"
    r"expect|expected|resulting|question|showed|presents|clearly|accurately|suspected|if|"
    r"necessary|do|does|none|displays|up|alongside|consequently|lack|lacks|lacking|focuses|known|"
    r"explicitly|type|patient|recommend|films?|diagnosed|unusually|unusual|verify|inspected|"
    r"scrutiny|aforementioned|begins|begin|next|relative|otherwise|all|across|notable|"
    r"distinct|distinctive|active|certain|entire|entirely|obvious|particular|definitive|"
    r"detect|detectable|identifiable|observed|detected|evident|absent|suggesting|"
    r"confirming|supporting|indicating|excluding|ruling|rules|ruled|out|exclude|excludes|negated|"
    r"eliminated|dismissed|refuted|invalidated|deemed|"
    # where a device lies, and how a finding changed, are not what the finding is
    r"terminates?|terminating|courses?|coursing|tips?|ends?|cm|mm|positioned|position|standard|"
    r"satisfactory|appropriate|reflects?|reflecting|though|interval|worsening|improving|"
    r"increasing|decreasing"
)


def alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of ``patterns`` as whole words."""
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b", re.IGNORECASE)


PRE_NEGATION_RE = alternation(PRE_NEGATION)
POST_NEGATION_RE = alternation(POST_NEGATION)
NORMAL_RE = alternation(NORMAL_CUES)
HEDGE_RE = alternation(HEDGE_CUES)
FINDING_RE = alternation(FINDING_TERMS)
TEMPORAL_RES = {status: alternation((pattern,)) for status, pattern in TEMPORAL_CUES.items()}
LATERALITY_RES = {side: alternation((pattern,)) for side, pattern in LATERALITY.items()}
REGION_RES = tuple((name, alternation((pattern,))) for name, pattern in REGIONS)
# All regions in one pass: group ``r<k>`` is REGIONS[k] (see ``extract.region``).
REGION_ANY_RE = re.compile(
    r"\b(?:" + "|".join(f"(?P<r{k}>{pattern})" for k, (_, pattern) in enumerate(REGIONS)) + r")\b",
    re.IGNORECASE,
)
SYNONYM_RES = tuple((alternation((pattern,)), canonical) for pattern, canonical in SYNONYMS)
FILLER_RE = re.compile(r"\b(?:" + FILLER + r")\b", re.IGNORECASE)


def _filler_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """FILLER as a word set and prefixes, for text already reduced to ``[a-z0-9 ]`` words.

    A set lookup per word is several times faster than the alternation, with the same result on
    such text ("shows?" gives "show" and "shows"; "suggest\\w*" the prefix "suggest"; an
    alternative with other characters, "x-ray", cannot occur there).
    """
    words, prefixes = set(), []
    for alt in FILLER.split("|"):
        if re.fullmatch(r"[a-z0-9]+", alt):
            words.add(alt)
        elif re.fullmatch(r"[a-z0-9]+s\?", alt):
            words.update((alt[:-2], alt[:-1]))
        elif re.fullmatch(r"[a-z0-9]+\\w\*", alt):
            prefixes.append(alt[:-3])
    return frozenset(words), tuple(prefixes)


FILLER_WORDS, FILLER_PREFIXES = _filler_words()
