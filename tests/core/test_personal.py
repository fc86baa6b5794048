"""Your digits: kept in an ImageFolder layout, read through to_mnist whatever the picture, never a crash."""

import errno
import json
import os

import numpy as np
import pytest
from PIL import Image

from mnistconv.core import atomic
from mnistconv.core.personal import PersonalDigits, PersonalError, digit_image, read_picture
from mnistconv.core.preprocess import to_mnist


def stroke_picture(side=280, thickness=18) -> np.ndarray:
    """A '1': a bright vertical bar on black, as the canvas gives it (float 0–1)."""
    picture = np.zeros((side, side), dtype=np.float32)
    picture[side // 5 : side - side // 5, side // 2 - thickness // 2 : side // 2 + thickness // 2] = 1.0
    return picture


def test_a_kept_drawing_is_a_png_in_its_digits_folder_with_its_strokes(tmp_path):
    digits = PersonalDigits(tmp_path / "mine")
    strokes = [[(140.0, 50.0), (140.0, 230.0)]]
    kept = digits.add(stroke_picture(), 1, strokes)
    assert kept.path.parent == tmp_path / "mine" / "1" and kept.path.suffix == ".png"
    assert json.loads(kept.strokes_path.read_text())["strokes"] == [[[140.0, 50.0], [140.0, 230.0]]]
    with Image.open(kept.path) as saved:
        assert saved.size == (280, 280) and saved.mode == "L"
    np.testing.assert_allclose(digit_image(kept.path), to_mnist(stroke_picture()), atol=2 / 255)
    listing = digits.list()
    assert listing.digits == [kept] and listing.counts()[1] == 1 and not listing.skipped
    assert sorted(os.listdir(kept.path.parent)) == sorted([kept.path.name, kept.strokes_path.name])  # no temporaries


def test_an_empty_drawing_or_a_label_that_is_no_digit_is_refused(tmp_path):
    digits = PersonalDigits(tmp_path)
    with pytest.raises(PersonalError, match="there is nothing drawn to keep"):
        digits.add(np.zeros((280, 280), dtype=np.float32), 3)
    for label in (-1, 10, 2.5, True, "7"):
        with pytest.raises(PersonalError, match="a digit's label is 0–9"):
            digits.add(stroke_picture(), label)
    assert not any(tmp_path.rglob("*.png"))


def test_relabel_and_delete_move_and_remove_the_picture_with_its_strokes(tmp_path):
    digits = PersonalDigits(tmp_path)
    kept = digits.add(stroke_picture(), 7, [[(1.0, 2.0)]])
    moved = digits.relabel(kept, 1)
    assert moved.path == tmp_path / "1" / kept.path.name and moved.strokes_path.is_file()
    assert not kept.path.exists() and not kept.strokes_path.exists()
    digits.delete(moved)
    assert digits.list().digits == [] and not moved.strokes_path.exists()


def test_a_read_only_folder_is_a_clear_message(tmp_path, monkeypatch):
    def refused(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refused)
    with pytest.raises(PersonalError, match=r"Could not keep the drawing in .*/4: Read-only file system"):
        PersonalDigits(tmp_path).add(stroke_picture(), 4)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F"])
def test_pictures_of_any_mode_are_read_either_way_round(tmp_path, mode):
    ink = stroke_picture(side=100, thickness=10)
    paper = 1.0 - ink  # dark ink on light paper, as a scan gives it
    if mode in ("I;16", "I", "F"):
        values = (paper * (65535 if mode != "F" else 1.0)).astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
        picture = Image.fromarray(values)  # 16-bit grey, 32-bit integers, floats
        assert picture.mode == mode
    else:
        picture = Image.fromarray((paper * 255).astype(np.uint8), mode="L").convert(mode)
    path = tmp_path / f"digit-{mode.replace(';', '')}.png" if mode not in ("I", "F") else tmp_path / f"digit-{mode}.tif"
    picture.save(path)
    image = digit_image(path)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.max() > 0.5 and image[:, :6].max() < 0.1  # the bar in the middle, bright, like MNIST


@pytest.mark.parametrize("odd", [np.inf, -np.inf, np.nan])
def test_a_float_picture_with_a_value_that_is_not_finite_is_read(tmp_path, odd):
    paper = (1.0 - stroke_picture(side=100, thickness=10)).astype(np.float32)
    paper[0, 0] = odd
    Image.fromarray(paper).save(tmp_path / "digit.tif")
    image = digit_image(tmp_path / "digit.tif")
    assert np.isfinite(image).all() and image.max() > 0.5 and image[:, :6].max() < 0.1


def test_a_lab_picture_is_read_by_its_lightness(tmp_path):
    grey = ((1.0 - stroke_picture(side=100, thickness=10)) * 255).astype(np.uint8)
    lab = Image.merge("LAB", [Image.fromarray(grey), *[Image.new("L", (100, 100), 128)] * 2])
    lab.save(tmp_path / "digit.tif")
    image = digit_image(tmp_path / "digit.tif")
    assert image.max() > 0.5 and image[:, :6].max() < 0.1


def test_transparent_pictures_count_their_clear_parts_as_paper(tmp_path):
    rgba = np.zeros((80, 80, 4), dtype=np.uint8)
    rgba[10:70, 36:44] = (0, 0, 0, 255)  # black ink, everything else transparent
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "clear.png")
    image = digit_image(tmp_path / "clear.png")
    assert image.max() > 0.5 and image[:, :5].max() == 0


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "not-a-picture", "huge", "folder-named-png"])
def test_files_that_are_not_digit_pictures_are_skipped_with_a_note(tmp_path, damage):
    digits = PersonalDigits(tmp_path)
    good = digits.add(stroke_picture(), 1)
    folder = tmp_path / "1"
    if damage == "corrupt":
        (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    elif damage == "truncated":
        (folder / "bad.png").write_bytes(good.path.read_bytes()[:60])
    elif damage == "not-a-picture":
        (folder / "notes.txt").write_text("hello")
    elif damage == "huge":
        Image.new("L", (5000, 5000)).save(folder / "bad.png")
    else:
        (folder / "bad.png").mkdir()
    images, labels, kept, skipped = digits.load()
    assert len(images) == 1 and list(labels) == [1] and kept == [good]
    assert len(skipped) == 1 and ("bad.png" in skipped[0] or "notes.txt" in skipped[0])


def test_one_image_in_total_and_a_set_of_one_digit_load(tmp_path):
    digits = PersonalDigits(tmp_path)
    digits.add(stroke_picture(), 9)
    images, labels, _, _ = digits.load()
    assert images.shape == (1, 28, 28) and list(labels) == [9]
    assert PersonalDigits(tmp_path / "nothing").load()[0].shape == (0, 28, 28)


def test_a_tiny_picture_is_read_and_bytes_that_are_none_are_refused(tmp_path):
    Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).save(tmp_path / "tiny.png")
    assert digit_image(tmp_path / "tiny.png").shape == (28, 28)
    (tmp_path / "x.png").write_bytes(b"GIF8")
    with pytest.raises(PersonalError, match="not a picture this program reads"):
        read_picture(tmp_path / "x.png")


