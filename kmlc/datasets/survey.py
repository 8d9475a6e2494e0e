"""Synthetic three-group customer-satisfaction survey (retail bank).

Each row is a free-text answer to "How was your recent experience with our
bank?" annotated with three label groups:

* ``global_score`` -- multiclass, exactly one of ``S1`` (very dissatisfied) ..
  ``S5`` (very satisfied);
* ``emotions`` -- multi-label, any of ``E1`` .. ``E11`` (joy, frustration, ...);
* ``causes`` -- multi-label, any of ``C1`` .. ``C12`` (staff friendliness,
  waiting time, fees, ...).

The wording is coherent with the labels: low scores come with frustration /
anger and negatively phrased causes, high scores with joy / gratitude and
positively phrased causes; middle scores mix both.  Everything is generated
deterministically from a seed (pure Python + numpy, no files, no network).
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple, Union

import pandas as pd

from .support_tickets import _fill, _Rand, _typo, _write_csv

__all__ = [
    "SURVEY_GROUPS",
    "SURVEY_SCORES",
    "SURVEY_EMOTIONS",
    "SURVEY_CAUSES",
    "load_survey",
    "write_survey",
    "survey_label_names",
]

SURVEY_GROUPS: Dict[str, str] = {
    "global_score": "multiclass",
    "emotions": "multilabel",
    "causes": "multilabel",
}

SURVEY_SCORES: Dict[str, str] = {
    "S1": "very dissatisfied",
    "S2": "dissatisfied",
    "S3": "neutral / mixed",
    "S4": "satisfied",
    "S5": "very satisfied",
}

SURVEY_EMOTIONS: Dict[str, str] = {
    "E1": "joy",
    "E2": "frustration",
    "E3": "anger",
    "E4": "gratitude",
    "E5": "disappointment",
    "E6": "relief",
    "E7": "anxiety",
    "E8": "confusion",
    "E9": "trust",
    "E10": "surprise",
    "E11": "impatience",
}

SURVEY_CAUSES: Dict[str, str] = {
    "C1": "staff friendliness",
    "C2": "waiting time",
    "C3": "fees and pricing",
    "C4": "mobile app and online banking",
    "C5": "advisor expertise",
    "C6": "problem resolution",
    "C7": "branch access and opening hours",
    "C8": "clarity of communication",
    "C9": "security and fraud handling",
    "C10": "phone support reachability",
    "C11": "loan and credit process",
    "C12": "account opening and paperwork",
}

_SCORE_CODES = list(SURVEY_SCORES)
_EMOTION_CODES = list(SURVEY_EMOTIONS)
_CAUSE_CODES = list(SURVEY_CAUSES)

# --------------------------------------------------------------------------- #
# Slots
# --------------------------------------------------------------------------- #

_STAFF = ["Maria", "Tom", "Mr. Keller", "Ms. Novak", "Sarah", "Ahmed", "Julia", "Peter",
          "Mrs. Lopez", "David", "Nina", "the manager"]
_BRANCHES = ["downtown", "Riverside", "Main Street", "north", "airport", "city center",
             "Westfield", "old town"]
_BANK_PRODUCTS = ["savings account", "mortgage", "credit card", "current account",
                  "personal loan", "investment fund", "business account", "debit card"]


def _amount(r: _Rand) -> str:
    return r.pick(["$", "\u20ac", "\u00a3"]) + str(r.randint(3, 95))


_SLOTS = {
    "staff": lambda r: r.pick(_STAFF),
    "branch": lambda r: r.pick(_BRANCHES),
    "product": lambda r: r.pick(_BANK_PRODUCTS),
    "minutes": lambda r: str(r.pick([25, 30, 40, 45, 50, 60, 75, 90])),
    "short_minutes": lambda r: str(r.randint(2, 6)),
    "days": lambda r: str(r.randint(5, 60)),
    "years": lambda r: str(r.randint(3, 30)),
    "km": lambda r: str(r.randint(10, 60)),
    "amount": _amount,
}

# --------------------------------------------------------------------------- #
# Phrase banks
# --------------------------------------------------------------------------- #

_OVERALL: Dict[str, List[str]] = {
    "S1": [
        "Absolutely terrible experience.",
        "The worst service I have ever had from a bank.",
        "Completely unacceptable.",
        "I am extremely dissatisfied.",
        "A total disaster from start to finish.",
        "Zero stars if I could.",
        "Awful, simply awful.",
        "I've never been treated this badly by a bank.",
    ],
    "S2": [
        "Not a good experience.",
        "I'm rather dissatisfied with the service.",
        "Below what I expected from you.",
        "Pretty disappointing overall.",
        "The service was poor this time.",
        "Could have been much better.",
        "Not great, to be honest.",
    ],
    "S3": [
        "It was okay, nothing special.",
        "An average experience.",
        "Mixed feelings about this visit.",
        "Some things were good, others not so much.",
        "It was fine I guess.",
        "Neither good nor bad.",
        "Acceptable, but there is room for improvement.",
    ],
    "S4": [
        "Good experience overall.",
        "I'm quite satisfied with the service.",
        "Things went well.",
        "A pleasant visit overall.",
        "Pretty good, with minor issues.",
        "Solid service, thank you.",
        "I was satisfied.",
    ],
    "S5": [
        "Excellent service from start to finish!",
        "Outstanding experience, truly.",
        "Perfect, I couldn't ask for more.",
        "The best bank experience I've had.",
        "Absolutely brilliant service.",
        "Five stars without hesitation.",
        "Everything was flawless.",
    ],
}

_RECOMMEND: Dict[str, List[str]] = {
    "S1": ["I'm moving my accounts to another bank.", "I will never recommend you to anyone.",
           "I'm closing my account next week.", "Avoid this bank."],
    "S2": ["I'm considering switching banks.", "I doubt I would recommend you.",
           "I hope next time is better."],
    "S3": ["I might recommend you, it depends.", "I'll probably stay for now.",
           "We'll see how it goes."],
    "S4": ["I would recommend you to friends.", "I'll keep banking with you.",
           "Keep up the good work."],
    "S5": ["I recommend you to everyone I know!", "I'll definitely stay a customer for life.",
           "Already told my family to switch to you."],
}

# cause -> (positive phrasings, negative phrasings)
_CAUSE_PHRASES: Dict[str, Tuple[List[str], List[str]]] = {
    "C1": (
        ["The staff at the {branch} branch were very friendly.",
         "{staff} at the counter was kind and welcoming.",
         "Everyone greeted me with a smile.",
         "The employee was polite and patient with me.",
         "The teller was warm and courteous.",
         "The people at the branch were lovely."],
        ["The staff member was rude to me.",
         "{staff} at the counter was dismissive and impolite.",
         "Nobody even said hello when I came in.",
         "The employee rolled their eyes at my question.",
         "The teller was unfriendly and condescending.",
         "The staff treated me like a nuisance."],
    ),
    "C2": (
        ["I was served within {short_minutes} minutes.",
         "There was almost no queue.",
         "Very short waiting time.",
         "I didn't have to wait at all.",
         "My appointment started right on time."],
        ["I waited over {minutes} minutes in the queue.",
         "The waiting time was ridiculous.",
         "I had to wait {minutes} minutes just to talk to someone.",
         "The line barely moved for an hour.",
         "My appointment started {minutes} minutes late.",
         "It took {days} days to get a simple answer."],
    ),
    "C3": (
        ["The fees are reasonable.",
         "I appreciate that the account has no monthly fee.",
         "The interest rate I got was very competitive.",
         "Your prices are fair compared to other banks.",
         "They waived the transfer fee for me."],
        ["The fees are outrageous.",
         "I was charged {amount} in fees I was never told about.",
         "The monthly account fee keeps going up.",
         "Your overdraft charges are far too high.",
         "Hidden charges everywhere.",
         "Paying {amount} for a simple transfer is absurd."],
    ),
    "C4": (
        ["The mobile app is easy to use.",
         "Online banking works smoothly.",
         "I can do everything from the app, which is great.",
         "The new app design is clean and fast.",
         "Transfers in the app go through instantly."],
        ["The app crashes every time I try to log in.",
         "Online banking was down again.",
         "The mobile app is slow and confusing.",
         "I couldn't make a transfer because the website kept showing errors.",
         "The app logged me out in the middle of a payment."],
    ),
    "C5": (
        ["My advisor {staff} really knew the products well.",
         "The advisor gave me clear, expert advice on my {product}.",
         "{staff} explained the investment options competently.",
         "I got very knowledgeable advice.",
         "The advisor answered all my questions with confidence."],
        ["The advisor didn't seem to know the basics of the {product}.",
         "{staff} gave me wrong information about my {product}.",
         "The advisor had to ask colleagues about every single question.",
         "I got contradictory advice from two advisors.",
         "Nobody could answer my question about the {product}."],
    ),
    "C6": (
        ["My issue was solved on the first call.",
         "They fixed the problem with my card right away.",
         "The blocked payment was sorted out the same day.",
         "{staff} took ownership and resolved everything.",
         "The error on my statement was corrected quickly."],
        ["My problem is still not solved after {days} days.",
         "Nobody took responsibility for fixing my issue.",
         "I was sent from one department to another without a solution.",
         "The mistake on my account was never corrected.",
         "They closed my complaint without resolving anything."],
    ),
    "C7": (
        ["The branch is conveniently located.",
         "The opening hours suit my schedule.",
         "Great that the {branch} branch is open on Saturdays.",
         "The branch was clean and easy to access.",
         "There was parking right in front of the branch."],
        ["The {branch} branch closes way too early.",
         "Another branch closed, now I have to drive {km} km.",
         "The branch is not open on Saturdays.",
         "There is no wheelchair access to the branch.",
         "The branch was closed during its posted opening hours."],
    ),
    "C8": (
        ["Everything was explained clearly.",
         "The letters and emails I receive are easy to understand.",
         "{staff} explained the contract in simple words.",
         "I always know where my request stands.",
         "The information was clear and transparent."],
        ["The letter I received was impossible to understand.",
         "Nobody explained the terms of the {product} clearly.",
         "I got three different answers to the same question.",
         "The emails are full of jargon.",
         "I was never informed about the changes to my account."],
    ),
    "C9": (
        ["The fraud team blocked a suspicious payment immediately.",
         "I feel my money is safe with you.",
         "My card was replaced within a day after it was stolen.",
         "The security checks are thorough.",
         "You called me right away about an unusual transaction."],
        ["Someone used my card and the bank did nothing for days.",
         "The fraudulent payment of {amount} was never refunded.",
         "I don't feel my account is secure.",
         "My card was blocked without warning while I was abroad.",
         "Nobody called me when suspicious transactions appeared."],
    ),
    "C10": (
        ["I got through on the hotline immediately.",
         "The phone support answered quickly.",
         "The call center agent picked up after a few seconds.",
         "Reaching someone by phone was easy."],
        ["I couldn't reach anyone on the phone.",
         "I was on hold for {minutes} minutes.",
         "The hotline hung up on me twice.",
         "The phone menu never lets you talk to a human.",
         "Nobody answers the phone at the branch."],
    ),
    "C11": (
        ["My mortgage was approved quickly.",
         "The loan application was simple.",
         "I got the credit I needed within {days} days.",
         "The loan conditions were fair."],
        ["My loan application has been pending for {days} days.",
         "The mortgage process was a bureaucratic nightmare.",
         "My credit request was refused without explanation.",
         "They changed the loan conditions at the last minute."],
    ),
    "C12": (
        ["Opening my account took only ten minutes.",
         "The paperwork was minimal.",
         "I opened my {product} fully online without hassle.",
         "Updating my address was quick and easy."],
        ["Opening an account required endless paperwork.",
         "I had to bring the same documents three times.",
         "It took {days} days to open a simple {product}.",
         "They lost my documents and I had to start over."],
    ),
}

_EMOTION_PHRASES: Dict[str, List[str]] = {
    "E1": ["I'm really happy.", "It made my day!", "I left the branch smiling.",
           "What a pleasure.", "I'm delighted.", "That made me very happy.",
           "Honestly a joy to deal with."],
    "E2": ["This is so frustrating.", "I'm fed up with this.", "It's really annoying.",
           "I'm tired of chasing you.", "Every time it's the same struggle.",
           "I'm exasperated.", "Such a hassle."],
    "E3": ["I'm furious.", "This makes me really angry.", "I am outraged by this treatment.",
           "Honestly I'm livid.", "It's infuriating.", "I'm absolutely fuming."],
    "E4": ["Thank you so much.", "I'm very grateful to {staff}.", "Many thanks to the team.",
           "I really appreciate the help.", "Big thanks for going the extra mile.",
           "I'm thankful for your support."],
    "E5": ["I expected more from you.", "I'm disappointed.", "What a letdown.",
           "I used to like this bank, not anymore.", "Sadly not the level I'm used to.",
           "It's a pity."],
    "E6": ["What a relief.", "I'm relieved it's finally sorted.", "A weight off my shoulders.",
           "I can breathe again.", "Glad that's over.", "Finally I can relax."],
    "E7": ["I'm worried about my money.", "This makes me nervous.",
           "I couldn't sleep because of this.", "I'm anxious about what happens next.",
           "I'm scared it will happen again.", "It's stressful not knowing."],
    "E8": ["I'm confused.", "I still don't understand what happened.",
           "It's not clear to me what I need to do.", "I'm puzzled by the explanations.",
           "Can someone explain this to me?", "I'm lost with all these steps."],
    "E9": ["I trust you with my savings.", "I know I can count on you.", "You are reliable.",
           "I feel confident with this bank.", "That's why I've stayed for {years} years.",
           "I feel in good hands."],
    "E10": ["I was pleasantly surprised.", "I didn't expect that at all.",
            "That was unexpected!", "Honestly, I was surprised.",
            "Wow, that came out of nowhere.", "I was amazed."],
    "E11": ["I can't wait any longer.", "I need this fixed now.",
            "How much longer do I have to wait?", "I'm running out of patience.",
            "Hurry up please.", "I've been waiting far too long."],
}

_EMOTION_POLARITY = {"E1": 1, "E2": -1, "E3": -1, "E4": 1, "E5": -1, "E6": 1, "E7": -1,
                     "E8": -1, "E9": 1, "E10": 0, "E11": -1}

# --------------------------------------------------------------------------- #
# Sampling distributions
# --------------------------------------------------------------------------- #

_SCORE_P = [0.10, 0.16, 0.22, 0.29, 0.23]
_P_NEGATIVE_CAUSE = {"S1": 0.96, "S2": 0.85, "S3": 0.5, "S4": 0.15, "S5": 0.04}
_N_CAUSES_P = [0.07, 0.50, 0.35, 0.08]
_N_EMOTIONS_P = [0.10, 0.50, 0.33, 0.07]

#                      C1   C2   C3   C4   C5   C6   C7   C8   C9  C10  C11  C12
_CAUSE_W_NEG = [2.5, 6.0, 5.0, 3.5, 2.0, 4.0, 1.5, 3.0, 1.5, 4.0, 1.5, 1.5]
_CAUSE_W_POS = [6.0, 2.5, 1.0, 3.5, 4.0, 3.5, 1.5, 2.0, 2.0, 1.5, 1.5, 1.5]

#                   E1   E2   E3   E4   E5   E6   E7   E8   E9  E10  E11
_EMOTION_W = {
    "S1": [0.0, 5.0, 5.0, 0.0, 3.0, 0.0, 2.0, 1.0, 0.0, 0.5, 2.5],
    "S2": [0.0, 5.0, 2.0, 0.3, 5.0, 0.3, 1.5, 2.0, 0.0, 0.5, 2.0],
    "S3": [0.5, 2.0, 0.3, 1.0, 2.5, 1.5, 1.0, 2.5, 0.5, 1.5, 1.0],
    "S4": [2.5, 0.3, 0.0, 3.0, 0.3, 2.0, 0.3, 0.3, 2.5, 1.5, 0.0],
    "S5": [4.0, 0.0, 0.0, 4.0, 0.0, 1.5, 0.0, 0.0, 3.0, 2.0, 0.0],
}

# (cause, polarity) -> {emotion: multiplier}; makes emotions follow causes
_CAUSE_EMOTION_BOOST: Dict[Tuple[str, int], Dict[str, float]] = {
    ("C2", -1): {"E11": 3.0, "E2": 1.5},
    ("C10", -1): {"E11": 2.5, "E2": 1.5},
    ("C9", -1): {"E7": 5.0},
    ("C9", 1): {"E6": 3.0, "E9": 2.0},
    ("C8", -1): {"E8": 4.0},
    ("C3", -1): {"E3": 1.8},
    ("C3", 1): {"E10": 2.0},
    ("C6", 1): {"E6": 2.5, "E4": 1.5},
    ("C6", -1): {"E2": 1.5},
    ("C1", 1): {"E4": 1.5, "E1": 1.5},
    ("C1", -1): {"E3": 1.5},
    ("C11", -1): {"E7": 2.0},
    ("C4", -1): {"E2": 1.5},
}

_CONTRAST = ["But ", "However, ", "On the other hand, ", "That said, "]
_ADDITIVE = ["Also, ", "And ", "Plus, "]


def _decap(template: str) -> str:
    first = template.split(" ", 1)[0]
    if template.startswith("{") or first in ("I", "I'm", "I've", "I'd", "I'll"):
        return template
    return template[0].lower() + template[1:]


def _make_answer(r: _Rand, score: str, causes: List[Tuple[str, int]],
                 emotions: List[str]) -> str:
    items: List[Tuple[str, int, bool]] = []  # (template, polarity, is_cause)
    for code, pol in causes:
        pos, neg = _CAUSE_PHRASES[code]
        items.append((r.pick(pos if pol > 0 else neg), pol, True))
    for code in emotions:
        items.append((r.pick(_EMOTION_PHRASES[code]), _EMOTION_POLARITY[code], False))
    r.shuffle(items)

    body: List[str] = []
    prev_pol = None
    for template, pol, is_cause in items:
        # connectors only in front of cause sentences ("However, the fees ...")
        if is_cause and prev_pol is not None:
            if pol != prev_pol and r.chance(0.55):
                template = r.pick(_CONTRAST) + _decap(template)
            elif pol == prev_pol and r.chance(0.12):
                template = r.pick(_ADDITIVE) + _decap(template)
        if pol != 0:
            prev_pol = pol
        s = _fill(template, _SLOTS, r)
        body.append(_typo(s, r) if r.chance(0.04) else s)

    parts: List[str] = []
    if not body or r.chance(0.65):
        parts.append(_fill(r.pick(_OVERALL[score]), _SLOTS, r))
    parts.extend(body)
    if r.chance(0.3):
        parts.append(r.pick(_RECOMMEND[score]))
    text = " ".join(parts)
    if r.chance(0.05):
        text = text.lower()
    return text


def load_survey(n_rows: int = 1500, seed: Optional[int] = 0) -> pd.DataFrame:
    """Generate the synthetic three-group satisfaction survey.

    Returns
    -------
    pandas.DataFrame
        Columns ``text`` (str), ``global_score`` (one of ``"S1"``..``"S5"``),
        ``emotions`` (list of ``"E1"``..``"E11"``) and ``causes`` (list of
        ``"C1"``..``"C12"``); list columns are sorted by code number and may be
        empty.  See :func:`survey_label_names` for the meaning of the codes.
    """
    if n_rows < 0:
        raise ValueError("n_rows must be >= 0")
    r = _Rand(seed)
    texts: List[str] = []
    scores: List[str] = []
    all_emotions: List[List[str]] = []
    all_causes: List[List[str]] = []
    for _ in range(n_rows):
        score = _SCORE_CODES[r.weighted_index(_SCORE_P)]

        # causes, each with a polarity (+1 praised / -1 criticised)
        n_c = r.weighted_index(_N_CAUSES_P)
        causes: List[Tuple[str, int]] = []
        used = set()
        for _k in range(n_c):
            pol = -1 if r.chance(_P_NEGATIVE_CAUSE[score]) else 1
            w = list(_CAUSE_W_NEG if pol < 0 else _CAUSE_W_POS)
            for i, code in enumerate(_CAUSE_CODES):
                if code in used:
                    w[i] = 0.0
            code = _CAUSE_CODES[r.weighted_index(w)]
            used.add(code)
            causes.append((code, pol))

        # emotions, conditioned on the score and on the causes
        weights = list(_EMOTION_W[score])
        for cp in causes:
            for emo, mult in _CAUSE_EMOTION_BOOST.get(cp, {}).items():
                weights[_EMOTION_CODES.index(emo)] *= mult
        n_e = min(r.weighted_index(_N_EMOTIONS_P), sum(1 for w in weights if w > 0))
        emotions: List[str] = []
        for _k in range(n_e):
            i = r.weighted_index(weights)
            emotions.append(_EMOTION_CODES[i])
            weights[i] = 0.0

        texts.append(_make_answer(r, score, causes, emotions))

        emo_labels = sorted(emotions, key=_EMOTION_CODES.index)
        cause_labels = sorted((c for c, _ in causes), key=_CAUSE_CODES.index)
        # light annotation noise: occasionally one label is forgotten
        if len(emo_labels) >= 2 and r.chance(0.04):
            emo_labels.pop(r.randint(0, len(emo_labels) - 1))
        if len(cause_labels) >= 2 and r.chance(0.04):
            cause_labels.pop(r.randint(0, len(cause_labels) - 1))
        scores.append(score)
        all_emotions.append(emo_labels)
        all_causes.append(cause_labels)
    return pd.DataFrame({"text": texts, "global_score": scores,
                         "emotions": all_emotions, "causes": all_causes})


def survey_label_names(group: Optional[str] = None) -> Dict[str, str]:
    """Human-readable names of the survey label codes.

    With ``group=None`` a flat mapping over all groups is returned (codes are
    unique across groups, e.g. ``{"S1": "very dissatisfied", "E1": "joy",
    "C1": "staff friendliness", ...}``); with ``group`` one of
    :data:`SURVEY_GROUPS` only that group's mapping.
    """
    by_group = {"global_score": SURVEY_SCORES, "emotions": SURVEY_EMOTIONS,
                "causes": SURVEY_CAUSES}
    if group is None:
        out: Dict[str, str] = {}
        for mapping in by_group.values():
            out.update(mapping)
        return out
    if group not in by_group:
        raise KeyError("unknown survey group %r (expected one of %s)"
                       % (group, sorted(by_group)))
    return dict(by_group[group])


def write_survey(path: Union[str, os.PathLike], n_rows: int = 1500,
                 seed: Optional[int] = 0, label_sep: str = "|") -> str:
    """Write the survey as CSV (columns ``text,global_score,emotions,causes``).

    List columns are joined with ``label_sep`` (empty field when no label).
    Returns the path written.
    """
    df = load_survey(n_rows=n_rows, seed=seed)
    return _write_csv(df, path, ["emotions", "causes"], label_sep)
