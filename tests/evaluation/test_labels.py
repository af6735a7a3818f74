"""label_space: MLflow's rules for a classifier's classes, its positive label and its column."""

from __future__ import annotations

import numpy as np
import pytest

from mlcask.evaluation.labels import LabelSpace, label_space
from mlcask.exceptions import MlcaskException


def test_labels_are_the_sorted_union_of_targets_and_predictions():
    space = label_space([2, 0, 2], [1, 1, 0])
    assert space.labels.tolist() == [0, 1, 2]
    assert not space.is_binary and space.n_classes == 3
    assert space.pos_label is None and not space.from_label_list


def test_binary_default_positive_is_the_greatest_label_in_column_one():
    space = label_space(np.array(["yes", "no"]), np.array(["no", "no"]))
    assert space.labels.tolist() == ["no", "yes"]
    assert space.pos_label == "yes" and space.pos_index == 1 and space.is_binary


def test_pos_label_moves_last_and_keeps_its_sorted_column():
    space = label_space(["no", "yes", "yes"], ["yes", "no", "no"], pos_label="no")
    assert space.labels.tolist() == ["yes", "no"]  # positive last, as MLflow's label_list
    assert space.pos_label == "no"
    assert space.pos_index == 0  # predict_proba's columns follow the sorted order
    assert space.sorted_labels.tolist() == ["no", "yes"]


def test_label_list_gives_classes_never_seen():
    space = label_space([0, 1], [1, 1], label_list=[2, 0, 1])
    assert space.labels.tolist() == [0, 1, 2] and space.from_label_list


def test_label_list_binary_with_pos_label():
    space = label_space([1, 1], [1, 1], label_list=[1, 0], pos_label=0)
    assert space.labels.tolist() == [1, 0] and space.pos_index == 0


def test_fewer_than_two_labels_is_mlflows_error():
    with pytest.raises(MlcaskException, match="must contain at least two unique labels, but only 1 unique "
                                              "labels were found") as caught:
        label_space([3, 3], [3, 3])
    assert "'label_list'" in str(caught.value)


def test_pos_label_outside_label_list():
    with pytest.raises(MlcaskException, match=r"'pos_label' 5 must exist in 'label_list' \[0, 1\]"):
        label_space([0, 1], [0, 1], label_list=[0, 1], pos_label=5)


def test_pos_label_not_among_inferred_labels():
    with pytest.raises(MlcaskException, match=r"'pos_label' 'maybe' is not one of the labels .*\['no', 'yes'\]"):
        label_space(["no", "yes"], ["yes", "yes"], pos_label="maybe")


def test_targets_outside_label_list_are_named():
    with pytest.raises(MlcaskException, match=r"targets hold values that are not in .*\['a', 'b'\]: 'c', 'd'"):
        label_space(["a", "c", "d", "c"], ["a", "b", "a", "b"], label_list=["a", "b"])


def test_predictions_outside_label_list_are_named():
    with pytest.raises(MlcaskException, match=r"predictions hold values .*: 7"):
        label_space([0, 1], [7, 1], label_list=[0, 1])


def test_unorderable_mixed_labels():
    with pytest.raises(MlcaskException, match="cannot be ordered .*int, str"):
        label_space(np.array([1, "a"], dtype=object), np.array([1, 1], dtype=object))


def test_column_vectors_are_accepted_and_matrices_refused():
    assert label_space(np.array([[0], [1]]), np.array([[1], [1]])).labels.tolist() == [0, 1]
    with pytest.raises(MlcaskException, match=r"one value per row; got an array of shape \(2, 2\)"):
        label_space(np.zeros((2, 2)), [0, 1])


def test_label_space_is_frozen():
    space = LabelSpace(np.array([0, 1]), 1, 1)
    with pytest.raises(AttributeError):
        space.pos_index = 0  # type: ignore[misc]


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_labels_are_refused_with_their_row(missing):
    with pytest.raises(MlcaskException, match=r"The predictions hold 1 missing values \(None or NaN\), first at row 2"):
        label_space(np.array(["a", "b", "a"], dtype=object), np.array(["a", "b", missing], dtype=object))
    with pytest.raises(MlcaskException, match="The targets hold 2 missing values"):
        label_space(np.array([1.0, np.nan, np.nan]), np.array([1.0, 0.0, 1.0]))
