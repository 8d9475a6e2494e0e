"""Bundled demo datasets of kmlc.

The datasets are generated deterministically by seeded code (no data files
are shipped and no network access is needed):

* :func:`load_support_tickets` -- multi-label customer-support messages, the
  default dataset of ``kmlc train``;
* :func:`load_survey` -- satisfaction survey with one multiclass group
  (``global_score``) and two multi-label groups (``emotions``, ``causes``).
"""

from .support_tickets import (
    SUPPORT_TICKET_LABELS,
    load_support_tickets,
    support_tickets_label_descriptions,
    write_support_tickets,
)
from .survey import (
    SURVEY_CAUSES,
    SURVEY_EMOTIONS,
    SURVEY_GROUPS,
    SURVEY_SCORES,
    load_survey,
    survey_label_names,
    write_survey,
)

DEMO_DATASETS = {
    "support_tickets": load_support_tickets,
    "survey": load_survey,
}

__all__ = [
    "DEMO_DATASETS",
    "SUPPORT_TICKET_LABELS",
    "SURVEY_CAUSES",
    "SURVEY_EMOTIONS",
    "SURVEY_GROUPS",
    "SURVEY_SCORES",
    "load_support_tickets",
    "load_survey",
    "support_tickets_label_descriptions",
    "survey_label_names",
    "write_support_tickets",
    "write_survey",
]
