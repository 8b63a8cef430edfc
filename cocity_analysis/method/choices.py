"""Method choices in one place: a small frozen dataclass read from / written to YAML.

The shipped defaults are ``data/method.yaml``; ``cocity prepare --method FILE``
(and a scenario saved from the exploration notebook) override them. Unknown
keys or values are errors that list the candidates, never silently ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cocity_analysis import FOCUS_AREAS, config
from cocity_analysis.errors import InputFileError

METHOD_FILE = config.PACKAGE_DATA_DIR / "method.yaml"

CHOICES = {
    "normalisation": ("minmax", "zscore", "percentile", "distance_to_best"),
    "aggregation": ("arithmetic", "geometric"),
    "imputation": ("none", "median_region", "knn"),
    "clustering": ("kmeans", "ward", "gmm"),
    "scope": ("cms", "all"),
}
#: Thresholds of the robustness wording of a city's first area (one place; README and method annex).
#: ``near_tie_distance``: first and second area closer than this on the common scale (standardised
#: distance from the reference mean, in standard deviations) = a near tie, whatever the share;
#: ``near_tie_share``: first area's share of runs minus the runner-up's below this = a near tie;
#: ``very_solid``/``solid``/``leaning``: minimum share of runs in which the area is first
#: (``very_solid`` also needs a margin of at least ``very_solid_distance``).
ROBUSTNESS_DEFAULTS = {
    "near_tie_distance": 0.25,
    "near_tie_share": 0.10,
    "very_solid": 0.90,
    "very_solid_distance": 0.50,
    "solid": 0.75,
    "leaning": 0.50,
}

#: Monte Carlo alternative lists -> the single choice whose candidates they draw from.
MC_CHOICES = {
    "mc_normalisations": "normalisation",
    "mc_aggregations": "aggregation",
    "mc_imputations": "imputation",
}


@dataclass(frozen=True)
class Method:
    """Every analytical choice of a run.

    Attributes
    ----------
    normalisation, aggregation, imputation, clustering, scope : str
        One of :data:`CHOICES` each.
    indicator_weights : str or dict
        ``"equal"``, ``"pca"`` or ``{indicator_id: weight}`` (expert weights;
        indicators not listed weigh 1).
    area_weights : dict
        Focus area -> relative weight used when ranking a city's priorities.
    treatment : bool
        Winsorise / log-transform highly skewed indicators.
    winsor_max_points : int
    k : int or None
        Fixed number of profiles, or None to choose by silhouette over ``k_select``.
    k_select, k_diagnostics : tuple of two ints (inclusive ranges)
    excluded_indicators : tuple of str
    monte_carlo_runs : int
    knn_neighbours : int
        Donors used by ``imputation: knn``.
    bootstrap_runs : int
        Bootstrap resamples for cluster stability (ARI per k, stability per city).
    dirichlet_concentration : float
        Concentration of the Dirichlet around the chosen indicator weights in the
        Monte Carlo (higher = closer to the chosen weights).
    mc_normalisations, mc_aggregations, mc_imputations : tuple of str
        Alternatives the Monte Carlo draws from (uniformly); the chosen
        normalisation / aggregation / imputation is always among them.
    """

    normalisation: str = "minmax"
    aggregation: str = "arithmetic"
    indicator_weights: Any = "equal"
    area_weights: dict = field(default_factory=lambda: {area: 1.0 for area in FOCUS_AREAS})
    imputation: str = "none"
    treatment: bool = True
    winsor_max_points: int = 3
    clustering: str = "kmeans"
    k: int | None = None
    k_select: tuple = (2, 6)
    k_diagnostics: tuple = (2, 8)
    excluded_indicators: tuple = ()
    monte_carlo_runs: int = 1000
    scope: str = "cms"
    knn_neighbours: int = 5
    bootstrap_runs: int = 100
    dirichlet_concentration: float = 20.0
    mc_normalisations: tuple = ("minmax", "zscore", "percentile")
    mc_aggregations: tuple = ("arithmetic", "geometric")
    mc_imputations: tuple = ("none", "median_region", "knn")
    mc_leave_one_out: bool = True
    area_weight_concentration: float = 20.0
    robustness: dict = field(default_factory=lambda: dict(ROBUSTNESS_DEFAULTS))

    def replace(self, **changes) -> "Method":
        """A copy with some choices changed (validated)."""
        return validate(dataclasses.replace(self, **changes))

    def to_dict(self) -> dict:
        """Plain, YAML/JSON-ready dict with a stable key order."""
        data = dataclasses.asdict(self)
        data["k_select"] = list(self.k_select)
        data["k_diagnostics"] = list(self.k_diagnostics)
        data["excluded_indicators"] = list(self.excluded_indicators)
        for key in MC_CHOICES:
            data[key] = list(getattr(self, key))
        data["dirichlet_concentration"] = float(self.dirichlet_concentration)
        data["area_weights"] = {area: float(self.area_weights[area]) for area in FOCUS_AREAS}
        data["area_weight_concentration"] = float(self.area_weight_concentration)
        data["robustness"] = {k: float(self.robustness[k]) for k in ROBUSTNESS_DEFAULTS}
        if isinstance(self.indicator_weights, dict):
            data["indicator_weights"] = {k: float(v) for k, v in sorted(self.indicator_weights.items())}
        return data


def validate(method: Method, source: str | Path | None = None) -> Method:
    """Check every choice; raise :class:`InputFileError` naming the key and the candidates."""
    def fail(key, message):
        raise InputFileError(source, message, column=key)

    for key, allowed in CHOICES.items():
        value = getattr(method, key)
        if value not in allowed:
            fail(key, f"{key} = {value!r} is not allowed; candidates: {', '.join(allowed)}")
    weights = method.indicator_weights
    if not (weights in ("equal", "pca") or isinstance(weights, dict)):
        fail("indicator_weights", "indicator_weights must be 'equal', 'pca' or a mapping indicator -> weight")
    if isinstance(weights, dict) and any(float(v) < 0 for v in weights.values()):
        fail("indicator_weights", "indicator weights must be >= 0")
    unknown = set(method.area_weights) - set(FOCUS_AREAS)
    if unknown:
        fail("area_weights", f"unknown focus areas {sorted(unknown)}; candidates: {', '.join(FOCUS_AREAS)}")
    if any(float(v) < 0 for v in method.area_weights.values()):
        fail("area_weights", "area weights must be >= 0")
    for key in ("k_select", "k_diagnostics"):
        low, high = getattr(method, key)
        if not (2 <= int(low) <= int(high)):
            fail(key, f"{key} must be [low, high] with 2 <= low <= high")
    if method.k is not None and int(method.k) < 2:
        fail("k", "k must be at least 2 (or null)")
    if int(method.monte_carlo_runs) < 1:
        fail("monte_carlo_runs", "monte_carlo_runs must be at least 1")
    if int(method.winsor_max_points) < 0:
        fail("winsor_max_points", "winsor_max_points must be >= 0")
    if int(method.knn_neighbours) < 1:
        fail("knn_neighbours", "knn_neighbours must be at least 1")
    if int(method.bootstrap_runs) < 0:
        fail("bootstrap_runs", "bootstrap_runs must be >= 0 (0 = no stability analysis)")
    if not float(method.area_weight_concentration) > 0:
        fail("area_weight_concentration", "area_weight_concentration must be > 0")
    unknown = set(method.robustness) - set(ROBUSTNESS_DEFAULTS)
    if unknown:
        fail("robustness", f"unknown robustness thresholds {sorted(unknown)}; "
                           f"candidates: {', '.join(ROBUSTNESS_DEFAULTS)}")
    if not float(method.dirichlet_concentration) > 0:
        fail("dirichlet_concentration", "dirichlet_concentration must be > 0")
    for key, single in MC_CHOICES.items():
        values = getattr(method, key)
        if isinstance(values, str) or not len(values):
            fail(key, f"{key} must be a non-empty list drawn from: {', '.join(CHOICES[single])}")
        wrong = [v for v in values if v not in CHOICES[single]]
        if wrong:
            fail(key, f"{key} contains {wrong}; candidates: {', '.join(CHOICES[single])}")
    return method


def from_dict(data: dict, source: str | Path | None = None, base: Method | None = None) -> Method:
    """Build a :class:`Method` from a mapping, over ``base`` (default: the shipped defaults)."""
    base = base or Method()
    names = {f.name for f in dataclasses.fields(Method)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputFileError(source, f"unknown method keys {unknown}; candidates: {', '.join(sorted(names))}",
                             column=unknown[0])
    values = dict(data)
    if "area_weights" in values:
        merged = dict(base.area_weights)
        merged.update({k: float(v) for k, v in (values["area_weights"] or {}).items()})
        values["area_weights"] = merged
    if "robustness" in values:
        merged = dict(base.robustness)
        merged.update({k: float(v) for k, v in (values["robustness"] or {}).items()})
        values["robustness"] = merged
    for key in ("k_select", "k_diagnostics", "excluded_indicators", *MC_CHOICES):
        if key in values and values[key] is not None:
            values[key] = tuple(values[key])
    return validate(dataclasses.replace(base, **values), source)


def load_method(path: str | Path | None = None) -> Method:
    """Read a method YAML file over the shipped defaults (``None``: the defaults alone).

    Examples
    --------
    >>> load_method().normalisation
    'minmax'
    """
    defaults = _read_yaml(METHOD_FILE)
    method = from_dict(defaults, METHOD_FILE, Method())
    if path is None:
        return method
    return from_dict(_read_yaml(Path(path)), path, method)


def dump_method(method: Method) -> str:
    """YAML text of ``method`` (stable key order, so equal methods give equal text)."""
    return yaml.safe_dump(method.to_dict(), sort_keys=False, allow_unicode=True)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputFileError(path, f"not a valid UTF-8 YAML file: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputFileError(path, "expected a mapping of method keys")
    return data
