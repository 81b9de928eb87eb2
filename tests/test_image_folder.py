"""ImageFolderDataModule on folders the tests write: classes, conversions, sizes, unreadable files, the uint8 cache
(reuse, invalidation, memory map, killed builds), splits, errors, the extractor story and one real ``zoo fit``."""

import errno
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules import (CorruptDatasetError, DatasetNotFoundError, DataSplitError, ImageFolderDataModule,
                         SyntheticDataModule)
from datamodules import image_cache, image_files
from tests.conftest import run_in_process
from zoo.arguments import InvalidArgument, declared_ranges
from zoo.errors import explain
from zoo.metrics.classifier import ClassifierUnavailable, ImageClassifier, load_classifier, save_classifier
from zoo.metrics.features import ExtractorUnavailable, check_extractor_fits, default_extractor

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parent.parent


def solid(path: Path, colour, size=(12, 12), mode: str = "RGB") -> Path:
    """Save a one-colour image (``size`` is width, height) in the format of ``path``'s extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def noise(path: Path, size=(12, 12), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def two_classes(root: Path, per_class: int = 10) -> Path:
    """``root/bright`` (white) and ``root/dark`` (black) images, PNG and JPEG, of mixed sizes."""
    for i in range(per_class):
        solid(root / "bright" / f"{i}.png", (255, 255, 255), (12 + i, 10))
        solid(root / "dark" / f"{i}.{'jpg' if i % 2 else 'png'}", (0, 0, 0), (10, 14 + i))
    return root


def folder(root: Path, **kwargs) -> ImageFolderDataModule:
    settings = dict(data_dir=str(root.parent / "data"), image_size=8, channels=1, batch_size=4)
    return ImageFolderDataModule(str(root), **{**settings, **kwargs})


def everything(dm: ImageFolderDataModule):
    """Images and labels of the three splits together."""
    dm.setup()
    splits = [dm.test_set, dm.val_set, dm.train_set]
    return torch.cat([s.images for s in splits]), torch.cat([s.labels for s in splits])


@pytest.fixture
def decoder_calls(monkeypatch) -> list[Path]:
    """Every file the data module decodes."""
    calls, real = [], image_files.decode
    monkeypatch.setattr(image_files, "decode", lambda path, *a: calls.append(path) or real(path, *a))
    return calls


# ------------------------------------------------------------------ what is known before decoding


def test_classes_come_from_sub_folders_and_are_known_before_decoding(tmp_path, monkeypatch):
    root = two_classes(tmp_path / "pics")
    monkeypatch.setattr(image_files, "decode", lambda *a: pytest.fail("decoded at construction"))
    dm = folder(root, image_size=16, channels=3)
    assert dm.class_names == ("bright", "dark") and dm.num_classes == 2
    assert dm.image_shape == (3, 16, 16)
    assert (dm.val_size, dm.test_size) == (2, 2)  # a tenth of 20, rounded up


def test_labels_follow_the_sub_folders(tmp_path):
    dm = folder(two_classes(tmp_path / "pics"))
    images, labels = everything(dm)
    assert len(images) == 20 and labels.dtype == torch.int64
    bright = images.flatten(1).float().mean(1) > 127
    assert torch.equal(labels, (~bright).long())  # class 0 "bright" is white, class 1 "dark" black


def test_a_folder_without_sub_folders_is_one_class_named_after_it(tmp_path):
    root = tmp_path / "faces"
    for i in range(5):
        solid(root / f"{i}.png", (i * 50, 0, 0))
    dm = folder(root, batch_size=1)
    assert dm.class_names == ("faces",) and dm.num_classes == 1
    assert set(everything(dm)[1].tolist()) == {0}


def test_images_beside_class_folders_are_left_out_with_a_warning(tmp_path):
    root = two_classes(tmp_path / "pics")
    solid(root / "stray.png", (9, 9, 9))
    with pytest.warns(UserWarning, match=r"1 image directly in .*pics not used \(stray.png\)"):
        dm = folder(root)
    assert len(dm.listing.files) == 20 and dm.class_names == ("bright", "dark")


def test_nested_hidden_and_other_files(tmp_path):
    root = tmp_path / "pics"
    solid(root / "a" / "deep" / "er" / "x.PNG", (1, 1, 1))  # found recursively, any case of extension
    solid(root / "b" / "y.bmp", (2, 2, 2))
    solid(root / "b" / ".hidden.png", (3, 3, 3))
    solid(root / ".cache" / "z.png", (3, 3, 3))
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    dm = folder(root, batch_size=1, val_size=0, test_size=0)
    assert dm.class_names == ("a", "b")
    assert [f.path for f in dm.listing.files] == ["a/deep/er/x.PNG", "b/y.bmp"]


def test_a_class_too_small_for_every_split_is_named_in_a_warning(tmp_path):
    root = two_classes(tmp_path / "pics")
    solid(root / "rare" / "only.png", (128, 128, 128))
    with pytest.warns(UserWarning, match=r"'rare' \(1 image\)"):
        dm = folder(root)
    assert dm.class_names == ("bright", "dark", "rare")
    assert 2 in everything(dm)[1].tolist()  # its one image is in some split, labelled


# ------------------------------------------------------------------ decoding


@pytest.mark.parametrize("channels", [1, 3])
def test_rgb_grey_transparent_and_palette_images_are_converted(tmp_path, channels):
    root = tmp_path / "mixed"
    solid(root / "red.png", (255, 0, 0))
    solid(root / "grey.png", 200, mode="L")
    solid(root / "clear.png", (0, 0, 0, 0), mode="RGBA")  # fully transparent: white
    Image.new("RGB", (12, 12), (0, 0, 255)).convert("P").save(root / "blue.gif")
    solid(root / "photo.jpg", (0, 255, 0))
    solid(root / "wide16.png", 0x8000, mode="I;16")  # 16-bit grey: the high byte
    dm = folder(root, channels=channels, batch_size=1, val_size=0, test_size=0)
    dm.setup("fit")
    pixels = {dm.listing.files[i].path: dm.train_set.images[row, :, 4, 4].tolist()
              for row, i in enumerate(dm.decoded().rows.tolist())}
    luma = lambda r, g, b: (r * 299 + g * 587 + b * 114) // 1000  # noqa: E731  (Pillow's L conversion)
    expected = {"red.png": (255, 0, 0), "grey.png": (200,) * 3, "clear.png": (255,) * 3, "blue.gif": (0, 0, 255),
                "wide16.png": (128,) * 3}
    for name, rgb in expected.items():
        assert pixels[name] == ([luma(*rgb)] if channels == 1 else list(rgb)), name
    green = pixels["photo.jpg"]  # JPEG is lossy
    assert len(green) == channels and abs(green[-2 if channels == 3 else 0] - (255 if channels == 3 else 149)) <= 3


def test_mixed_sizes_are_centre_cropped_to_a_square_then_resized(tmp_path):
    root = tmp_path / "shapes"
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = 255  # only the centre square is white
    root.mkdir()
    Image.fromarray(wide).save(root / "wide.png")
    tall = np.zeros((90, 30, 3), np.uint8)
    tall[30:60] = 255
    Image.fromarray(tall).save(root / "tall.jpg", quality=100)
    noise(root / "small.png", (5, 7))  # smaller than image_size: enlarged
    dm = folder(root, image_size=10, batch_size=1, val_size=0, test_size=0)
    dm.setup("fit")
    assert dm.train_set.images.shape == (3, 1, 10, 10)
    for row, index in enumerate(dm.decoded().rows.tolist()):
        image, name = dm.train_set.images[row, 0], dm.listing.files[index].path
        if name != "small.png":  # the black thirds were cropped away (the filter reaches just past the crop)
            assert image[1:-1, 1:-1].min() >= 250 and image.float().mean() > 240, name


def test_the_exif_orientation_is_applied(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :10] = 255  # stored wide, left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated a quarter turn clockwise: tall, top half white
    Image.fromarray(pixels).save(root / "turned.jpg", exif=exif, quality=100)
    dm = folder(root, image_size=10, batch_size=1, val_size=0, test_size=0)
    dm.setup("fit")
    image = dm.train_set.images[0, 0]
    assert image[:4].min() > 200 and image[6:].max() < 50


def test_batches_match_the_other_data_modules(tmp_path):
    dm = folder(two_classes(tmp_path / "pics"), image_size=28)
    synthetic = SyntheticDataModule(batch_size=4, val_size=4, num_images=16)
    synthetic.setup("fit")
    ours, theirs = next(iter(dm.train_dataloader())), next(iter(synthetic.train_dataloader()))
    for mine, other in zip(ours, theirs):
        assert mine.dtype == other.dtype and mine.shape == other.shape
    images = torch.cat([x for x, _ in dm.train_dataloader()])
    assert set(images.unique().tolist()) <= {-1.0, 1.0}  # white -> 1.0, black -> -1.0 exactly (PNG)
    assert len(dm.train_dataloader()) == 16 // 4 and len(dm.val_dataloader()) == 1


# ------------------------------------------------------------------ splits


def test_splits_are_disjoint_fixed_by_the_folder_and_slices_of_the_cache(tmp_path):
    root = tmp_path / "pics"
    for i in range(30):
        noise(root / f"{i:02d}.png", seed=i)
    first, second = folder(root, seed=1, batch_size=2), folder(root, seed=7, batch_size=2)
    ids = lambda split: {bytes(image.numpy()) for image in split.images}  # noqa: E731
    for dm in (first, second):
        dm.setup()
        assert (len(dm.test_set), len(dm.val_set), len(dm.train_set)) == (3, 3, 24)
        assert dm.train_set.images.data_ptr() > dm.test_set.images.data_ptr()  # views of one array
    for name in ("test_set", "val_set", "train_set"):
        assert ids(getattr(first, name)) == ids(getattr(second, name))  # seed shuffles, it does not split
    assert not ids(first.test_set) & ids(first.val_set) and not ids(first.val_set) & ids(first.train_set)
    subset = folder(root, train_subset=5, batch_size=2)
    subset.setup("fit")
    assert len(subset.train_set) == 5


def test_split_sizes_that_leave_no_batch_are_refused_at_construction(tmp_path):
    root = two_classes(tmp_path / "pics")
    with pytest.raises(DataSplitError, match="val_size=15 and test_size=5 leave no training images out of the 20"):
        folder(root, val_size=15, test_size=5)
    with pytest.raises(DataSplitError, match="batch_size=64 is larger than the 16 training images") as refused:
        folder(root, batch_size=64)
    assert "Fix:" in str(refused.value)
    dm = folder(root, test_size=0)
    with pytest.raises(DataSplitError, match="no test split"):
        dm.setup("test")


# ------------------------------------------------------------------ unreadable files


def test_an_unreadable_file_is_named_and_refused(tmp_path):
    root = two_classes(tmp_path / "pics")
    (root / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but nothing else")
    dm = folder(root)
    with pytest.raises(CorruptDatasetError) as refused:
        dm.setup("fit")
    message = explain(refused.value)
    assert "1 of the 21 image files" in message and str(root / "dark" / "broken.png") in message
    assert "skip_corrupt" in message and "delete or replace" in message


def test_skip_corrupt_leaves_unreadable_files_out_with_a_count(tmp_path, decoder_calls):
    root = two_classes(tmp_path / "pics")
    (root / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but nothing else")
    (root / "dark" / "cut.jpg").write_bytes((root / "dark" / "1.jpg").read_bytes()[:200])  # truncated JPEG
    with pytest.raises(CorruptDatasetError, match="2 of the 22 image files"):
        folder(root).setup("fit")  # decodes once, and caches what could not be decoded
    decoder_calls.clear()
    with pytest.warns(UserWarning, match=r"left out 2 of the 22 image files .*broken.png.*cut.jpg"):
        images, labels = everything(folder(root, skip_corrupt=True))
    assert len(images) == 20 and decoder_calls == []  # the cache remembered: nothing decoded again


def test_a_folder_of_undecodable_files_is_refused(tmp_path):
    root = tmp_path / "pics"
    for i in range(3):
        (root / f"{i}.jpg").parent.mkdir(exist_ok=True)
        (root / f"{i}.jpg").write_text("text, not JPEG")
    with pytest.raises(CorruptDatasetError, match="none of the 3 image files"):
        folder(root, batch_size=1, skip_corrupt=True).setup("fit")


# ------------------------------------------------------------------ missing and empty folders


def test_a_missing_root_or_a_file_is_refused(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist") as missing:
        folder(tmp_path / "nowhere")
    assert "--data.init_args.root" in explain(missing.value) and ".png" in str(missing.value)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match="is a file, not a folder"):
        folder(tmp_path / "file.png")


def test_a_folder_without_images_lists_the_extensions_looked_for(tmp_path):
    root = tmp_path / "empty"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "readme.txt").write_text("no images")
    with pytest.raises(DatasetNotFoundError) as refused:
        folder(root)
    message = str(refused.value)
    assert "no images in" in message and all(ext in message for ext in (".png", ".jpg", ".webp", ".gif"))


# ------------------------------------------------------------------ the cache


def test_a_second_setup_decodes_nothing(tmp_path, decoder_calls):
    root = two_classes(tmp_path / "pics")
    first = everything(folder(root))
    assert len(decoder_calls) == 20
    decoder_calls.clear()
    second = everything(folder(root))
    assert decoder_calls == []
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    [cache] = (tmp_path / "data" / "image-folder-cache").iterdir()
    assert cache.name.startswith("pics-") and cache.name.endswith("-1x8.u8")


def test_a_changed_added_or_removed_file_is_decoded_again(tmp_path, decoder_calls):
    root = two_classes(tmp_path / "pics")
    everything(folder(root))
    changed = root / "bright" / "3.png"
    solid(changed, (0, 0, 0), (13, 10))  # now black
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    decoder_calls.clear()
    dm = folder(root)
    images, labels = everything(dm)
    assert changed in decoder_calls
    row = dm.decoded().rows.tolist().index([f.path for f in dm.listing.files].index("bright/3.png"))
    assert images[row].max() == 0
    for change in (lambda: solid(root / "dark" / "new.png", (0, 0, 0)), lambda: (root / "dark" / "0.png").unlink()):
        change()
        decoder_calls.clear()
        everything(folder(root))
        assert decoder_calls
    decoder_calls.clear()
    everything(folder(root, image_size=6))  # another size is another cache
    assert decoder_calls


def test_the_memory_mapped_cache(tmp_path, decoder_calls):
    root = two_classes(tmp_path / "pics")
    in_memory = everything(folder(root, data_dir=str(tmp_path / "memory")))
    mapped = folder(root, memory_limit_gb=0)  # every cache is larger: decoded straight into the file
    images, labels = everything(mapped)
    assert all(torch.equal(a, b) for a, b in zip(in_memory, (images, labels)))
    maps = Path("/proc/self/maps").read_text().splitlines()
    pointer = mapped.train_set.images.data_ptr()
    assert any(str(mapped.cache_path) in line and int(line.split("-")[0], 16) <= pointer
               < int(line.split()[0].split("-")[1], 16) for line in maps), "the training images are not mapped"
    decoder_calls.clear()
    again = folder(root, memory_limit_gb=0)
    again.setup("fit")
    assert decoder_calls == [] and torch.equal(again.train_set.images, mapped.train_set.images)
    x, y = next(iter(again.train_dataloader()))
    assert x.dtype == torch.float32 and x.shape == (4, 1, 8, 8) and y.dtype == torch.int64


def test_no_room_for_the_memory_map_is_one_clear_error(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    dm = folder(two_classes(tmp_path / "pics"), memory_limit_gb=0)
    with pytest.raises(InvalidArgument) as refused:
        dm.setup("fit")
    message = explain(refused.value)
    assert "more than the memory limit" in message and "No space left on device" in message
    assert "data_dir" in message and "image_size" in message
    assert list((tmp_path / "data" / "image-folder-cache").iterdir()) == []  # nothing half-written is left


def test_an_unwritable_cache_falls_back_to_memory_when_it_fits(tmp_path, monkeypatch, decoder_calls):
    def refuse(*args):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(image_cache, "save", refuse)
    root = two_classes(tmp_path / "pics")
    with pytest.warns(UserWarning, match="could not write the decoded images' cache .*Permission denied"):
        images, _ = everything(folder(root))
    assert len(images) == 20


def test_a_killed_build_leaves_nothing_that_is_trusted(tmp_path, monkeypatch):
    root = two_classes(tmp_path / "pics")
    real, calls = image_files.decode, []

    def dies(path, *args):
        if len(calls) > 5:
            raise KeyboardInterrupt  # killed mid-decode
        calls.append(path)
        return real(path, *args)

    monkeypatch.setattr(image_files, "decode", dies)
    with pytest.raises(KeyboardInterrupt):
        folder(root, memory_limit_gb=0).setup("fit")  # decoding into the file itself
    cache = folder(root).cache_path
    assert not cache.exists() and list(cache.parent.iterdir()) == []
    (cache.parent / f".{cache.name}.abandoned").write_bytes(b"\0" * 100)  # as left by kill -9
    monkeypatch.setattr(image_files, "decode", real)
    everything(folder(root))
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # the abandoned temporary was removed


def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path, decoder_calls):
    root = two_classes(tmp_path / "pics")
    first = everything(folder(root))
    cache = folder(root).cache_path
    for damage in (lambda data: data[:-5], lambda data: data[:100], lambda data: b"", lambda data: b"x" * len(data)):
        cache.write_bytes(damage(cache.read_bytes()))
        decoder_calls.clear()
        assert all(torch.equal(a, b) for a, b in zip(first, everything(folder(root))))
        assert len(decoder_calls) == 20


def test_decoding_with_worker_threads_gives_the_same_cache(tmp_path):
    root = two_classes(tmp_path / "pics")
    one = everything(folder(root, data_dir=str(tmp_path / "a")))
    threads = everything(folder(root, data_dir=str(tmp_path / "b"), num_workers=3))
    assert all(torch.equal(a, b) for a, b in zip(one, threads))


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize("name", sorted(declared_ranges(ImageFolderDataModule)))
def test_arguments_out_of_range_are_refused_by_name(tmp_path, name):
    root = two_classes(tmp_path / "pics")
    kind, allowed = declared_ranges(ImageFolderDataModule)[name]
    bad = (allowed.low - 1) if allowed.low is not None else math.nan
    with pytest.raises(InvalidArgument, match=name):
        folder(root, **{name: kind(bad)})


def test_two_channels_are_refused(tmp_path):
    with pytest.raises(InvalidArgument, match=r"channels must be 1 \(greyscale\) or 3 \(RGB\), got 2"):
        folder(two_classes(tmp_path / "pics"), channels=2)


def test_a_checkpoint_rebuilds_the_data_module_from_any_folder(tmp_path, monkeypatch):
    """``zoo evaluate`` rebuilds the data from the checkpoint's hyper-parameters: the root is stored absolute."""
    from zoo.checkpoint import load_datamodule

    two_classes(tmp_path / "pics")
    monkeypatch.chdir(tmp_path)
    dm = ImageFolderDataModule("pics", image_size=8, batch_size=4, channels=1)
    assert dm.hparams["root"] == str(tmp_path / "pics") and dm.folder == tmp_path / "pics"
    checkpoint = tmp_path / "fake.ckpt"
    torch.save({"state_dict": {}, "datamodule_hyper_parameters": {
        **dm.hparams, "_class_path": "datamodules.ImageFolderDataModule"}}, checkpoint)
    monkeypatch.chdir(tmp_path.parent)
    rebuilt = load_datamodule(checkpoint)
    assert (rebuilt.folder, rebuilt.class_names, rebuilt.image_shape) == (dm.folder, dm.class_names, (1, 8, 8))


