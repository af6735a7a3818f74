"""Images as run artifacts: ``mlcask.Image`` (MLflow's ``mlflow.Image``), numpy arrays turned into
images with MLflow's rules, and where ``log_image`` writes them.

Pillow is needed (``pip install Pillow``; the ``xgboost`` and ``lightgbm`` extras bring it); it is
imported on first use only, so ``import mlcask`` stays cheap.

Numpy arrays: ``bool``, integers in [0, 255] and floats in [0, 1] (floats outside are min-max
rescaled, with a warning; integers outside are refused), of shape ``H x W``, ``H x W x 1``,
``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA).

``log_image(image, key=..., step=...)`` writes MLflow's layout, which its UI reads:
``images/<key, '/' as '~'>+step+<step>+timestamp+<ms>+<uuid>.png`` and a thumbnail (fitting
256 x 256) beside it, ``...+compressed.webp``, and tags the run ``mlflow.loggedImages``.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
from typing import Any

__all__ = ["COMPRESSED_IMAGE_SIZE", "Image", "compress_image_size", "convert_to_pil_image", "image_bytes",
           "require_pillow", "step_image_paths", "to_pil_image"]

COMPRESSED_IMAGE_SIZE = 256
LOGGED_IMAGES_TAG = "mlflow.loggedImages"
_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
_KINDS = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}


def require_pillow(message: str) -> Any:
    """``PIL.Image``, or ImportError with ``message`` (MLflow's wording for each caller)."""
    try:
        from PIL import Image as PILImage
    except ImportError as exc:
        raise ImportError(message) from exc
    return PILImage


def _to_uint8(array: Any) -> Any:
    import numpy as np

    is_int = np.issubdtype(array.dtype, np.integer)
    high = 255 if is_int else 1
    low_value, high_value = array.min(), array.max()
    if low_value < 0 or high_value > high:
        if is_int:
            raise ValueError("Integer pixel values out of acceptable range [0, 255]. "
                             f"Found minimum value {low_value} and maximum value {high_value}. "
                             "Ensure all pixel values are within the specified range.")
        warnings.warn("Float pixel values out of acceptable range [0.0, 1.0]. "
                      f"Found minimum value {low_value} and maximum value {high_value}. "
                      "Rescaling values to [0.0, 1.0] with min/max scaler.", stacklevel=4)
        array = (array - low_value) / (high_value - low_value)
    if not is_int:  # floats and booleans: [0, 1] -> [0, 255]
        array = array * 255
    return array.astype(np.uint8)


def convert_to_pil_image(image: Any) -> Any:
    """A PIL image from a numpy array, with MLflow's dtype, range and shape rules (see the module)."""
    import numpy as np

    pil = require_pillow("Pillow is required to serialize a numpy array as an image. "
                         "Please install it via: `pip install Pillow`")
    image = np.asarray(image)
    if image.dtype.kind not in _KINDS:
        raise TypeError(f"Invalid array data type: '{image.dtype}'. Must be one of {list(_KINDS.values())}")
    if image.ndim not in (2, 3):
        raise ValueError(f"`image` must be a 2D or 3D array but got image shape: {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(f"Invalid channel length: {image.shape[2]}. Must be one of [1, 3, 4]")
    if image.ndim == 3 and image.shape[2] == 1:  # PIL takes grayscale as H x W only
        image = image[:, :, 0]
    return pil.fromarray(_to_uint8(image))


def compress_image_size(image: Any, max_size: int = COMPRESSED_IMAGE_SIZE) -> Any:
    """``image`` resized to fit a ``max_size`` square, keeping its aspect ratio (the UI's thumbnail)."""
    width, height = image.size
    if width > height:
        size = (max_size, int(height * (max_size / width)))
    else:
        size = (int(width * (max_size / height)), max_size)
    return image.resize(size)


class Image:
    """An image for ``log_image`` and ``log_table`` (MLflow's ``mlflow.Image``): from a numpy array,
    a list of pixel rows, a PIL image or the path of an image file; kept as a PIL image.

    Parameters
    ----------
    image
        A numpy array or nested list (MLflow's dtype and shape rules), a ``PIL.Image.Image`` or a
        file path.
    """

    def __init__(self, image: Any) -> None:
        import numpy as np

        pil = require_pillow("`mlflow.Image` requires Pillow to serialize a numpy array as an image. "
                             "Please install it via: `pip install Pillow`.")
        if isinstance(image, str):
            self.image = pil.open(image)
        elif isinstance(image, (list, np.ndarray)):
            self.image = convert_to_pil_image(np.array(image))
        elif isinstance(image, pil.Image):
            self.image = image
        else:
            raise TypeError(f"Unsupported image object type: {type(image)}. `image` must be one of numpy.ndarray, "
                            "PIL.Image.Image, or a filepath to an image.")
        self.size = self.image.size

    def to_list(self) -> list[Any]:
        """The pixel values, row by row (one int or tuple per pixel)."""
        data = self.image.get_flattened_data() if hasattr(self.image, "get_flattened_data") else self.image.getdata()
        return list(data)

    def to_array(self) -> Any:
        """The pixels as a numpy array (``H x W`` or ``H x W x channels``)."""
        import numpy as np

        return np.array(self.image)

    def to_pil(self) -> Any:
        """The PIL image."""
        return self.image

    def save(self, path: str) -> None:
        """Write the image to ``path`` (the format from its extension)."""
        self.image.save(path)

    def resize(self, size: tuple[int, int]) -> Image:
        """A resized copy, as a new :class:`Image`."""
        return Image(self.image.resize(size))

    def __repr__(self) -> str:
        return f"Image(size={self.size}, mode={self.image.mode!r})"


def to_pil_image(image: Any) -> Any:
    """The PIL image of what ``log_image`` takes: a numpy array, a PIL image or an :class:`Image`."""
    import numpy as np

    if isinstance(image, np.ndarray):
        return convert_to_pil_image(image)
    if isinstance(image, Image):
        return image.to_pil()
    pil = require_pillow("Pillow is required to log an image. Please install it via: `pip install Pillow`")
    if not isinstance(image, pil.Image):
        raise TypeError(f"Unsupported image object type: {type(image)}. `image` must be one of numpy.ndarray, "
                        "PIL.Image.Image, and mlflow.Image.")
    return image


def image_bytes(image: Any, file_name: str) -> bytes:
    """``image`` (PIL) encoded in the format of ``file_name``'s extension, as ``PIL.Image.save`` picks it."""
    pil = require_pillow("Pillow is required to log an image. Please install it via: `pip install Pillow`")
    extension = "." + file_name.rpartition(".")[2].lower() if "." in file_name else ""
    image_format = pil.registered_extensions().get(extension)
    if image_format is None:
        raise ValueError(f"unknown file extension: {extension or file_name!r}")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def check_image_arguments(artifact_file: str | None, key: str | None, step: int | None,
                          timestamp: int | None) -> None:
    """MLflow's rule: ``artifact_file`` alone, or ``key`` (with ``step``/``timestamp``)."""
    if artifact_file is not None and any(arg is not None for arg in (key, step, timestamp)):
        raise TypeError("The `artifact_file` parameter cannot be used in conjunction with `key`, `step`, or "
                        "`timestamp` parameters. Please ensure that `artifact_file` is specified alone, without any "
                        "of these conflicting parameters.")
    if artifact_file is None and key is None:
        raise TypeError("Invalid arguments: Please specify exactly one of `artifact_file` or `key`. Use `key` to log "
                        "dynamic image charts or `artifact_file` for saving static images. ")


def step_image_paths(key: str, step: int, timestamp: int) -> tuple[str, str]:
    """The artifact paths of a key/step image and of its thumbnail, in MLflow's ``images/`` layout."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError("The `key` parameter may only contain alphanumerics, underscores (_), dashes (-), periods "
                         f"(.), spaces ( ), and slashes (/).The provided key `{key}` contains invalid characters.")
    stem = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
    return f"{stem}.png", f"{stem}+compressed.webp"
