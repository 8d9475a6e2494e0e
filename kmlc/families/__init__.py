"""Model families: what turns text into logits (a preprocessor, a network, an optimiser) and
the defaults that suit it, one module each (`tfidf`, `bert`).

A family is a module of this package whose `FAMILY` is a `kmlc.families.base.Family`;
`get_family(name)` finds it by its module name. A new family is one new module here: the
estimator, the training pipeline, the command line and the settings read the registry.
Importing this package does not import Keras.
"""

import importlib
import pkgutil

from kmlc.errors import KmlcInputError

_NOT_FAMILIES = ("base", "wide_svm")  # what the families share, not families


def family_names():
    """The names of the families, sorted (the modules of this package)."""
    return tuple(sorted(
        name for _, name, _ in pkgutil.iter_modules(__path__) if not name.startswith("_") and name not in _NOT_FAMILIES
    ))


def get_family(name):
    """The `Family` called `name`, or a clear error naming the ones there are."""
    names = family_names()
    if name not in names:
        raise KmlcInputError(f"Expected model to be one of {names}, Received: {name!r}.")
    return importlib.import_module(f"{__name__}.{name}").FAMILY


__all__ = ["family_names", "get_family"]