# ------------------------------------------------------------------ extractors and train-classifier


def test_no_shipped_extractor_scores_an_image_folder(tmp_path):
    dm = folder(two_classes(tmp_path / "pics"))
    with pytest.raises(ExtractorUnavailable) as refused:
        default_extractor(dm)  # zoo evaluate without --extractor
    message = explain(refused.value)
    assert "no feature extractor is given" in message and "--extractor classifier:" in message
    assert f"zoo train-classifier --data image_folder --root {dm.folder} --image-size 8 --channels 1" in message
    flag = "--trainer.callbacks.init_args.extractor"
    with pytest.raises(ExtractorUnavailable, match="fmnist-classifier is Fashion-MNIST's classifier"):
        check_extractor_fits("fmnist-classifier", dm, flag)
    check_extractor_fits("inception", dm, flag)


def test_a_classifier_of_another_size_is_refused_before_training(tmp_path):
    dm = folder(two_classes(tmp_path / "pics"))
    path = tmp_path / "c.pt"
    save_classifier(ImageClassifier((3, 64, 64), 2), path, 0.5)
    with pytest.raises(ExtractorUnavailable, match=r"takes \(3, 64, 64\) images; the data are \(1, 8, 8\)"):
        check_extractor_fits(f"classifier:{path}", dm, "--x")
    with pytest.raises(ClassifierUnavailable):
        check_extractor_fits(f"classifier:{tmp_path / 'missing.pt'}", dm, "--x")


