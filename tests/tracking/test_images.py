"""mlcask.Image and log_image: MLflow's numpy rules, the file and key/step forms, the images/ layout."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import mlcask
from mlcask.tracking import fluent_artifacts as fa
from mlcask.tracking.images import Image, compress_image_size, convert_to_pil_image

PIL = pytest.importorskip("PIL.Image")


def _artifacts(run_id, path=None):
    return [f.path for f in mlcask.MlflowClient().list_artifacts(run_id, path)]


def _open(run_id, path):
    return PIL.open(mlcask.MlflowClient().download_artifacts(run_id, path))


@pytest.mark.parametrize("shape", [(6, 8), (6, 8, 1), (6, 8, 3), (6, 8, 4)])
def test_uint8_arrays_of_every_shape_round_trip(tracking, shape):
    image = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    with mlcask.start_run() as run:
        fa.log_image(image, "dir/image.png")
    assert _artifacts(run.info.run_id, "dir") == ["dir/image.png"]
    loaded = np.asarray(_open(run.info.run_id, "dir/image.png"))
    np.testing.assert_array_equal(loaded, image[:, :, 0] if shape[-1:] == (1,) else image)


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint16", "uint64", "float16", "float64", "bool"])
def test_every_numeric_dtype_is_accepted(dtype):
    image = np.random.default_rng(1).integers(0, 2, size=(3, 3, 3)).astype(dtype)
    pil = convert_to_pil_image(image)
    expected = image.astype(np.uint8) * (1 if np.issubdtype(image.dtype, np.integer) else 255)
    np.testing.assert_array_equal(np.asarray(pil), expected)


def test_floats_out_of_range_are_rescaled_with_a_warning():
    with pytest.warns(UserWarning, match=r"Float pixel values out of acceptable range \[0.0, 1.0\]"):
        pil = convert_to_pil_image(np.array([[-1.0, 1.0]]))
    assert np.asarray(pil).tolist() == [[0, 255]]


@pytest.mark.parametrize("value", [-1, 256])
def test_integers_out_of_range_are_refused(value):
    with pytest.raises(ValueError, match="Integer pixel values out of acceptable range"):
        convert_to_pil_image(np.array([[value]]))


@pytest.mark.parametrize("image, error, message", [
    (np.tile("a", (1, 1, 3)), TypeError, "Invalid array data type: '<U1'"),
    (np.zeros((1,), dtype=np.uint8), ValueError, r"`image` must be a 2D or 3D array but got image shape: \(1,\)"),
    (np.zeros((1, 1, 5), dtype=np.uint8), ValueError, r"Invalid channel length: 5. Must be one of \[1, 3, 4\]"),
    ("not_image", TypeError, "Unsupported image object type"),
])
def test_bad_images_are_refused_with_mlflows_messages(tracking, image, error, message):
    with mlcask.start_run(), pytest.raises(error, match=message):
        fa.log_image(image, "image.png")


@pytest.mark.parametrize("args", [{"key": "k"}, {"step": 0}, {"timestamp": 0}])
def test_artifact_file_with_key_step_or_timestamp_is_refused(tracking, args):
    with mlcask.start_run(), pytest.raises(TypeError, match="cannot be used in conjunction with `key`"):
        fa.log_image(np.zeros((2, 2), dtype=np.uint8), "image.png", **args)


def test_neither_artifact_file_nor_key_is_refused(tracking):
    with mlcask.start_run(), pytest.raises(TypeError, match="Please specify exactly one of `artifact_file` or `key`"):
        fa.log_image(np.zeros((2, 2), dtype=np.uint8))


def test_key_and_step_write_mlflows_images_layout_and_tag(tracking):
    image = np.random.default_rng(2).integers(0, 256, size=(40, 100, 3), dtype=np.uint8)
    with mlcask.start_run() as run:
        fa.log_image(image, key="val/dogs", step=3, timestamp=1234)
        fa.log_image(image, key="val/dogs", step=3, timestamp=1234)  # both kept, as in MLflow
    files = _artifacts(run.info.run_id, "images")
    assert len(files) == 4
    pattern = r"images/val~dogs\+step\+3\+timestamp\+1234\+[0-9a-f-]{36}(\+compressed\.webp|\.png)"
    assert all(re.fullmatch(pattern, f) for f in files)
    full = next(f for f in files if f.endswith(".png"))
    np.testing.assert_array_equal(np.asarray(_open(run.info.run_id, full)), image)
    thumbnail = _open(run.info.run_id, full.removesuffix(".png") + "+compressed.webp")
    assert thumbnail.format == "WEBP" and thumbnail.size == (256, 102)
    assert mlcask.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


def test_step_and_timestamp_default_to_zero_and_now(tracking):
    with mlcask.start_run() as run:
        fa.log_image(PIL.new("RGB", (4, 4)), key="k")
    [png] = [f for f in _artifacts(run.info.run_id, "images") if f.endswith(".png")]
    step, timestamp = re.match(r"images/k\+step\+(\d+)\+timestamp\+(\d+)\+", png).groups()
    assert step == "0" and abs(int(timestamp) - run.info.start_time) < 60_000


def test_a_key_with_other_characters_is_refused(tracking):
    with mlcask.start_run(), pytest.raises(ValueError, match="The `key` parameter may only contain"):
        fa.log_image(np.zeros((2, 2), dtype=np.uint8), key="bad:key")


def test_pil_images_and_mlcask_images_are_logged_as_given(tracking):
    pil = PIL.new("RGBA", (5, 3), (10, 20, 30, 40))
    with mlcask.start_run() as run:
        fa.log_image(pil, "a.png")
        fa.log_image(Image(pil), "b.png")
    for name in ("a.png", "b.png"):
        assert _open(run.info.run_id, name).getpixel((0, 0)) == (10, 20, 30, 40)


def test_the_file_format_follows_the_extension(tracking):
    with mlcask.start_run() as run:
        fa.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "pic.jpeg")
        with pytest.raises(ValueError, match="unknown file extension"):
            fa.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "pic.nope")
    assert _open(run.info.run_id, "pic.jpeg").format == "JPEG"


def test_mlcask_image_converts_resizes_and_saves(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    image = Image(array)
    assert image.size == (2, 2)
    np.testing.assert_array_equal(image.to_array(), array)
    assert image.to_list() == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)]
    assert Image(array.tolist()).to_list() == image.to_list()
    resized = image.resize((4, 6))
    assert isinstance(resized, Image) and resized.size == (4, 6) and image.size == (2, 2)
    image.save(str(tmp_path / "x.png"))
    reopened = Image(str(tmp_path / "x.png"))
    np.testing.assert_array_equal(reopened.to_array(), array)
    assert reopened.to_pil().format == "PNG"
    with pytest.raises(TypeError, match="`image` must be one of numpy.ndarray, PIL.Image.Image, or a filepath"):
        Image(42)


def test_thumbnails_keep_the_aspect_ratio():
    assert compress_image_size(PIL.new("L", (1000, 10))).size == (256, 2)
    assert compress_image_size(PIL.new("L", (10, 20))).size == (128, 256)


def test_the_client_logs_images_into_any_run(tracking):
    client = mlcask.MlflowClient()
    run = client.create_run("0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.log_image(run.info.run_id, np.ones((2, 2), dtype=bool), "mask.png")
    assert np.asarray(_open(run.info.run_id, "mask.png")).tolist() == [[255, 255], [255, 255]]
