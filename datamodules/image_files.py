"""The images of a folder: which files and classes it holds (listed without decoding), and one file decoded.

A folder's classes are its immediate sub-folders that hold images (sorted names, as torchvision's ``ImageFolder``);
a folder without such sub-folders is one class named after the folder. Images are searched recursively; hidden
files and folders (names starting with ``.``) are skipped. Decoding is Pillow's (every format it reads: PNG, JPEG,
BMP, GIF's first frame, WebP, TIFF, PPM/PGM), the EXIF orientation applied, transparency flattened onto white,
converted to greyscale (``L``) or RGB, centre-cropped to a square (keeping the aspect ratio) and resized.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .base import CorruptDatasetError, DatasetNotFoundError

EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
"""File name endings (any case) read as images; other files are ignored."""
DECODER_VERSION = 1
"""Part of every cache key: raise it when :func:`decode` changes, so caches made by the old decoder are rebuilt."""
BACKGROUND = (255, 255, 255, 255)
"""What transparent pixels are flattened onto: white."""


@dataclass(frozen=True)
class ImageFile:
    """One image file of a folder, as listed (not decoded)."""

    path: str
    """Relative to the folder, with ``/`` separators."""
    size: int
    """Bytes."""
    mtime_ns: int
    """Last modification, in nanoseconds."""
    label: int
    """Index of its class in :attr:`Listing.class_names`."""


@dataclass(frozen=True)
class Listing:
    """What a folder holds, found without decoding anything."""

    root: Path
    files: tuple[ImageFile, ...]
    """The images used, sorted by path."""
    class_names: tuple[str, ...]
    unused: tuple[str, ...]
    """Images directly in ``root`` while sub-folders hold the classes (not used: they belong to no class)."""

    def class_counts(self) -> list[int]:
        """Images per class, in label order."""
        counts = [0] * len(self.class_names)
        for file in self.files:
            counts[file.label] += 1
        return counts

    def key(self, image_size: int, channels: int) -> str:
        """A digest of every file's (path, size, mtime) and of how they are decoded: any change gives another key."""
        listed = [[f.path, f.size, f.mtime_ns] for f in self.files]
        text = json.dumps([DECODER_VERSION, image_size, channels, listed], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def list_images(root: Path) -> Listing:
    """List the images under ``root`` and their classes (see the module docstring).

    Raises:
        DatasetNotFoundError: ``root`` is missing or not a folder, or holds no image.
        CorruptDatasetError: a folder under ``root`` cannot be read.
    """
    looked_for = f"image files ({', '.join(EXTENSIONS)}, any case)"
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetNotFoundError(f"the image folder {root.resolve()} {what}. Fix: give the folder that holds your "
                                   f"{looked_for} as --data.init_args.root (root= in Python).")
    found = sorted(_walk(root, root, set()), key=lambda item: item[0])  # (relative path, stat)
    if not found:
        raise DatasetNotFoundError(f"no images in {root.resolve()} or its sub-folders: looked for {looked_for}; "
                                   "hidden files and folders (.name) are skipped. Fix: put the images there (one "
                                   "sub-folder per class, or all in the folder for one class), or give another root.")
    class_of = {rel.split("/")[0] for rel, _ in found if "/" in rel}
    class_names = tuple(sorted(class_of)) or (root.resolve().name or str(root),)
    index = {name: i for i, name in enumerate(class_names)}
    files, unused = [], []
    for rel, stat in found:
        if class_of and "/" not in rel:
            unused.append(rel)
            continue
        label = index[rel.split("/")[0]] if class_of else 0
        files.append(ImageFile(rel, stat.st_size, stat.st_mtime_ns, label))
    return Listing(root, tuple(files), class_names, tuple(unused))


def _walk(folder: Path, root: Path, seen: set[str]):
    """Yield (path relative to ``root``, stat) of every image file under ``folder``; symbolic links to folders are
    followed, each real folder visited once (no cycles)."""
    real = os.path.realpath(folder)
    if real in seen:
        return
    seen.add(real)
    try:
        entries = list(os.scandir(folder))
    except OSError as error:
        raise CorruptDatasetError(f"cannot read the folder {folder.resolve()} ({error.strerror or error}). Fix: make "
                                  f"it readable, or move it out of {root.resolve()}.") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir():
            yield from _walk(path, root, seen)
        elif entry.name.lower().endswith(EXTENSIONS) and entry.is_file():
            yield path.relative_to(root).as_posix(), entry.stat()


def decode(path: Path, size: int, channels: int) -> np.ndarray:
    """Decode one image file into a uint8 array (channels, size, size) (see the module docstring for the steps).

    Raises:
        Whatever Pillow raises for a file it cannot read (the caller names the file).
    """
    with Image.open(path) as image:
        image.draft("L" if channels == 1 else "RGB", (size, size))  # JPEG: decode at the smallest scale >= size
        image = ImageOps.exif_transpose(image)
    image = _flatten(image, channels)
    image = ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)  # centre crop to a square, then resize
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _flatten(image: Image.Image, channels: int) -> Image.Image:
    """``image`` as ``L`` (channels 1) or ``RGB`` (3): 16-bit greyscale scaled to 8 bits, transparency onto white."""
    if image.mode.startswith("I;16"):
        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8))
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUND), rgba)
    return image.convert("L" if channels == 1 else "RGB")