def test_a_split_too_small_for_the_quality_metrics_is_refused_by_name(tmp_path):
    from zoo.callbacks import QualityMetrics

    dm = folder(two_classes(tmp_path / "pics"))  # 2 validation images
    with pytest.raises(InvalidArgument, match=r"the val split holds 2 images, too few .*pr needs 4") as refused:
        QualityMetrics(num_images=16, metrics=("fid", "pr")).reference_images(dm)
    assert "--data.init_args.val_size" in explain(refused.value)


def test_train_classifier_on_an_image_folder(tmp_path):
    root = two_classes(tmp_path / "pics")
    out = tmp_path / "pics.pt"
    code, output = run_in_process(["train-classifier", "--data", "image_folder", "--root", str(root), "--image-size",
                                   "8", "--channels", "1", "--epochs", "2", "--data-dir", str(tmp_path / "data"),
                                   "--out", str(out)], with_stdout=True)
    assert code == 0, output
    assert f"classifier:{out}" in output
    classifier = load_classifier(str(out))
    assert classifier.image_shape == (1, 8, 8) and classifier.num_classes == 2
    check_extractor_fits(f"classifier:{out}", folder(root), "--x")


def test_train_classifier_refuses_one_class_and_a_stray_root(tmp_path):
    root = tmp_path / "one"
    for i in range(5):
        solid(root / f"{i}.png", (i, i, i))
    code, output = run_in_process(["train-classifier", "--data", "image_folder", "--root", str(root),
                                   "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "c.pt")])
    assert code == 1 and "a classifier needs two or more" in output and "inception" in output
    code, output = run_in_process(["train-classifier", "--root", str(root), "--out", str(tmp_path / "c.pt")])
    assert code == 2 and "--root DIR goes with --data image_folder" in output


def test_fit_with_the_shipped_extractor_on_an_image_folder_says_what_to_do(tmp_path):
    root = two_classes(tmp_path / "pics", per_class=20)
    code, output = run_in_process(["fit", "--config", "dcgan_small_fashion_mnist.yaml", "--data",
                                   "ImageFolderDataModule", f"--data.init_args.root={root}",
                                   "--data.init_args.image_size=28", "--data.init_args.channels=1",
                                   f"--data.init_args.data_dir={tmp_path / 'data'}", "--data.init_args.batch_size=8",
                                   f"--trainer.default_root_dir={tmp_path / 'runs'}", "--trainer.max_steps=2"])
    assert code == 1 and "Traceback" not in output
    assert "extractor fmnist-classifier is Fashion-MNIST's classifier and cannot score" in output
    assert "--trainer.callbacks.init_args.extractor classifier:" in output and "zoo train-classifier" in output


def test_zoo_fit_trains_a_shipped_conditional_config_on_an_image_folder(tmp_path):
    """Real processes: a shipped conditional Fashion-MNIST config (cGAN), its data swapped for a folder whose
    sub-folders are the classes, its quality curve scored by a classifier of that folder; it trains on the folder's
    two classes, writes a checkpoint, and samples a class of the folder by its name."""
    root = two_classes(tmp_path / "pics", per_class=20)
    classifier = tmp_path / "pics.pt"
    save_classifier(ImageClassifier((1, 28, 28), 2), classifier, 0.5)  # the format `zoo train-classifier` writes
    command = [sys.executable, "-m", "zoo.cli", "fit", "--config", "cgan_fashion_mnist.yaml",
               "--data", "datamodules.ImageFolderDataModule", "--data.init_args.root", str(root),
               "--data.init_args.image_size", "28", "--data.init_args.channels", "1",
               "--data.init_args.batch_size", "8", "--data.init_args.data_dir", str(tmp_path / "data"),
               "--trainer.callbacks.init_args.extractor", f"classifier:{classifier}",
               "--trainer.callbacks.init_args.num_images", "8", "--trainer.max_steps", "4",
               "--trainer.precision", "32", "--trainer.enable_progress_bar", "false",
               "--trainer.default_root_dir", str(tmp_path / "runs")]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    [checkpoint] = (tmp_path / "runs").glob("*/version_0/checkpoints/last.ckpt")
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert saved["datamodule_hyper_parameters"]["root"] == str(root)
    assert saved["hyper_parameters"]["image_shape"] in ((1, 28, 28), [1, 28, 28])
    assert saved["hyper_parameters"]["num_classes"] == 2  # the folder's classes, linked like the image shape
    assert tuple(saved["hyper_parameters"]["class_names"]) == ("bright", "dark")
    metrics = next((tmp_path / "runs").glob("*/version_0/metrics.csv")).read_text()
    assert "val/fid[classifier:pics]" in metrics
    out = tmp_path / "dark.png"
    sampled = subprocess.run([sys.executable, "-m", "zoo.cli", "sample", "--ckpt", str(checkpoint), "--class", "Dark",
                              "--n", "4", "--out", str(out), "--no-progress"], cwd=tmp_path, env=environment,
                             capture_output=True, text=True, timeout=120)
    assert sampled.returncode == 0 and out.is_file(), sampled.stderr[-2000:]
