"""Learned models as JSON: what is stored predicts what scikit-learn fitted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from reasoner.radrscore.models import from_sklearn, load

RNG = np.random.default_rng(0)
X = RNG.normal(size=(600, 5))
BINARY = (X[:, 0] + X[:, 1] * X[:, 2] + RNG.normal(size=600) > 0).astype(float)
COUNTS = RNG.poisson(np.exp(0.4 * X[:, 0] - 0.2 * X[:, 3])).astype(float)


@pytest.mark.parametrize(
    ("estimator", "target", "predict"),
    [
        (
            HistGradientBoostingClassifier(max_depth=3, max_iter=40),
            BINARY,
            lambda m, x: m.predict_proba(x)[:, 1],
        ),
        (
            HistGradientBoostingRegressor(loss="poisson", max_depth=2, max_iter=40),
            COUNTS,
            lambda m, x: m.predict(x),
        ),
        (
            make_pipeline(StandardScaler(), LogisticRegression(C=0.5)),
            BINARY,
            lambda m, x: m.predict_proba(x)[:, 1],
        ),
        (make_pipeline(StandardScaler(), PoissonRegressor(alpha=0.5)), COUNTS, lambda m, x: m.predict(x)),
    ],
    ids=["trees-logit", "trees-log", "linear-logit", "linear-log"],
)
def test_stored_model_predicts_what_was_fitted(estimator, target, predict) -> None:
    estimator.fit(X, target)
    spec = json.loads(json.dumps(from_sklearn(estimator)))  # through JSON text and back
    fresh = RNG.normal(size=(200, 5))
    assert np.allclose(load(spec).predict(fresh), predict(estimator, fresh), atol=1e-5)


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        load({"kind": "forest"})
    with pytest.raises(TypeError):
        from_sklearn(object())
