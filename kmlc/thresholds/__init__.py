"""Decision-threshold policies for multi-label classifiers (pure NumPy).

A :class:`ThresholdPolicy` turns a score matrix ``[N, C]`` (sigmoid
probabilities) into a boolean prediction matrix ``[N, C]``;
:func:`tune_thresholds` fits one on validation data.

Conventions
-----------
* **Decision rule.** Everywhere in this module a label is predicted when
  ``score >= threshold`` (not ``>``).  :meth:`ThresholdPolicy.apply` and the
  tuning code use the same rule.
* **Candidate thresholds.** Tuning is exact: every distinct score value ``v``
  is a candidate ("predict everything scoring ``>= v``"), plus "predict
  nothing".  The threshold that is *returned* for a candidate ``v`` is the
  midpoint between ``v`` and the next lower distinct score, so that tiny
  numeric noise (float32 vs float64 re-computation, ~1e-6) does not flip
  decisions on the tuning data.  Below the lowest score the "next lower"
  value is ``0.0`` if the lowest score is positive, else ``lowest - 1``.  For
  "predict nothing" the threshold is the midpoint between the highest score
  and ``1.0`` (or ``highest + 1`` if the highest score is ``>= 1``), i.e. it
  may exceed 1.0 when probabilities saturate.
* **Ties between candidates.** Among candidates whose objective equals the
  best one (exactly for micro-F1, which is a correctly-rounded ratio of
  integers; within ``1e-12`` for macro-F1, which is a float sum), the one
  whose returned threshold is closest to ``0.5`` wins; if two are equally
  close, the higher threshold wins.  The rule is deterministic.
* **Zero division.** F1, precision and recall of an empty denominator are 0
  (scikit-learn's ``zero_division=0``).
"""

# The modules of the package, one concern each: checks (validating strategies, metrics,
# scores and {0, 1} label matrices), policy (ThresholdPolicy: apply, to_dict, from_dict),
# search (the exact search over sorted scores: F1, recall at a precision, the global
# threshold), tuning (tune_thresholds). Every name is importable from kmlc.thresholds, as
# before the split (`name as name` marks a re-export that is not in __all__).
from kmlc.thresholds.checks import METRICS, STRATEGIES, THRESHOLD_CHOICES
from kmlc.thresholds.checks import check_binary_matrix as check_binary_matrix
from kmlc.thresholds.policy import ThresholdPolicy
from kmlc.thresholds.tuning import tune_thresholds

__all__ = [
    "STRATEGIES",
    "THRESHOLD_CHOICES",
    "METRICS",
    "ThresholdPolicy",
    "tune_thresholds",
]
