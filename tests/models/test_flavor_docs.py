"""The shared numpydoc entries of the flavors' ``save_model`` parameters."""

from __future__ import annotations

import re

import pytest

import mlcask.lightgbm
import mlcask.sklearn
import mlcask.xgboost
from mlcask.models.flavor_docs import SAVE_MODEL_PARAMETERS, shared_parameter_docs


def test_a_marker_line_becomes_the_entries_in_its_order_at_its_indentation():
    def save(path, metadata=None, conda_env=None):
        """Save.

        Parameters
        ----------
        {path}
        other : int
            {not a marker}
        {metadata, conda_env}
        """

    shared_parameter_docs(save)
    kind, description = SAVE_MODEL_PARAMETERS["path"]
    assert f"\n        path : {kind}\n            {description}\n        other : int\n" in save.__doc__
    conda_kind, conda_description = SAVE_MODEL_PARAMETERS["conda_env"]
    assert ("\n        metadata : dict, optional\n            Free-form metadata written to MLmodel.\n"
            f"        conda_env : {conda_kind}\n            {conda_description}\n") in save.__doc__
    assert "{not a marker}" in save.__doc__  # only a line that is nothing but {name, ...}


def test_an_unknown_name_is_refused_naming_it():
    def save():
        """{path, pathh}"""

    with pytest.raises(KeyError, match=r"names \{pathh\}, which is not one of the shared save_model parameters"):
        shared_parameter_docs(save)


def test_no_docstring_stays_none():
    def save():
        pass

    assert shared_parameter_docs(save).__doc__ is None


@pytest.mark.parametrize("flavor", [mlcask.sklearn, mlcask.xgboost, mlcask.lightgbm])
def test_the_flavors_document_every_shared_parameter(flavor):
    doc = flavor.save_model.__doc__
    assert not re.search(r"^\s*\{[\w, ]+\}$", doc, re.MULTILINE)
    for name, (kind, description) in SAVE_MODEL_PARAMETERS.items():
        assert f"    {name} : {kind}\n        {description}\n" in doc
