"""The Examples in the docstrings of the method modules (and a few others) run and give what they show."""

import doctest

import pytest

from cocity_analysis.method import benchmarking, composite, imputation, priorities, profile_naming, profiles, scope, scoring, treatment, uncertainty
from cocity_analysis import parallel
from cocity_analysis.reporting import html_export, italian


@pytest.mark.parametrize("module", [composite, imputation, profiles, scope, scoring, treatment, uncertainty,
                                    priorities, italian, benchmarking, profile_naming, parallel, html_export],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