def test_import_copies_readable_pictures_and_names_the_rest(tmp_path):
    source = tmp_path / "shared"
    (source / "3").mkdir(parents=True)
    (source / "8").mkdir()
    Image.fromarray((stroke_picture(60, 6) * 255).astype(np.uint8)).save(source / "3" / "a.png")
    Image.fromarray((stroke_picture(60, 6) * 255).astype(np.uint8)).save(source / "8" / "b.jpg")
    (source / "8" / "broken.png").write_bytes(b"nope")
    (source / "readme.md").write_text("not in a digit folder: ignored")
    mine = PersonalDigits(tmp_path / "mine")
    copied, skipped = mine.import_folder(source)
    assert copied == 2 and len(skipped) == 1 and "broken.png" in skipped[0]
    assert mine.list().counts() == {**dict.fromkeys(range(10), 0), 3: 1, 8: 1}
    with pytest.raises(PersonalError, match="has no digit folders"):
        mine.import_folder(tmp_path / "empty")
    exported = tmp_path / "out"
    assert mine.export_to(exported) == 2 and len(list(exported.rglob("*.*"))) == 2


def test_ten_thousand_digits_list_without_reading_a_picture(tmp_path, monkeypatch):
    from mnistconv.core import personal

    for label in range(10):
        folder = tmp_path / str(label)
        folder.mkdir()
        for i in range(1000):
            (folder / f"{i:04d}.png").write_bytes(b"")
    monkeypatch.setattr(personal, "read_picture", lambda path: pytest.fail("listing must not open pictures"))
    listing = PersonalDigits(tmp_path).list()
    assert len(listing.digits) == 10_000 and listing.counts()[5] == 1000
