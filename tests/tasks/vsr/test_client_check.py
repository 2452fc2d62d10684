"""A VSR client checks every frame of its clips before it trains."""

import numpy as np
import pytest
from PIL import Image
from tiny_tasks import tiny_task
from vsr_layouts import make_reds

from fedvideo.data.errors import DatasetError
from fedvideo.fl.client_info import ClientInfo
from fedvideo.tasks.vsr.data.video import FrameFolderVideo


def _clip(root, name="001"):
    return FrameFolderVideo(
        name,
        root / "train_sharp_bicubic" / "X4" / name,
        root / "train_sharp" / name,
        4,
    )


def test_verify_passes_intact_clips(tmp_path):
    root = make_reds(tmp_path / "reds")
    _clip(root).verify()


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a png at all"),
        lambda path: path.write_bytes(path.read_bytes()[:-40]),  # truncated
        lambda path: Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path),
    ],
    ids=["garbage", "truncated", "other-size"],
)
def test_verify_names_a_damaged_later_frame(tmp_path, damage):
    root = make_reds(tmp_path / "reds")
    frame = root / "train_sharp" / "001" / "00000003.png"
    damage(frame)
    clip = _clip(root)  # construction reads only the first frames: it passes
    with pytest.raises(DatasetError, match=str(frame)):
        clip.verify()


def test_check_client_data_checks_only_the_clients_partition(tmp_path):
    root = make_reds(tmp_path / "reds", ("000", "001", "002", "003", "004", "011"))
    (root / "train_sharp_bicubic" / "X4" / "003" / "00000004.png").write_bytes(b"x")
    task, _, _ = tiny_task(**{"vsr.dataset": str(root), "vsr.frame-cache-mb": 0})
    names = [[v.name for v in task.client_data(ClientInfo(pid, 2))] for pid in range(2)]
    assert names == [["001", "002"], ["003", "004"]]  # 000 and 011: REDS4, test
    task.check_client_data(ClientInfo(0, 2))
    with pytest.raises(DatasetError, match="003/00000004.png"):
        task.check_client_data(ClientInfo(1, 2))
