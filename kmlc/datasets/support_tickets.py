"""Synthetic customer-support messages (multi-label demo dataset).

The data is *generated* deterministically from a seed (no files are shipped,
no network access).  Messages mimic what an online shop / SaaS help desk
receives: 16 labels with a long-tailed frequency distribution, realistic label
co-occurrence (refund with damaged_item, account_access with password_reset,
cancellation with pricing, ...), rows without any label (greetings, follow
ups), rows with three or more labels, and some noise (ambiguous sentences,
typos, a few missing labels) so that a classifier does well but not perfectly.

Example
-------
>>> from kmlc.datasets import load_support_tickets
>>> df = load_support_tickets(n_rows=500, seed=1)
>>> list(df.columns)
['text', 'labels']
"""

from __future__ import annotations

import csv
import os
import re
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

__all__ = [
    "SUPPORT_TICKET_LABELS",
    "load_support_tickets",
    "write_support_tickets",
    "support_tickets_label_descriptions",
]

# --------------------------------------------------------------------------- #
# Small deterministic helpers (shared with survey.py)
# --------------------------------------------------------------------------- #


class _Rand:
    """Fast deterministic random helper built on a numpy Generator.

    Uniform draws are produced in batches so that per-call overhead stays small
    (the whole 2,000-row dataset is generated in well under a second).
    """

    def __init__(self, seed: Optional[int]):
        self._rng = np.random.default_rng(seed)
        self._buf = self._rng.random(8192)
        self._i = 0

    def u(self) -> float:
        if self._i >= self._buf.shape[0]:
            self._buf = self._rng.random(8192)
            self._i = 0
        v = float(self._buf[self._i])
        self._i += 1
        return v

    def chance(self, p: float) -> bool:
        return self.u() < p

    def randint(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi] (inclusive)."""
        return lo + min(int(self.u() * (hi - lo + 1)), hi - lo)

    def pick(self, seq: Sequence):
        return seq[min(int(self.u() * len(seq)), len(seq) - 1)]

    def weighted_index(self, weights: Sequence[float]) -> int:
        total = float(sum(weights))
        r = self.u() * total
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if r < acc:
                return i
        # float rounding: last positive weight
        for i in range(len(weights) - 1, -1, -1):
            if weights[i] > 0:
                return i
        raise ValueError("all weights are zero")

    def shuffle(self, items: List) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.randint(0, i)
            items[i], items[j] = items[j], items[i]


_SLOT_RE = re.compile(r"\{(\w+)\}")


def _fill(template: str, slots: Dict[str, Callable[["_Rand"], str]], r: _Rand) -> str:
    return _SLOT_RE.sub(lambda m: slots[m.group(1)](r), template)


def _typo(sentence: str, r: _Rand) -> str:
    """Introduce one realistic typo (swap, drop or double a letter)."""
    words = sentence.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return sentence
    i = r.pick(candidates)
    w = words[i]
    k = r.randint(1, len(w) - 2)
    kind = r.randint(0, 2)
    if kind == 0:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    elif kind == 1:
        w = w[:k] + w[k + 1:]
    else:
        w = w[:k] + w[k] + w[k:]
    words[i] = w
    return " ".join(words)


# --------------------------------------------------------------------------- #
# Labels
# --------------------------------------------------------------------------- #

# Ordered from most to least frequent (Zipf-like sampling weights below).
SUPPORT_TICKET_LABELS: List[str] = [
    "billing",
    "shipping_delay",
    "refund",
    "account_access",
    "bug_report",
    "password_reset",
    "cancellation",
    "damaged_item",
    "pricing",
    "feature_request",
    "mobile_app",
    "invoice_request",
    "integration_api",
    "data_privacy",
    "gdpr_deletion",
    "accessibility",
]

_LABEL_DESCRIPTIONS: Dict[str, str] = {
    "billing": "Charges, payments, duplicate or unexpected debits, payment methods.",
    "shipping_delay": "Orders or parcels that are late, lost or stuck in transit.",
    "refund": "Requests for money back or questions about refund status.",
    "account_access": "Cannot log in, locked or suspended account, 2FA/SSO problems.",
    "bug_report": "Something in the product is broken, crashes or shows errors.",
    "password_reset": "Forgotten passwords, reset links and password changes.",
    "cancellation": "Cancelling a subscription, contract or an order.",
    "damaged_item": "Items that arrived broken, defective or incomplete.",
    "pricing": "Prices, plans, discounts, coupons and quotes.",
    "feature_request": "Suggestions and requests for new functionality.",
    "mobile_app": "Problems or questions about the iOS/Android mobile app.",
    "invoice_request": "Requests for invoices, receipts, credit notes or invoice fixes.",
    "integration_api": "API, webhooks, tokens and third-party integrations.",
    "data_privacy": "How personal data is stored, shared or used; consent and opt-outs.",
    "gdpr_deletion": "Requests to erase personal data / delete the account (GDPR).",
    "accessibility": "Screen readers, contrast, keyboard navigation, captions, etc.",
}

# Relative sampling weights (long tail: head ~28% of rows, tail ~1.5%).
_BASE_WEIGHTS: Dict[str, float] = {
    "billing": 27.0,
    "shipping_delay": 24.0,
    "refund": 16.0,
    "account_access": 13.0,
    "bug_report": 12.0,
    "password_reset": 7.0,
    "cancellation": 7.0,
    "damaged_item": 6.0,
    "pricing": 5.5,
    "feature_request": 5.0,
    "mobile_app": 3.6,
    "invoice_request": 3.2,
    "integration_api": 2.8,
    "data_privacy": 2.4,
    "gdpr_deletion": 1.5,
    "accessibility": 1.7,
}

# Symmetric affinity boosts used when drawing the 2nd, 3rd... label of a row.
_AFFINITY: Dict[tuple, float] = {
    ("refund", "damaged_item"): 9.0,
    ("account_access", "password_reset"): 14.0,
    ("cancellation", "pricing"): 8.0,
    ("data_privacy", "gdpr_deletion"): 12.0,
    ("billing", "invoice_request"): 5.0,
    ("bug_report", "mobile_app"): 6.0,
    ("bug_report", "integration_api"): 5.0,
    ("refund", "shipping_delay"): 2.5,
    ("refund", "cancellation"): 3.0,
    ("refund", "billing"): 1.5,
    ("cancellation", "billing"): 2.0,
    ("billing", "pricing"): 1.5,
    ("gdpr_deletion", "cancellation"): 4.0,
    ("feature_request", "mobile_app"): 2.0,
    ("feature_request", "pricing"): 2.0,
    ("accessibility", "mobile_app"): 3.0,
    ("accessibility", "bug_report"): 1.0,
    ("account_access", "mobile_app"): 2.0,
    ("shipping_delay", "damaged_item"): 1.5,
    ("invoice_request", "integration_api"): 1.0,
}

# --------------------------------------------------------------------------- #
# Slots
# --------------------------------------------------------------------------- #

_PRODUCTS = [
    "wireless headphones", "coffee machine", "standing desk", "laptop sleeve",
    "smart watch", "blender", "office chair", "phone case", "USB-C hub",
    "backpack", "desk lamp", "mechanical keyboard", "water bottle",
    "running shoes", "air purifier", "bluetooth speaker", "winter jacket",
    "monitor", "webcam", "yoga mat", "kettle", "vacuum cleaner",
]
_PLANS = ["Basic", "Starter", "Pro", "Premium", "Business", "Team", "Enterprise", "Plus"]
_PLATFORMS = ["iOS", "Android", "iPhone", "Samsung", "Pixel", "iPad"]
_BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]
_INTEGRATIONS = ["Shopify", "Salesforce", "Slack", "Zapier", "HubSpot", "QuickBooks",
                 "Google Sheets", "Stripe", "Xero", "Mailchimp"]
_FEATURES = ["a dark mode", "two-way calendar sync", "recurring orders", "custom fields",
             "a public roadmap", "multi-language support", "bulk import", "SAML login"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]
_NAMES = ["Anna", "Tom", "Maria", "Lukas", "Sophie", "David", "Chen", "Fatima",
          "Paul", "Elena", "Jonas", "Priya", "Marco", "Laura", "Omar", "Julia"]
_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "company.com", "mail.de", "proton.me"]


def _slot_order(r: _Rand) -> str:
    style = r.randint(0, 2)
    if style == 0:
        return "#%d" % r.randint(100000, 999999)
    if style == 1:
        return "%s-%d" % (r.pick(["ORD", "A", "SO", "WEB"]), r.randint(10000, 99999))
    return "%d" % r.randint(1000000, 9999999)


def _slot_amount(r: _Rand) -> str:
    cur = r.pick(["$", "EUR ", "\u20ac", "\u00a3", "$"])
    value = r.randint(5, 480) + r.pick([0.0, 0.99, 0.5, 0.0, 0.49])
    txt = ("%.2f" % value) if value % 1 else ("%d" % value)
    if cur == "EUR ":
        return "%s EUR" % txt
    return "%s%s" % (cur, txt)


def _slot_date(r: _Rand) -> str:
    style = r.randint(0, 3)
    day = r.randint(1, 28)
    month = r.randint(1, 12)
    if style == 0:
        return "%s %d" % (_MONTHS[month - 1], day)
    if style == 1:
        return "%02d/%02d" % (month, day)
    if style == 2:
        return r.pick(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "last week",
                       "yesterday", "the weekend"])
    return "%d %s" % (day, _MONTHS[month - 1])


def _slot_email(r: _Rand) -> str:
    name = r.pick(_NAMES).lower()
    sep = r.pick([".", "_", ""])
    return "%s%s%d@%s" % (name, sep, r.randint(1, 99), r.pick(_DOMAINS))


_SLOTS: Dict[str, Callable[[_Rand], str]] = {
    "order": _slot_order,
    "product": lambda r: r.pick(_PRODUCTS),
    "plan": lambda r: r.pick(_PLANS),
    "platform": lambda r: r.pick(_PLATFORMS),
    "browser": lambda r: r.pick(_BROWSERS),
    "integration": lambda r: r.pick(_INTEGRATIONS),
    "feature": lambda r: r.pick(_FEATURES),
    "amount": _slot_amount,
    "date": _slot_date,
    "email": _slot_email,
    "name": lambda r: r.pick(_NAMES),
    "days": lambda r: str(r.randint(4, 30)),
    "invoice": lambda r: "INV-%d" % r.randint(2020001, 2025999),
    "year": lambda r: str(r.randint(2019, 2025)),
}

# --------------------------------------------------------------------------- #
# Phrase banks
# --------------------------------------------------------------------------- #

_PHRASES: Dict[str, List[str]] = {
    "billing": [
        "I was charged twice for my {plan} subscription this month.",
        "There is a charge of {amount} on my card that I don't recognize.",
        "My credit card was billed {amount} on {date} but I expected a lower amount.",
        "Why did my monthly bill go up to {amount}?",
        "The payment for order {order} was taken twice from my account.",
        "I need to update the credit card on file, the old one expired.",
        "Your system keeps declining my card even though it is valid.",
        "I see a duplicate transaction of {amount} on my bank statement.",
        "Can you explain the extra {amount} fee on my last statement?",
        "My payment failed and now my account shows an outstanding balance.",
        "I was billed for the annual {plan} plan instead of the monthly one.",
        "The auto-renewal charged me {amount} without any warning.",
        "Please switch my payment method to PayPal instead of the card.",
        "The amount debited on {date} doesn't match what was shown at checkout.",
        "Billing says I owe {amount} but I paid in full last month.",
        "I got charged after my free trial ended even though I never upgraded.",
        "You charged my company card instead of my personal one.",
        "My bank flagged a payment of {amount} from you as suspicious.",
    ],
    "refund": [
        "I would like a refund for order {order}.",
        "Please send me my money back for the {product}.",
        "I returned the {product} {days} days ago and still haven't received my refund.",
        "When will the refund of {amount} show up on my card?",
        "You promised a refund on {date} but nothing has arrived yet.",
        "I want to return the {product} and get a full refund.",
        "Can I get reimbursed for the {amount} I paid?",
        "The refund I received was only partial, I paid {amount}.",
        "How long does it take to process a refund?",
        "I sent the item back with the prepaid label, please confirm the refund.",
        "I'd like my money returned to the original payment method.",
        "The return was accepted but the refund status still says pending.",
        "Please reverse the payment for order {order}, I never wanted it.",
        "Is it possible to get a refund for the unused months of my plan?",
        "I'm requesting a refund because the product did not match the description.",
        "Your return policy says 30 days, so I expect my money back.",
        "I'd rather have the money back than a store credit.",
    ],
    "shipping_delay": [
        "My order {order} still hasn't arrived.",
        "The tracking for order {order} hasn't updated since {date}.",
        "It's been {days} days and my package is still not here.",
        "The estimated delivery date was {date} and I still have nothing.",
        "Where is my package? Tracking has said in transit for a week.",
        "My parcel seems to be stuck at the distribution center.",
        "The courier marked the order as delivered but I never got it.",
        "Could you check what's going on with the shipment of my {product}?",
        "I paid for express shipping but the {product} is late.",
        "The delivery keeps getting postponed.",
        "I need the {product} by {date}, will it arrive in time?",
        "The tracking number isn't working, it says no information available.",
        "My order shows as shipped but the carrier has no record of it.",
        "Delivery was supposed to take 3-5 days, it's been two weeks.",
        "Any update on when my order will be dispatched?",
        "The parcel was sent to the wrong depot and is now delayed.",
        "My {product} was supposed to be here {date}, still waiting.",
    ],
    "damaged_item": [
        "The {product} arrived broken.",
        "The box was crushed and the {product} inside is cracked.",
        "The {product} I received is damaged, there's a deep scratch on it.",
        "One part of the {product} was missing and another one was bent.",
        "The {product} doesn't turn on, it seems defective out of the box.",
        "The item arrived with a big dent on the side.",
        "The glass of the {product} was shattered when I opened the package.",
        "The packaging was soaked and the {product} is ruined.",
        "I received a used-looking {product} with scuffs all over it.",
        "The {product} stopped working after one day, it's faulty.",
        "There's a crack in the casing of the {product}.",
        "I attached photos of the damage to the {product}.",
        "The {product} came with a torn cable and a broken charger.",
        "Half of the items in order {order} were smashed.",
        "The seal was broken and the {product} was leaking.",
        "The {product} has a manufacturing defect, the button is stuck.",
    ],
    "account_access": [
        "I can't log in to my account.",
        "My account has been locked after too many login attempts.",
        "I keep getting 'invalid credentials' even though my details are correct.",
        "I haven't been able to access my account since {date}.",
        "The two-factor code never arrives so I'm stuck at the login screen.",
        "My account says it's suspended and I don't know why.",
        "I lost access to the email linked to my account, {email}.",
        "The login page just spins forever and never lets me in.",
        "I think someone else logged into my account, I see sessions I don't recognize.",
        "I changed phones and now my authenticator doesn't work for sign in.",
        "The system says no account exists for {email} but I've been a customer for years.",
        "I'm locked out of my account and need urgent access.",
        "Single sign-on stopped working for our team this morning.",
        "Can you unlock my account please?",
        "Every time I sign in I'm logged out again after a few seconds.",
        "My colleague can't sign in to our shared workspace anymore.",
    ],
    "password_reset": [
        "The password reset link doesn't work.",
        "I never receive the reset password email at {email}.",
        "I forgot my password and the reset page gives an error.",
        "The reset link says it has expired even though I just requested it.",
        "How do I change my password?",
        "I need to reset my password but I no longer have my old phone number.",
        "After resetting my password I still can't get in.",
        "Your new password rules won't accept anything I type.",
        "Please send me a new password reset link.",
        "The 'forgot password' button does nothing when I click it.",
        "I reset my password three times today and it keeps asking again.",
        "I want to set a stronger password but the settings page won't save it.",
        "The reset email landed in spam and the link was broken.",
        "The temporary password you sent me doesn't work.",
        "Can you reset the password for {email}?",
    ],
    "bug_report": [
        "The checkout page crashes when I click 'Pay now'.",
        "There's a bug in the dashboard, the charts show no data since {date}.",
        "I get an error 500 when I try to save my settings.",
        "The export to CSV button produces an empty file.",
        "The page freezes in {browser} whenever I open the reports tab.",
        "Search results are wrong, they show items from other categories.",
        "After the last update the site throws an unexpected error.",
        "Images are not loading on the product page.",
        "The filter settings reset every time I reload the page.",
        "I found a bug: the cart total does not match the sum of the items.",
        "The upload gets stuck at 99% and never finishes.",
        "Notifications are sent twice for every event.",
        "The date picker shows the wrong month in {browser}.",
        "Something is broken with the editor, text disappears when I type fast.",
        "Steps to reproduce: open settings, click save, and the page goes blank.",
        "The report totals are off by one day because of a timezone bug.",
        "I get a blank white screen in {browser} after the latest release.",
    ],
    "feature_request": [
        "It would be great if you could add a dark mode.",
        "Please consider adding an option to export reports as PDF.",
        "Could you add support for multiple currencies?",
        "Feature request: let us schedule reports to be sent weekly.",
        "I'd love to be able to filter orders by date range.",
        "Are you planning to offer bulk editing anytime soon?",
        "It would help a lot to have keyboard shortcuts in the editor.",
        "Please add the possibility to tag team members in comments.",
        "Could you make it possible to save custom views?",
        "We really need a calendar view for our tasks.",
        "Suggestion: allow us to customize the email templates.",
        "Any chance of adding {feature} in a future release?",
        "It would be nice to have a wishlist that I can share.",
        "Please allow more than five users on the {plan} plan.",
        "I'd like to request an offline mode.",
        "Would you consider building {feature}? Many of us would use it.",
    ],
    "cancellation": [
        "I want to cancel my subscription.",
        "Please cancel my {plan} plan at the end of the billing period.",
        "How do I close my account? I can't find the option.",
        "Please cancel order {order}, I ordered it by mistake.",
        "I'd like to stop my membership effective immediately.",
        "Please make sure I won't be charged again after cancelling.",
        "I tried to cancel online but the button doesn't do anything.",
        "We are moving to another provider and need to terminate our contract.",
        "Please don't renew my subscription next month.",
        "I want to unsubscribe from the {plan} plan.",
        "Can I cancel the order before it ships?",
        "Please confirm that my subscription has been cancelled.",
        "I no longer need the service, please end my contract.",
        "Is there a cancellation fee if I leave before the end of the year?",
        "Cancel my account and stop the recurring payments.",
    ],
    "pricing": [
        "Why did the price of the {plan} plan go up?",
        "Do you offer a discount for annual payment?",
        "Is there a cheaper plan for small teams?",
        "The price on the website was lower than what I paid at checkout.",
        "Do you have student or nonprofit pricing?",
        "Your competitors are much cheaper for the same features.",
        "How much would it cost to upgrade to the {plan} plan?",
        "The new pricing is too expensive for us.",
        "Is the {amount} price per user or for the whole team?",
        "My promo code says invalid, can I still use it?",
        "What's the difference in cost between monthly and yearly?",
        "The discount coupon wasn't applied to my order.",
        "I'd like a quote for 50 seats.",
        "Do your prices include VAT?",
        "Will my current price be locked in if I renew?",
        "A {amount} increase per month is not acceptable for the {plan} tier.",
    ],
    "mobile_app": [
        "The {platform} app crashes right after opening.",
        "I can't find the settings in the mobile app.",
        "The app on my {platform} phone won't load anything.",
        "Push notifications stopped working on {platform}.",
        "After updating the app on {platform}, it keeps freezing.",
        "The mobile app logs me out constantly.",
        "The app won't install from the store on my {platform} device.",
        "The app drains my battery really fast.",
        "Scanning the barcode in the app doesn't work.",
        "The mobile app shows different prices than the website.",
        "Is there a tablet version of the app?",
        "The app is very slow on {platform}.",
        "I can't upload photos from the app.",
        "The latest app version removed the offline feature.",
        "The widget on my {platform} home screen shows old data.",
    ],
    "invoice_request": [
        "Could you send me an invoice for order {order}?",
        "I need a VAT invoice with our company name on it.",
        "Where can I download my invoices?",
        "Please add our tax ID to the invoice.",
        "Invoice {invoice} has the wrong billing address.",
        "I need copies of all invoices for {year}.",
        "Can you reissue invoice {invoice} with our company name?",
        "Our accounting department needs a receipt for the {amount} payment.",
        "The invoice PDF won't open.",
        "Please send the invoice to our finance team at {email}.",
        "Can you issue a credit note for invoice {invoice}?",
        "I need an itemized invoice for my expense report.",
        "The invoice shows the wrong currency.",
        "Invoices are not showing up in my account anymore.",
    ],
    "integration_api": [
        "The API returns 401 unauthorized even with a valid key.",
        "Our webhook stopped receiving events on {date}.",
        "The {integration} integration is not syncing anymore.",
        "Is there an API endpoint to list all invoices?",
        "We hit the rate limit constantly, can it be increased?",
        "The API documentation for pagination seems outdated.",
        "How do I generate a new API token?",
        "The {integration} connector duplicates every record.",
        "Our {integration} automation fails with a timeout error.",
        "The REST endpoint /orders returns an empty list.",
        "Can we connect your platform to {integration}?",
        "The OAuth callback fails with an invalid redirect URI.",
        "Is there an SDK for Python or Node?",
        "The sync with {integration} has been stuck for hours.",
        "The JSON payload from your webhook is missing the customer field.",
    ],
    "data_privacy": [
        "What personal data do you store about me?",
        "Who do you share my data with?",
        "I'm concerned about how my information is used for marketing.",
        "I keep receiving marketing emails even though I opted out.",
        "Is my data stored on servers inside the EU?",
        "Please send me your privacy policy and data processing agreement.",
        "Why does the app need access to my contacts and location?",
        "I want to opt out of tracking cookies.",
        "Can you confirm my payment details are encrypted?",
        "I think my data was leaked, I'm getting spam at {email}.",
        "Do you sell customer information to third parties?",
        "We need a signed DPA before rolling out to our team.",
        "How long do you keep my order history and address?",
        "I don't consent to my data being used for analytics.",
    ],
    "gdpr_deletion": [
        "Please delete my account and all my personal data.",
        "Under GDPR I request the erasure of all data you hold about me.",
        "I want you to permanently remove my information from your systems.",
        "Please confirm once my data has been deleted.",
        "I'm exercising my right to be forgotten.",
        "Remove my email {email} from all your databases.",
        "Delete all my order history and stored addresses.",
        "I sent a deletion request on {date} and got no confirmation.",
        "How do I request that all my data is erased?",
        "Please wipe my profile, I no longer want to be your customer.",
        "I request deletion of my personal data within 30 days as required by law.",
        "Make sure my payment information is deleted as well.",
    ],
    "accessibility": [
        "Your website doesn't work well with my screen reader.",
        "The text is too small and there is no way to enlarge it.",
        "The color contrast on the checkout page makes it hard for me to read.",
        "I can't navigate the site using only the keyboard.",
        "The captcha is impossible for visually impaired users.",
        "Please add captions to your tutorial videos.",
        "The buttons in the app have no labels for VoiceOver.",
        "I am colorblind and cannot tell the status colors apart.",
        "Could you provide an accessible version of your documents?",
        "The animations make me dizzy, is there a way to reduce motion?",
        "Your forms are not compatible with assistive technology.",
        "I have a disability and need an alternative way to contact support.",
        "The font is hard to read with dyslexia.",
        "Focus jumps around the page when I use the tab key.",
    ],
}

# Vague sentences with vocabulary shared between related labels.  A small
# fraction of label-evoking sentences is replaced by one of these, which makes
# the task not trivially separable.
_AMBIGUOUS: Dict[str, List[str]] = {
    "money": [
        "Something is wrong with my payment.",
        "I have a question about the money I paid.",
        "The amount on my account looks wrong.",
        "Please look into the payment for order {order}.",
        "I don't understand what I'm paying for.",
    ],
    "order": [
        "There's a problem with my order {order}.",
        "My {product} order is not what I expected.",
        "I'm not happy with how order {order} went.",
        "Something went wrong with my delivery.",
    ],
    "login": [
        "I have trouble with my account.",
        "My account isn't working properly.",
        "I can't get into the app.",
        "Something is off with my profile settings.",
    ],
    "tech": [
        "Something isn't working properly.",
        "It doesn't work since the update.",
        "I get an error message and don't know what to do.",
        "The tool behaves strangely since {date}.",
    ],
    "data": [
        "I have a question about my data.",
        "What happens to my information?",
        "Please handle my personal details carefully.",
    ],
    "contract": [
        "I'm thinking about leaving.",
        "I'm not sure the {plan} plan is worth it anymore.",
        "I want to change my plan.",
    ],
    "product": [
        "I have a suggestion about the website.",
        "The website is hard to use for me.",
    ],
}

_AMBIGUOUS_GROUP: Dict[str, str] = {
    "billing": "money", "refund": "money", "pricing": "contract", "invoice_request": "money",
    "shipping_delay": "order", "damaged_item": "order",
    "account_access": "login", "password_reset": "login",
    "bug_report": "tech", "mobile_app": "tech", "integration_api": "tech",
    "data_privacy": "data", "gdpr_deletion": "data",
    "cancellation": "contract",
    "feature_request": "product", "accessibility": "product",
}

# Sentences that evoke no label (follow ups, greetings, context).
_NO_LABEL: List[str] = [
    "Just following up on my previous email.",
    "Thanks for the quick help yesterday!",
    "Can someone call me back please?",
    "I have a quick question.",
    "Is anyone there?",
    "Please see my message below.",
    "I already wrote to you last week.",
    "Thank you, the problem is solved now.",
    "Test message, please ignore.",
    "Could you give me a call at your earliest convenience?",
    "I'm writing on behalf of my colleague {name}.",
    "Great service, keep it up!",
    "What are your opening hours for phone support?",
    "Sorry for the double message.",
    "My reference number is {order}.",
    "I spoke with {name} on the phone earlier.",
    "Never mind, I figured it out.",
    "Can you forward this to the right team?",
    "Is there a phone number I can reach you at?",
    "Just wanted to say your team has been very helpful.",
    "I'm not sure whom to contact about this.",
    "Please reply in English.",
]

_CONTEXT: List[str] = [
    "I already contacted you twice about this.",
    "This is the second time this happens.",
    "I have been a customer for {days} months.",
    "My customer email is {email}.",
    "I'm writing from my work address.",
    "This is quite urgent for me.",
    "My order number is {order} in case you need it.",
    "I hope you can help.",
    "I chatted with {name} but the issue is not resolved.",
    "Sorry if this is the wrong channel.",
]

_OPENERS: List[str] = [
    "Hi,", "Hello,", "Hello team,", "Dear support,", "Hey there,", "Good morning,",
    "Hi there,", "Dear Sir or Madam,", "Hi support team,", "Hello again,", "Hey,",
    "Good afternoon,", "To whom it may concern,",
]

_CLOSERS: List[str] = [
    "Thanks.", "Thank you in advance.", "Regards, {name}", "Please help.",
    "Looking forward to your reply.", "Cheers, {name}", "Best, {name}",
    "Thanks for your help!", "This is urgent!", "Kind regards.",
    "Please get back to me asap.", "Thank you!", "Sent from my phone",
]


# --------------------------------------------------------------------------- #
# Generation
# --------------------------------------------------------------------------- #

_N_LABELS_P = [0.05, 0.34, 0.545, 0.055, 0.01]  # P(0..4 labels)


def _affinity_matrix() -> np.ndarray:
    idx = {lab: i for i, lab in enumerate(SUPPORT_TICKET_LABELS)}
    m = np.zeros((len(idx), len(idx)))
    for (a, b), v in _AFFINITY.items():
        m[idx[a], idx[b]] = v
        m[idx[b], idx[a]] = v
    return m


def _draw_labels(r: _Rand, base: List[float], aff: np.ndarray) -> List[int]:
    k = r.weighted_index(_N_LABELS_P)
    chosen: List[int] = []
    for _ in range(k):
        weights = []
        for j, w in enumerate(base):
            if j in chosen:
                weights.append(0.0)
            else:
                boost = 1.0 + sum(aff[i, j] for i in chosen)
                weights.append(w * boost)
        chosen.append(r.weighted_index(weights))
    return chosen


def _finish_text(parts: List[str], r: _Rand) -> str:
    text = " ".join(p for p in parts if p)
    style = r.u()
    if style < 0.06:
        text = text.lower()
    elif style < 0.09:
        text = text.rstrip(".")
    return text


def _make_ticket(r: _Rand, labels: List[str]) -> str:
    body: List[str] = []
    if not labels:
        n = r.weighted_index([0.55, 0.35, 0.10]) + 1
        pool = list(_NO_LABEL)
        for _ in range(n):
            s = r.pick(pool)
            pool.remove(s)
            body.append(_fill(s, _SLOTS, r))
    else:
        for lab in labels:
            n_sent = 2 if (len(labels) <= 2 and r.chance(0.22)) else 1
            bank = _PHRASES[lab]
            first = r.randint(0, len(bank) - 1)
            idxs = [first]
            if n_sent == 2:
                second = r.randint(0, len(bank) - 2)
                if second >= first:
                    second += 1
                idxs.append(second)
            for i in idxs:
                if r.chance(0.06):
                    s = r.pick(_AMBIGUOUS[_AMBIGUOUS_GROUP[lab]])
                else:
                    s = bank[i]
                body.append(_fill(s, _SLOTS, r))
        r.shuffle(body)
        if len(body) < 4 and r.chance(0.22):
            ctx = _fill(r.pick(_CONTEXT), _SLOTS, r)
            if r.chance(0.5):
                body.insert(0, ctx)
            else:
                body.append(ctx)
    body = [_typo(s, r) if r.chance(0.05) else s for s in body]
    parts: List[str] = []
    if r.chance(0.55):
        parts.append(r.pick(_OPENERS))
    parts.extend(body)
    if r.chance(0.45):
        parts.append(_fill(r.pick(_CLOSERS), _SLOTS, r))
    return _finish_text(parts, r)


def load_support_tickets(n_rows: int = 2000, seed: Optional[int] = 0) -> pd.DataFrame:
    """Generate the synthetic customer-support dataset.

    Parameters
    ----------
    n_rows : int
        Number of messages to generate.
    seed : int
        Random seed; the same seed always yields the identical frame.

    Returns
    -------
    pandas.DataFrame
        Columns ``text`` (str) and ``labels`` (list of str, possibly empty,
        ordered as in :data:`SUPPORT_TICKET_LABELS`).
    """
    if n_rows < 0:
        raise ValueError("n_rows must be >= 0")
    r = _Rand(seed)
    base = [_BASE_WEIGHTS[lab] for lab in SUPPORT_TICKET_LABELS]
    aff = _affinity_matrix()
    texts: List[str] = []
    all_labels: List[List[str]] = []
    for _ in range(n_rows):
        idx = _draw_labels(r, base, aff)
        true_labels = [SUPPORT_TICKET_LABELS[i] for i in sorted(idx)]
        texts.append(_make_ticket(r, [SUPPORT_TICKET_LABELS[i] for i in idx]))
        # label noise: the annotator occasionally forgets one label
        if len(true_labels) >= 2 and r.chance(0.06):
            true_labels.pop(r.randint(0, len(true_labels) - 1))
        all_labels.append(true_labels)
    return pd.DataFrame({"text": texts, "labels": all_labels})


def support_tickets_label_descriptions() -> Dict[str, str]:
    """Return a dict ``label -> one-line description`` for the support tickets."""
    return dict(_LABEL_DESCRIPTIONS)


def _write_csv(df: pd.DataFrame, path: Union[str, os.PathLike], list_columns: Sequence[str],
               label_sep: str) -> str:
    out = df.copy()
    for col in list_columns:
        out[col] = [label_sep.join(v) for v in out[col]]
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    out.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


def write_support_tickets(path: Union[str, os.PathLike], n_rows: int = 2000,
                          seed: Optional[int] = 0, label_sep: str = "|") -> str:
    """Write the support-ticket dataset as CSV (columns ``text,labels``).

    Labels are joined with ``label_sep``; rows without labels get an empty
    field.  Returns the path written.
    """
    df = load_support_tickets(n_rows=n_rows, seed=seed)
    return _write_csv(df, path, ["labels"], label_sep)
