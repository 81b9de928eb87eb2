"""The output paths of a command, checked before any work: writable, not one of the command's inputs, and in a
format the writer knows."""

from pathlib import Path

from zoo.runs import OutputFolderError, check_output_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pdf")
"""Image files a grid can be written as (those of them this Pillow can save)."""


def image_suffixes() -> tuple[str, ...]:
    """The suffixes of :data:`IMAGE_SUFFIXES` that the installed Pillow has a writer for."""
    from PIL import Image

    Image.init()
    extensions = Image.registered_extensions()
    return tuple(s for s in IMAGE_SUFFIXES if extensions.get(s) in Image.SAVE)


def check_output(path: str | Path, flag: str, inputs: tuple = (), suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse, before any work, an output ``path`` (given as ``flag``) that is a folder or cannot be written, that
    is one of ``inputs`` (which it would overwrite or append to), or whose suffix is not one of ``suffixes``."""
    if suffixes is not None and Path(path).suffix.lower() not in suffixes:
        raise OutputFolderError(f"{flag} {path}: unknown image format {Path(path).suffix or '(no suffix)'!r}. "
                                f"Nothing was computed. Fix: end the name with one of {', '.join(suffixes)}.")
    for source in inputs:
        if Path(path).exists() and Path(source).exists() and Path(path).samefile(source):
            raise OutputFolderError(f"{flag} {path} is one of the inputs ({source}); writing it would destroy it. "
                                    f"Nothing was computed. Fix: give {flag} a new file.")
    check_output_file(path, flag)
