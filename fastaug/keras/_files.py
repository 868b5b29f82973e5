"""``DirectoryIterator`` and ``DataFrameIterator``: Keras's file iterators, batched.

Bookkeeping (listing order, classes, subsets, labels, seeding) is Keras's
(``keras.src.legacy.preprocessing.image``). A batch's files are decoded in
parallel into one uint8 array (``fastaug.io``) and go through the same
``_engine.augment_batch`` path as ``flow``; the parameters are drawn under the
iterator's lock from its own RNG, as Keras draws them per image from the
reseeded global one, so seeded batches match Keras's.

pandas is never imported here: ``flow_from_dataframe`` works on the DataFrame it
is given.
"""

from __future__ import annotations

import collections
import os
import warnings
from typing import Any

import numpy as np

from fastaug import io as _io
from fastaug.keras._engine import augment_batch
from fastaug.keras._image_io import pil_format
from fastaug.keras._iterators import _DrawRenderIterator, _save_batch
from fastaug.keras._random import draw_batch
from fastaug.keras._spec import spec_of

__all__ = ["BatchFromFilesMixin", "DataFrameIterator", "DirectoryIterator"]

BAD_FILE_POLICIES = ("raise", "skip")


class _FilesIterator(_DrawRenderIterator):
    """Shared batch logic of the file iterators (Keras's ``BatchFromFilesMixin``)."""

    def set_processing_attrs(self, image_data_generator: Any, target_size: Any,
                             color_mode: str, data_format: str, save_to_dir: str | None,
                             save_prefix: str, save_format: str, subset: str | None,
                             interpolation: str, keep_aspect_ratio: bool) -> None:
        """Keras's processing attributes, validated in Keras's order."""
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        if (len(self.target_size) != 2 or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                for v in self.target_size)):
            raise ValueError("target_size must be (height, width) with two positive "
                             f"ints, got {target_size!r}")
        self.keep_aspect_ratio = keep_aspect_ratio
        self.color_mode = _io.check_color_mode(color_mode)
        self.data_format = data_format
        c = {"rgba": 4, "rgb": 3, "grayscale": 1}[color_mode]
        self.image_shape = (self.target_size + (c,) if data_format == "channels_last"
                            else (c,) + self.target_size)
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        if save_to_dir:
            pil_format(save_format)  # an unknown format fails now, not mid-epoch
        # Keras checks this at the first batch that needs a resize; fail early.
        self.interpolation = _io.check_interpolation(interpolation)
        if subset is not None:
            validation_split = self.image_data_generator._validation_split
            if subset == "validation":
                split: tuple[float, float] | None = (0, validation_split)
            elif subset == "training":
                split = (validation_split, 1)
            else:
                raise ValueError(f"Invalid subset name: {subset};"
                                 'expected "training" or "validation"')
        else:
            split = None
        self.split = split
        self.subset = subset
        # File names' random part: its own RNG, so saving never shifts the
        # augmentation stream.
        self._save_rng = np.random.default_rng()

    def _set_fastaug_attrs(self, draft: bool | None, on_bad_file: str,
                           num_threads: int | None) -> None:
        if draft is not None and not isinstance(draft, bool):
            raise TypeError(f"draft must be True, False or None, got {draft!r}")
        if on_bad_file not in BAD_FILE_POLICIES:
            raise ValueError(f"on_bad_file must be one of {list(BAD_FILE_POLICIES)}, "
                             f"got {on_bad_file!r}")
        self.draft = draft
        self.on_bad_file = on_bad_file
        self._io_threads = num_threads

    def _bad_file_mask(self, paths: list[str]) -> np.ndarray:
        """True for the files to keep; with on_bad_file="skip", checks each file."""
        keep = np.ones(len(paths), bool)
        if self.on_bad_file != "skip" or not paths:
            return keep
        bad = _io.find_bad_files(paths, self._io_threads)
        if bad:
            keep[list(bad)] = False
            shown = "; ".join(f"{paths[i]} ({r})" for i, r in list(bad.items())[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            warnings.warn(f"Skipping {len(bad)} image file(s) that cannot be decoded: "
                          f"{shown}{more}", stacklevel=4)
        return keep

    # -- batches ---------------------------------------------------------------------
    def _draw(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        if not gen:
            return None
        # The generator's cached snapshot (taken again only after a change).
        spec = gen._spec() if hasattr(gen, "_spec") else spec_of(gen)
        return spec, draw_batch(spec, len(index_array), self.image_shape, self._rng)

    def _load(self, index_array: np.ndarray) -> np.ndarray:
        filepaths = self.filepaths
        paths = [filepaths[j] for j in index_array]
        try:
            raw = _io.load_batch(paths, self.target_size, self.color_mode,
                                 self.interpolation, self.keep_aspect_ratio,
                                 draft=self.draft, num_threads=self._io_threads)
        except _io.ImageFileError as exc:
            hint = (" (it passed the check made when listing: the file changed since)"
                    if self.on_bad_file == "skip" else
                    "; pass on_bad_file='skip' to leave unreadable files out when listing")
            raise _io.ImageFileError(exc.path, exc.reason + hint) from exc.__cause__
        if self.data_format == "channels_first":
            raw = raw.transpose(0, 3, 1, 2)
        return raw

    def _render(self, index_array: np.ndarray, params: Any) -> Any:
        raw = self._load(index_array)
        if params is not None:
            spec, p = params
            batch_x = augment_batch(spec, raw, p, self.dtype)
        else:
            batch_x = np.ascontiguousarray(raw, dtype=self.dtype)
        if self.save_to_dir:
            _save_batch(batch_x, index_array, self.data_format, self.save_to_dir,
                        self.save_prefix, self.save_format, self._save_rng)
        return self._with_labels(batch_x, index_array)

    def _with_labels(self, batch_x: np.ndarray, index_array: np.ndarray) -> Any:
        # Keras's label construction, mode by mode.
        if self.class_mode == "input":
            batch_y: Any = batch_x.copy()
        elif self.class_mode in {"binary", "sparse"}:
            batch_y = np.empty(len(batch_x), dtype=self.dtype)
            for i, n_observation in enumerate(index_array):
                batch_y[i] = self.classes[n_observation]
        elif self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for i, n_observation in enumerate(index_array):
                batch_y[i, self.classes[n_observation]] = 1.0
        elif self.class_mode == "multi_output":
            batch_y = [output[index_array] for output in self.labels]
        elif self.class_mode == "raw":
            batch_y = self.labels[index_array]
        else:
            return batch_x
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]

    @property
    def filepaths(self) -> list[str]:
        """Paths of the image files, in index order."""
        return self._filepaths


#: Keras's name for the shared logic of its file iterators (a mixin there; an
#: ``Iterator`` subclass here, so ``class X(BatchFromFilesMixin, Iterator)``
#: still resolves).
BatchFromFilesMixin = _FilesIterator


class DirectoryIterator(_FilesIterator):
    """Iterator over image files in class folders (Keras's ``DirectoryIterator``).

    Same listing (class folders sorted, files in Keras's order, per-folder
    ``validation_split``), attributes (``filenames``, ``classes``,
    ``class_indices``, ``filepaths``, ``labels``) and batches as Keras's. Each
    batch's files are decoded in parallel, JPEGs much larger than
    ``target_size`` at reduced size (see ``fastaug.io.DRAFT``).

    Parameters
    ----------
    directory, image_data_generator, target_size, color_mode, classes, class_mode,
    batch_size, shuffle, seed, data_format, save_to_dir, save_prefix, save_format,
    follow_links, subset, interpolation, keep_aspect_ratio, dtype
        As in Keras.
    draft : bool, optional
        fastaug: reduced-size JPEG decoding (None: ``fastaug.io.DRAFT``).
    on_bad_file : {"raise", "skip"}
        fastaug: "raise" (default) fails at the batch that contains an
        unreadable file, with an ``ImageFileError`` (a ValueError) naming it;
        "skip" decodes every listed file once when listing and leaves out, with
        a warning, those that fail, so labels stay consistent.
    num_threads : int, optional
        fastaug: decode threads per batch (default: all usable cores).

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from fastaug.keras import ImageDataGenerator
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for c in ("cats", "dogs"):
    ...         os.mkdir(os.path.join(d, c))
    ...         for i in range(3):
    ...             Image.new("RGB", (20, 16)).save(os.path.join(d, c, f"{i}.png"))
    ...     it = ImageDataGenerator(rotation_range=10).flow_from_directory(
    ...         d, target_size=(8, 8), batch_size=4, seed=0)
    ...     x, y = it[0]
    Found 6 images belonging to 2 classes.
    >>> x.shape, y.shape, it.class_indices
    ((4, 8, 8, 3), (4, 2), {'cats': 0, 'dogs': 1})
    """

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(
        self,
        directory: Any,
        image_data_generator: Any,
        target_size: Any = (256, 256),
        color_mode: str = "rgb",
        classes: Any = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: Any = None,
        *,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
    ) -> None:
        from fastaug.keras._image_io import default_data_format, default_floatx

        if data_format is None:
            data_format = default_data_format()
        if dtype is None:
            dtype = default_floatx()
        self.set_processing_attrs(image_data_generator, target_size, color_mode,
                                  data_format, save_to_dir, save_prefix, save_format,
                                  subset, interpolation, keep_aspect_ratio)
        self._set_fastaug_attrs(draft, on_bad_file, num_threads)
        self.directory = directory
        self.classes = classes
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of: "
                             f"{self.allowed_class_modes}")
        self.class_mode = class_mode
        self.dtype = dtype
        directory = os.fspath(directory)
        if not classes:
            classes = _io.list_classes(directory)
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))

        filenames: list[str] = []
        labels: list[int] = []
        for subdir in classes:
            dirpath = os.path.join(directory, subdir)
            names = _io.list_class_directory(dirpath, self.split, follow_links,
                                             self.white_list_formats)
            if names:
                # Keras looks the folder's basename up: KeyError for odd names, as there.
                labels.extend([self.class_indices[os.path.basename(dirpath)]] * len(names))
            filenames.extend(names)
        keep = self._bad_file_mask([os.path.join(directory, f) for f in filenames])
        self.filenames = [f for f, k in zip(filenames, keep) if k]
        self.samples = len(self.filenames)
        self.classes = np.asarray(labels, dtype="int32")[keep] if filenames else \
            np.zeros((0,), dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(self.directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self) -> np.ndarray:
        """Class index of every file (``classes``)."""
        return self.classes

    @property
    def sample_weight(self) -> None:
        """Always None: directories carry no sample weights."""
        return None


def _is_dataframe(df: Any) -> bool:
    return all(hasattr(df, a) for a in ("copy", "iloc", "columns", "__getitem__"))


class DataFrameIterator(_FilesIterator):
    """Iterator over image files listed in a DataFrame (Keras's ``DataFrameIterator``).

    Same filtering (invalid file names, unknown classes), subsets, labels for
    every ``class_mode`` (including "raw" and "multi_output") and sample weights
    as Keras's. pandas is not a fastaug dependency: the DataFrame you pass is
    used through its own methods. File validation reads each folder once
    instead of a stat per row.

    Parameters
    ----------
    dataframe, directory, image_data_generator, x_col, y_col, weight_col,
    target_size, color_mode, classes, class_mode, batch_size, shuffle, seed,
    data_format, save_to_dir, save_prefix, save_format, subset, interpolation,
    keep_aspect_ratio, dtype, validate_filenames
        As in Keras.
    draft, on_bad_file, num_threads
        As in ``DirectoryIterator``.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd  # doctest: +SKIP
    >>> from PIL import Image
    >>> from fastaug.keras import ImageDataGenerator
    >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
    ...     for i in range(4):
    ...         Image.new("RGB", (12, 12)).save(os.path.join(d, f"{i}.png"))
    ...     df = pd.DataFrame({"filename": [f"{i}.png" for i in range(4)],
    ...                        "class": ["a", "b", "a", "b"]})
    ...     it = ImageDataGenerator().flow_from_dataframe(df, d, target_size=(8, 8))
    ...     x, y = it[0]
    Found 4 validated image filenames belonging to 2 classes.
    """

    allowed_class_modes = {"binary", "categorical", "input", "multi_output", "raw",
                           "sparse", None}

    def __init__(
        self,
        dataframe: Any,
        directory: Any = None,
        image_data_generator: Any = None,
        x_col: str = "filename",
        y_col: Any = "class",
        weight_col: str | None = None,
        target_size: Any = (256, 256),
        color_mode: str = "rgb",
        classes: Any = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        data_format: str = "channels_last",
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: Any = "float32",
        validate_filenames: bool = True,
        *,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
    ) -> None:
        if not _is_dataframe(dataframe):
            raise TypeError("dataframe must be a pandas DataFrame, got "
                            f"{type(dataframe).__name__}")
        self.set_processing_attrs(image_data_generator, target_size, color_mode,
                                  data_format, save_to_dir, save_prefix, save_format,
                                  subset, interpolation, keep_aspect_ratio)
        self._set_fastaug_attrs(draft, on_bad_file, num_threads)
        df = dataframe.copy()
        self.directory = os.fspath(directory) if directory else ""
        self.class_mode = class_mode
        self.dtype = dtype
        self._check_params(df, x_col, y_col, weight_col, classes)
        if validate_filenames:
            df = self._filter_valid_filepaths(df, x_col)
        num_classes = 0
        if class_mode not in ["input", "multi_output", "raw", None]:
            df, classes = self._filter_classes(df, y_col, classes)
            num_classes = len(classes)
            self.class_indices = dict(zip(classes, range(len(classes))))
        if self.split:
            num_files = len(df)
            start = int(self.split[0] * num_files)
            stop = int(self.split[1] * num_files)
            df = df.iloc[start:stop, :]
        # Undecodable files leave after the split, so no file changes subset.
        keep = self._bad_file_mask([os.path.join(self.directory, f)
                                    for f in df[x_col].tolist()])
        if not keep.all():
            df = df[keep]
        if class_mode not in ["input", "multi_output", "raw", None]:
            self.classes = self.get_classes(df, y_col)
        self.filenames = df[x_col].tolist()
        self._sample_weight = df[weight_col].values if weight_col else None
        if class_mode == "multi_output":
            self._targets = [np.array(df[col].tolist()) for col in y_col]
        if class_mode == "raw":
            self._targets = df[y_col].values
        self.samples = len(self.filenames)
        validated_string = "validated" if validate_filenames else "non-validated"
        if class_mode in ["input", "multi_output", "raw", None]:
            print(f"Found {self.samples} {validated_string} image filenames.")
        else:
            print(f"Found {self.samples} {validated_string} image filenames "
                  f"belonging to {num_classes} classes.")
        self._filepaths = [os.path.join(self.directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_params(self, df: Any, x_col: str, y_col: Any, weight_col: str | None,
                      classes: Any) -> None:
        # Keras's checks, order and messages.
        if self.class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {self.class_mode}; expected one of: "
                             f"{self.allowed_class_modes}")
        if self.class_mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError(f'If class_mode="{self.class_mode}", y_col must be a list. '
                            f"Received {type(y_col).__name__}.")
        if not all(isinstance(x, str) for x in df[x_col].tolist()):
            raise TypeError(f"All values in column x_col={x_col} must be strings.")
        if self.class_mode in {"binary", "sparse"} and not all(
                isinstance(x, str) for x in df[y_col].tolist()):
            raise TypeError(f'If class_mode="{self.class_mode}", y_col="{y_col}" column '
                            "values must be strings.")
        if self.class_mode == "binary":
            if classes:
                classes = set(classes)
                if len(classes) != 2:
                    raise ValueError('If class_mode="binary" there must be 2 '
                                     f"classes. {len(classes)} class/es were given.")
            elif df[y_col].nunique() != 2:
                raise ValueError('If class_mode="binary" there must be 2 classes. '
                                 f"Found {df[y_col].nunique()} classes.")
        if self.class_mode == "categorical":
            types = (str, list, tuple)
            if not all(isinstance(x, types) for x in df[y_col].tolist()):
                raise TypeError(f'If class_mode="{self.class_mode}", y_col="{y_col}" column '
                                "values must be type string, list or tuple.")
        if classes and self.class_mode in {"input", "multi_output", "raw", None}:
            warnings.warn(f'`classes` will be ignored given the class_mode="{self.class_mode}"',
                          stacklevel=4)
        if weight_col and not issubclass(df[weight_col].dtype.type, np.number):
            raise TypeError(f"Column weight_col={weight_col} must be numeric.")

    def get_classes(self, df: Any, y_col: str) -> list[Any]:
        """Class indices of every row (lists of indices for multi-label rows)."""
        labels: list[Any] = []
        for label in df[y_col]:
            if isinstance(label, (list, tuple)):
                labels.append([self.class_indices[lbl] for lbl in label])
            else:
                labels.append(self.class_indices[label])
        return labels

    @staticmethod
    def _filter_classes(df: Any, y_col: str, classes: Any) -> tuple[Any, list[Any]]:
        df = df.copy()

        def remove_classes(labels: Any, classes: Any) -> Any:
            if isinstance(labels, (list, tuple)):
                labels = [cls for cls in labels if cls in classes]
                return labels or None
            if isinstance(labels, str):
                return labels if labels in classes else None
            raise TypeError("Expect string, list or tuple "
                            f"but found {type(labels)} in {y_col} column ")

        if classes:
            classes = list(collections.OrderedDict.fromkeys(classes).keys())
            df[y_col] = df[y_col].apply(lambda x: remove_classes(x, classes))
        else:
            found: set[Any] = set()
            for v in df[y_col]:
                if isinstance(v, (list, tuple)):
                    found.update(v)
                else:
                    found.add(v)
            classes = sorted(found)
        return df.dropna(subset=[y_col]), classes

    def _filter_valid_filepaths(self, df: Any, x_col: str) -> Any:
        """Rows whose file exists and has an allowed extension (Keras's rule)."""
        paths = [os.path.join(self.directory, f) for f in df[x_col].tolist()]
        mask = np.array([p.lower().endswith(self.white_list_formats) for p in paths], bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            mask[idx] = _io.existing_files([paths[i] for i in idx])
        n_invalid = int((~mask).sum())
        if n_invalid:
            warnings.warn(f'Found {n_invalid} invalid image filename(s) in x_col="{x_col}". '
                          "These filename(s) will be ignored.",
                          stacklevel=4)
        return df[mask]

    @property
    def labels(self) -> Any:
        """Targets: class indices, or the raw / multi-output columns."""
        if self.class_mode in {"multi_output", "raw"}:
            return self._targets
        return self.classes

    @property
    def sample_weight(self) -> Any:
        """The ``weight_col`` values, or None."""
        return self._sample_weight
