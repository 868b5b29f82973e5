"""``ImageDataGenerator``: Keras's arguments, defaults, warnings and errors, fast.

The class stores Keras's configuration as Keras does (plain attributes users
may change) and translates it on demand: :func:`~fastaug.keras._spec.spec_of`
snapshots it into a frozen record, the glue (``_random``, ``_engine``) turns
that into the native core's inputs. Iterators get batches the same way,
without calling back into the generator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug.keras import _engine
from fastaug.keras._files import DataFrameIterator, DirectoryIterator
from fastaug.keras._functions import warp_single
from fastaug.keras._image_io import default_data_format, default_floatx
from fastaug.keras._iterators import NumpyArrayIterator
from fastaug.keras._random import draw_one, params_from_dicts
from fastaug.keras._spec import KerasSpec, spec_of
from fastaug.warp import FILL_MODES

__all__ = ["ImageDataGenerator"]


class ImageDataGenerator:
    """Generate batches of augmented images: Keras's ``ImageDataGenerator``, fast.

    Same arguments, defaults, validation, warnings and results as Keras 3's
    (``keras.src.legacy.preprocessing.image.ImageDataGenerator``, which is
    ``tf.keras.preprocessing.image.ImageDataGenerator`` on TF >= 2.16); see
    Keras's documentation for each argument. Every batch is gathered from the
    dataset in its own dtype, its parameters drawn in one vectorised step from
    the iterator's own RNG (seeded like Keras's), warped by one fused kernel call
    and standardized as a batch (ZCA as one GEMM).

    Parameters
    ----------
    featurewise_center, samplewise_center, featurewise_std_normalization,
    samplewise_std_normalization, zca_whitening, zca_epsilon, rotation_range,
    width_shift_range, height_shift_range, brightness_range, shear_range,
    zoom_range, channel_shift_range, fill_mode, cval, horizontal_flip,
    vertical_flip, rescale, preprocessing_function, data_format,
    validation_split, interpolation_order, dtype
        As in Keras. ``data_format`` and ``dtype`` default to Keras's config when
        the program has imported Keras, else "channels_last" and "float32".
        ``interpolation_order`` 0 and 1 and the fill modes "constant", "nearest",
        "reflect", "wrap", "mirror" run in the fused kernel; other orders and
        scipy's "grid-*" modes fall back to Keras's scipy path.
    num_threads : int, optional
        fastaug addition: threads each batch is split over (default None: all
        usable cores, or on a prefetching stream's worker thread its share, see
        :mod:`fastaug.stream`). Kept as the attribute ``num_threads``.

    Attributes
    ----------
    whitener : fastaug.whitening.ZCA or None
        fastaug addition: the whitening fitted by :meth:`fit`, kept in factored
        form; ``zca_whitening_matrix`` (Keras's d x d matrix) is built from it
        on first access. Assigning ``zca_whitening_matrix`` replaces it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import ImageDataGenerator
    >>> x = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    >>> y = np.arange(64) % 10
    >>> datagen = ImageDataGenerator(rotation_range=20, zoom_range=0.2,
    ...                              width_shift_range=0.1, height_shift_range=0.1,
    ...                              horizontal_flip=True, rescale=1 / 255)
    >>> bx, by = next(datagen.flow(x, y, batch_size=16, seed=1))
    >>> bx.shape, bx.dtype, bool(0 <= bx.min() and bx.max() <= 1)
    ((16, 32, 32, 3), dtype('float32'), True)
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: Any = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Any = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = None,
        *,
        num_threads: int | None = None,
    ) -> None:
        if data_format is None:
            data_format = default_data_format()
        if dtype is None:
            dtype = default_floatx()

        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.zoom_range = zoom_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype
        self.interpolation_order = interpolation_order
        # None: all usable cores, or a prefetching stream's share, decided per batch.
        self.num_threads = None if num_threads is None else _pool.resolve_threads(num_threads)

        if data_format not in {"channels_last", "channels_first"}:
            raise ValueError(
                '`data_format` should be `"channels_last"` '
                "(channel after row and column) or "
                '`"channels_first"` (channel before row and column). '
                f"Received: {data_format}")
        self.data_format = data_format
        if data_format == "channels_first":
            self.channel_axis = 1
            self.row_axis = 2
            self.col_axis = 3
        if data_format == "channels_last":
            self.channel_axis = 3
            self.row_axis = 1
            self.col_axis = 2
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(
                "`validation_split` must be strictly between 0 and 1. "
                f" Received: {validation_split}")
        self._validation_split = validation_split

        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None

        if isinstance(zoom_range, (float, int)):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(val, (float, int)) for val in zoom_range):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(
                "`zoom_range` should be a float or a tuple or list of two floats. "
                f"Received: {zoom_range}")
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening`, which "
                    "overrides setting of `featurewise_center`.", stacklevel=2)
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                # Keras's message lacks the space before the backtick; kept.
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening` which "
                    "overrides setting of`featurewise_std_normalization`.", stacklevel=2)
        if featurewise_std_normalization:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `featurewise_std_normalization`, "
                    "which overrides setting of `featurewise_center`.", stacklevel=2)
        if samplewise_std_normalization:
            if not samplewise_center:
                self.samplewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `samplewise_std_normalization`, "
                    "which overrides setting of `samplewise_center`.", stacklevel=2)
        if brightness_range is not None:
            if not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2:
                raise ValueError(
                    "`brightness_range should be tuple or list of two floats. "
                    f"Received: {brightness_range}")
        self.brightness_range = brightness_range
        if not isinstance(fill_mode, str) or fill_mode not in (
                FILL_MODES + _engine.SCIPY_ONLY_FILL_MODES):
            # Keras accepts anything here and fails later inside scipy with
            # RuntimeError('boundary mode not supported'); fail early instead.
            raise ValueError(f"fill_mode must be one of "
                             f"{list(FILL_MODES + _engine.SCIPY_ONLY_FILL_MODES)}, "
                             f"got {fill_mode!r}")
        self._rng = np.random.RandomState()

    # -- iterators ---------------------------------------------------------------
    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
             sample_weight: Any = None, seed: int | None = None,
             save_to_dir: str | None = None, save_prefix: str = "",
             save_format: str = "png", ignore_class_split: bool = False,
             subset: str | None = None) -> NumpyArrayIterator:
        """Iterate over augmented batches of ``x`` (and ``y``) (Keras's ``flow``).

        With ``seed`` the batches are Keras's: same order, same parameters, pixels
        within interpolation tolerance.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> it = ImageDataGenerator(horizontal_flip=True).flow(
        ...     np.zeros((5, 4, 4, 1), np.uint8), batch_size=2, shuffle=False)
        >>> [b.shape[0] for b in (it[0], it[1], it[2])]
        [2, 2, 1]
        """
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle,
            sample_weight=sample_weight, seed=seed, data_format=self.data_format,
            save_to_dir=save_to_dir, save_prefix=save_prefix, save_format=save_format,
            ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(
        self,
        directory: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        *,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
    ) -> DirectoryIterator:
        """Iterate over augmented batches of image files in class folders (Keras's).

        Same files, order, classes, ``class_indices``, subsets and labels as
        Keras; with ``seed`` the same parameters. Files are decoded in parallel;
        JPEGs at least twice the target size are decoded at reduced size
        (``draft=False`` or ``fastaug.io.DRAFT = False`` for Keras's pixels).
        ``on_bad_file="skip"`` leaves out undecodable files when listing (with a
        warning); by default a batch containing one raises a ValueError naming
        it. See ``fastaug.keras.DirectoryIterator``.

        Examples
        --------
        >>> import os, tempfile
        >>> from PIL import Image
        >>> from fastaug.keras import ImageDataGenerator
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for c in ("a", "b"):
        ...         os.mkdir(os.path.join(d, c))
        ...         Image.new("RGB", (10, 10)).save(os.path.join(d, c, "0.jpg"))
        ...     it = ImageDataGenerator(horizontal_flip=True).flow_from_directory(
        ...         d, target_size=(4, 4), class_mode="sparse", shuffle=False)
        ...     x, y = next(it)
        Found 2 images belonging to 2 classes.
        >>> it.filenames, y.tolist()
        (['a/0.jpg', 'b/0.jpg'], [0.0, 1.0])
        """
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode,
            keep_aspect_ratio=keep_aspect_ratio, classes=classes, class_mode=class_mode,
            data_format=self.data_format, batch_size=batch_size, shuffle=shuffle,
            seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, follow_links=follow_links, subset=subset,
            interpolation=interpolation, dtype=self.dtype, draft=draft,
            on_bad_file=on_bad_file,
            num_threads=self.num_threads if num_threads is None else num_threads)

    def flow_from_dataframe(
        self,
        dataframe: Any,
        directory: str | None = None,
        x_col: str = "filename",
        y_col: Any = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        validate_filenames: bool = True,
        *,
        keep_aspect_ratio: bool = False,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
        **kwargs: Any,
    ) -> DataFrameIterator:
        """Iterate over augmented batches of the image files a DataFrame lists (Keras's).

        Same filtering, classes, subsets and labels as Keras (``class_mode``
        "raw" and "multi_output" included). pandas is only needed by the caller.
        Differences: ``keep_aspect_ratio`` is honoured (Keras's
        ``flow_from_dataframe`` silently ignores it), and unknown keyword
        arguments raise TypeError (Keras ignores them); Keras's deprecated
        ``has_ext``, ``sort``, ``drop_duplicates`` still only warn.

        Examples
        --------
        >>> import os, tempfile
        >>> import pandas as pd  # doctest: +SKIP
        >>> from PIL import Image
        >>> from fastaug.keras import ImageDataGenerator
        >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
        ...     Image.new("RGB", (10, 10)).save(os.path.join(d, "0.png"))
        ...     df = pd.DataFrame({"filename": ["0.png"], "y": [0.5]})
        ...     it = ImageDataGenerator().flow_from_dataframe(
        ...         df, d, y_col="y", class_mode="raw", target_size=(4, 4))
        ...     x, y = it[0]
        Found 1 validated image filenames.
        """
        if "has_ext" in kwargs:
            warnings.warn("has_ext is deprecated, filenames in the dataframe have "
                          "to match the exact filenames in disk.", DeprecationWarning,
                          stacklevel=2)
        if "sort" in kwargs:
            warnings.warn("sort is deprecated, batches will be created in the"
                          "same order than the filenames provided if `shuffle`"
                          "is set to `False`.", DeprecationWarning, stacklevel=2)
        if class_mode == "other":
            warnings.warn('`class_mode="other"` is deprecated, please use '
                          '`class_mode="raw"`.', DeprecationWarning, stacklevel=2)
            class_mode = "raw"
        if "drop_duplicates" in kwargs:
            warnings.warn("drop_duplicates is deprecated, you can drop duplicates "
                          "by using the pandas.DataFrame.drop_duplicates method.",
                          DeprecationWarning, stacklevel=2)
        unknown = sorted(set(kwargs) - {"has_ext", "sort", "drop_duplicates"})
        if unknown:
            raise TypeError(f"flow_from_dataframe() got unexpected keyword arguments: "
                            f"{unknown}")
        return DataFrameIterator(
            dataframe, directory, self, x_col=x_col, y_col=y_col, weight_col=weight_col,
            target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, subset=subset, interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio, validate_filenames=validate_filenames,
            dtype=self.dtype, draft=draft, on_bad_file=on_bad_file,
            num_threads=self.num_threads if num_threads is None else num_threads)

    # -- single images -----------------------------------------------------------
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Apply the normalization configuration in place (Keras's ``standardize``).

        Like Keras's, it works on one image or on a batch; on a batch the
        samplewise statistics are those of the whole array (Keras's behaviour).

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> ImageDataGenerator(rescale=0.5).standardize(np.full((2, 2, 1), 4.0))[0, 0, 0]
        np.float64(2.0)
        """
        return _engine.standardize(spec_of(self), x, per_sample=False)

    def get_random_transform(self, img_shape: tuple[int, ...],
                             seed: int | None = None) -> dict[str, Any]:
        """Draw random transform parameters for one image (Keras's, same stream).

        With ``seed`` the draws equal Keras's after ``np.random.seed(seed)``; the
        generator's own RNG then continues from there, as Keras's global one does.

        Examples
        --------
        >>> from fastaug.keras import ImageDataGenerator
        >>> p = ImageDataGenerator(rotation_range=30).get_random_transform((8, 8, 3), seed=0)
        >>> round(p["theta"], 4), p["tx"], p["zx"]
        (2.9288, 0, 1)
        """
        if seed is not None:
            self._rng = np.random.RandomState(seed)
        return draw_one(spec_of(self), tuple(img_shape), self._rng)

    def apply_transform(self, x: np.ndarray, transform_parameters: dict[str, Any]) -> np.ndarray:
        """Apply given parameters to one image (Keras's ``apply_transform``).

        Order as in Keras: affine, channel shift, flips, brightness (fastaug's
        fixed brightness, see ``apply_brightness_shift``). Returns ``x`` itself
        when nothing applies.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
        >>> y = ImageDataGenerator().apply_transform(x, {"flip_horizontal": True})
        >>> bool((y == x[:, ::-1]).all())
        True
        """
        p = transform_parameters
        x = np.asarray(x)
        if (p.get("theta", 0) == 0 and p.get("tx", 0) == 0 and p.get("ty", 0) == 0
                and p.get("shear", 0) == 0 and p.get("zx", 1) == 1 and p.get("zy", 1) == 1
                and p.get("channel_shift_intensity") is None
                and not p.get("flip_horizontal", False) and not p.get("flip_vertical", False)
                and p.get("brightness") is None):
            return x
        if x.ndim != 3:
            raise ValueError("Input arrays must be multi-channel 2D images.")
        params = params_from_dicts([p])
        r, c, ch = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        return warp_single(x, params, r, c, ch, self.fill_mode, self.cval,
                           self.interpolation_order, self.num_threads)

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Apply a random transformation to one image (Keras's ``random_transform``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> ImageDataGenerator(rotation_range=30).random_transform(
        ...     np.ones((8, 8, 3), np.float32), seed=0).shape
        (8, 8, 3)
        """
        params = self.get_random_transform(x.shape, seed)
        return self.apply_transform(x, params)

    def fit(self, x: Any, augment: bool = False, rounds: int = 1,
            seed: int | None = None) -> None:
        """Compute featurewise statistics / ZCA from sample data (Keras's ``fit``).

        Keras's formulas: per-channel mean and std over (samples, rows, cols) after
        ``rescale``; ZCA from the SVD of the centred data. With ``augment`` the
        data go ``rounds`` times through the batch engine with the parameter stream
        Keras's ``fit(seed=...)`` would draw.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> g = ImageDataGenerator(featurewise_center=True)
        >>> g.fit(np.full((4, 2, 2, 3), 7, np.uint8))
        >>> g.mean.ravel().tolist()
        [7.0, 7.0, 7.0]
        """
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError("Input to `.fit()` should have rank 4. Got array with shape: "
                             + str(x.shape))
        if x.shape[self.channel_axis] not in {1, 3, 4}:
            warnings.warn(
                "Expected input to be images (as Numpy array) "
                f'following the data format convention "{self.data_format}'
                f'" (channels on axis {self.channel_axis})'
                ", i.e. expected either 1, 3 or 4 channels on axis "
                f"{self.channel_axis}. However, it was passed an array with"
                f" shape {x.shape} ({x.shape[self.channel_axis]} channels).", stacklevel=2)
        if seed is not None:
            self._rng = np.random.RandomState(seed)
        result = _engine.fit_statistics(spec_of(self), x, augment=augment, rounds=rounds,
                                        rs=self._rng, dtype=self.dtype,
                                        zca_epsilon=self.zca_epsilon)
        if self.featurewise_center:
            self.mean = result.mean
        if self.featurewise_std_normalization:
            self.std = result.std
        if self.zca_whitening:
            self.zca_whitening_matrix = None
            self.whitener = result.whitener

    def __setattr__(self, name: str, value: Any) -> None:
        # Every assignment (Keras's configuration is plain attributes users may
        # change at any time) drops the snapshot that _spec() hands the iterators.
        object.__setattr__(self, name, value)
        self.__dict__["_spec_cache"] = None

    def _spec(self) -> KerasSpec:
        """``spec_of(self)``, taken once per configuration instead of once per batch.

        The snapshot holds references to the attribute values, so what is changed
        in place (``gen.mean[...] = ...``, ``gen.zoom_range[0] = ...``) is seen
        as before; any assignment makes a new one.
        """
        spec = self.__dict__.get("_spec_cache")
        if spec is None:
            spec = spec_of(self)
            self.__dict__["_spec_cache"] = spec
        return spec

    @property
    def zca_whitening_matrix(self) -> np.ndarray | None:
        """The d x d ZCA matrix ``W`` (float64, as Keras stores it), or None.

        After ``fit`` it is materialised on first access (the batches use the
        fitted factors directly); assigning a matrix makes ``standardize`` use it.
        """
        if self._zca_matrix is None and self.whitener is not None:
            self._zca_matrix = self.whitener.whitening_matrix_
        return self._zca_matrix

    @zca_whitening_matrix.setter
    def zca_whitening_matrix(self, value: Any) -> None:
        self._zca_matrix = value
        self.whitener = None

