"""The ssl task: backbone-only federation, the head kept in the client's state."""

import math

import pytest
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, RecordDict
from torchvision.models.video import r3d_18

from fedvideo.client_app import train as client_train
from fedvideo.config import ConfigError, default_run_config
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import local_round
from fedvideo.tasks import build_task, federation_config
from fedvideo.tasks.ssl.data.ctp_augment import CtPAugmentSettings

TINY = {
    "task": "ssl",
    "local-steps": 1,
    "ssl.crop-size": 32,
    "ssl.batch-size": 2,
    "ssl.eval-clips": 1,
    "synthetic-action.classes": 2,
    "synthetic-action.train-per-class": 2,
    "synthetic-action.test-per-class": 1,
    "synthetic-action.frames": 16,
    "synthetic-action.size": 36,
}


def _task(**overrides):
    config = default_run_config({**TINY, **overrides})
    return build_task(config, federation_config(config)), config


def test_global_state_is_backbone_only_unless_head_shared():
    task, _ = _task()
    model = task.build_model()
    keys = set(task.global_state(model))
    assert keys and all(k.startswith("backbone.") for k in keys)
    shared, _ = _task(**{"ssl.share-head": True})
    assert any(k.startswith("head.") for k in shared.global_state(model))


def test_exported_backbone_loads_into_torchvision_r3d18():
    task, _ = _task()
    exported = task.export_state(task.build_model())
    result = r3d_18(weights=None).load_state_dict(exported, strict=False)
    assert sorted(result.missing_keys) == ["fc.bias", "fc.weight"]
    assert not result.unexpected_keys


def test_load_global_state_rejects_wrong_keys():
    task, _ = _task()
    model = task.build_model()
    with pytest.raises(ValueError, match="does not fit the ssl model"):
        task.load_global_state(model, model.state_dict())  # head is not federated


def test_head_stays_on_the_client_between_rounds():
    task, _ = _task()
    client = ClientInfo(partition_id=0, num_partitions=2)
    state = RecordDict()
    model = task.build_model()
    local_round(task, model, client, RoundInfo(1, 2), torch.device("cpu"), state)
    head_after_round_1 = {k: v.clone() for k, v in model.head.state_dict().items()}
    stored = state["ctp-head"].to_torch_state_dict()
    for key, value in head_after_round_1.items():
        torch.testing.assert_close(stored[key], value)

    # Round 2 starts from a fresh model (as a ClientApp does): the head must come
    # back from the state, not from the fresh initialisation.
    fresh = task.build_model()
    assert not torch.equal(fresh.head.fc2.weight, head_after_round_1["fc2.weight"])
    task._restore_head(fresh, state)
    torch.testing.assert_close(fresh.head.fc2.weight, head_after_round_1["fc2.weight"])


@pytest.mark.parametrize("thread_policy", ["fixed", "adaptive"])
def test_client_app_replies_with_backbone_only_and_keeps_head(
    reply_factory, thread_policy
):
    task, config = _task(**{"thread-policy": thread_policy})
    model = task.build_model()
    arrays = ArrayRecord(task.global_state(model))
    content = RecordDict(
        {"arrays": arrays, "config": ConfigRecord({"server-round": 1, "num-rounds": 2})}
    )
    message = reply_factory(1, content)  # a Message with full metadata
    context = Context(
        run_id=1,
        node_id=1,
        node_config={"partition-id": 0, "num-partitions": 2},
        state=RecordDict(),
        run_config=config,
    )
    reply = client_train(message, context)
    sent = reply.content["arrays"]
    assert set(sent) == set(arrays)
    assert "ctp-head" in context.state
    loss = reply.content["metrics"]["train_loss"]
    assert loss > 0 and loss == loss
    # adaptive threads report their mean count over the steps
    assert ("threads" in reply.content["metrics"]) == (thread_policy == "adaptive")


def test_unknown_dataset_folder_is_reported(tmp_path):
    task, _ = _task(**{"ssl.dataset": str(tmp_path / "missing")})
    with pytest.raises((ConfigError, ValueError), match="missing"):
        task.client_data(ClientInfo(0, 2))


def test_trains_and_evaluates_on_a_prepared_frame_folder_dataset(tmp_path):
    from fedvideo.tasks.ssl.data.synthetic import write_synthetic_action_dataset

    root = write_synthetic_action_dataset(
        tmp_path / "prepared",
        seed=3,
        num_classes=2,
        train_per_class=2,
        test_per_class=1,
        frames=16,
        size=36,
    )
    task, _ = _task(**{"ssl.dataset": str(root)})
    model = task.build_model()
    result = local_round(
        task,
        model,
        ClientInfo(0, 1),
        RoundInfo(1, 1),
        torch.device("cpu"),
        RecordDict(),
    )
    assert result.num_examples == 4 and result.train_loss > 0
    # Every round reports the no-motion baseline next to the pretext loss.
    assert result.metrics["loss_no_motion"] > 0
    local = task.evaluate(model, ClientInfo(0, 1), torch.device("cpu")).metrics
    assert set(local) == {
        "pretext_loss",
        "pretext_loss_no_motion",
        "loss_center",
        "loss_size",
    }
    assert local["pretext_loss_no_motion"] > 0
    scores = task.evaluate_global(model, torch.device("cpu"))
    assert set(scores) == {"R@1", "R@5", "R@10", "R@20", "R@50"}
    assert scores["R@50"] == 100.0


def test_final_evaluation_fine_tunes_when_asked(tmp_path):
    task, _ = _task(**{"ssl.finetune-epochs": 1, "ssl.finetune-batch-size": 2})
    scores = task.final_evaluation(task.build_model(), torch.device("cpu"), tmp_path)
    assert set(scores) == {"top1", "top5", "finetune_loss"}
    assert 0.0 <= scores["top1"] <= 100.0 and scores["top5"] == 100.0  # 2 classes
    plain, _ = _task()
    cpu = torch.device("cpu")
    assert plain.final_evaluation(plain.build_model(), cpu, tmp_path) == {}


def test_partition_file_selects_the_clients_videos(tmp_path):
    from fedvideo.data.partition import write_partition_file

    task, _ = _task()
    names = [v.name for v in task.splits().train]
    path = tmp_path / "partition.json"
    write_partition_file(path, [names[:1], names[1:]], {"task": "ssl"})
    task, _ = _task(**{"ssl.partitioning": str(path)})
    assert [v.name for v in task.client_data(ClientInfo(0, 2))] == names[:1]
    assert [v.name for v in task.client_data(ClientInfo(1, 2))] == names[1:]


def test_iid_partition_is_shuffled_and_complete():
    task, _ = _task(**{"synthetic-action.train-per-class": 4})
    parts = [task.client_data(ClientInfo(i, 2)) for i in range(2)]
    names = sorted(v.name for part in parts for v in part)
    assert names == sorted(v.name for v in task.splits().train)
    assert {v.label for v in parts[0]} == {0, 1}  # not contiguous by class


# ------------------------------------------------------------ pretext tasks
@pytest.mark.parametrize(
    ("pretext", "frames", "classes"), [("vcop", 20, 6), ("speed", 64, 7)]
)
def test_classification_pretexts_train_and_report_their_baselines(
    pretext, frames, classes
):
    task, _ = _task(**{"ssl.pretext": pretext, "synthetic-action.frames": frames})
    client = ClientInfo(partition_id=0, num_partitions=2)
    model = task.build_model()
    assert all(k.startswith("backbone.") for k in task.global_state(model))
    fresh = task.evaluate(model, client, torch.device("cpu")).metrics
    assert fresh["pretext_loss_uniform"] == pytest.approx(math.log(classes))
    assert fresh["pretext_chance_accuracy"] == pytest.approx(1 / classes)
    assert fresh["pretext_loss"] == pytest.approx(math.log(classes), rel=0.01)
    assert 0.0 <= fresh["pretext_accuracy"] <= 1.0
    state = RecordDict()
    result = local_round(
        task, model, client, RoundInfo(1, 2), torch.device("cpu"), state
    )
    assert f"{pretext}-head" in state
    assert result.metrics["loss_uniform"] == pytest.approx(math.log(classes))
    assert "loss_accuracy" in result.metrics
    assert task.plot.loss_references[0][0] == "uniform"


@pytest.mark.parametrize(("pretext", "needed"), [("vcop", 18), ("speed", 61)])
def test_videos_too_short_for_the_pretext_name_the_setting(pretext, needed):
    with pytest.raises(ConfigError, match=f"synthetic-action.frames.*>= {needed}"):
        _task(**{"ssl.pretext": pretext, "synthetic-action.frames": needed - 1})


def test_unknown_pretext_is_refused():
    with pytest.raises(ConfigError, match="ssl.pretext"):
        _task(**{"ssl.pretext": "jigsaw"})


def test_ctp_settings_come_from_the_run_config():
    task, _ = _task(
        **{
            "ssl.ctp.trajectory": "constant-velocity",
            "ssl.ctp.speed-scale": 2.0,
            "ssl.ctp.patch-content": "solid",
            "ssl.ctp.size-change": 0.0,
            "ssl.ctp.paste-prob": 1.0,
            "ssl.ctp.min-opacity": 1.0,
            "ssl.ctp.soft-edge-prob": 0.0,
        }
    )
    target = task.pretext.curriculum.target
    assert target.soft_edge_prob == 0.0
    assert target.max_speed == 6.0
    assert target.solid_prob == 1.0
    assert target.key_frame_probs == (1.0,)
    assert target.max_log_size_change == 0.0
    assert target.opacity_range == (1.0, 1.0) and target.paste_prob == 1.0
    official, _ = _task()
    assert official.pretext.curriculum.target == CtPAugmentSettings()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ssl.ctp.trajectory", "zigzag"),
        ("ssl.ctp.patch-content", "noise"),
        ("ssl.ctp.curriculum", 1.5),
        ("ssl.ctp.min-opacity", -0.1),
        ("ssl.ctp.soft-edge-prob", 2.0),
    ],
)
def test_bad_ctp_settings_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        _task(**{key: value})


def test_lr_decay_at_divides_the_rate_after_that_share_of_all_rounds():
    constant, _ = _task(**{"ssl.lr": 0.02})
    assert constant.learning_rate(RoundInfo(4, 4), 9, 10) == pytest.approx(0.02)
    task, _ = _task(**{"ssl.lr": 0.02, "ssl.lr-decay-at": 0.5})
    # 4 rounds of 10 steps: progress (round - 1 + step / 10) / 4.
    rates = [
        task.learning_rate(RoundInfo(server_round, 4), step, 10)
        for server_round, step in ((1, 0), (2, 9), (3, 0), (4, 9))
    ]
    assert rates == pytest.approx([0.02, 0.02, 0.002, 0.002])
    with pytest.raises(ConfigError, match="ssl.lr-decay-at"):
        _task(**{"ssl.lr-decay-at": 1.5})


def test_curriculum_follows_the_round_number(monkeypatch):
    task, _ = _task(**{"ssl.ctp.curriculum": 0.5})
    client = ClientInfo(partition_id=0, num_partitions=2)
    built = []
    train_clips = task.pretext.train_clips

    def recording_train_clips(videos, seed, progress):
        dataset = train_clips(videos, seed, progress)
        built.append(dataset.augment)
        return dataset

    monkeypatch.setattr(task.pretext, "train_clips", recording_train_clips)
    difficulties = []
    for server_round in (1, 2, 3, 4):
        training = task.local_training(
            task.build_model(),
            client,
            RoundInfo(server_round, 4),
            seed=0,
            device=torch.device("cpu"),
            local_state=RecordDict(),
        )
        difficulties.append(training.metrics["ctp_difficulty"])
    assert difficulties == [0.0, 0.5, 1.0, 1.0]
    assert [s.solid_prob for s in built] == [1.0, 0.5, 0.0, 0.0]
    assert built[-1] == CtPAugmentSettings()


@pytest.mark.parametrize(
    ("pretext", "official"), [("ctp", 0.01), ("vcop", 0.001), ("speed", 0.01)]
)
def test_lr_zero_is_the_official_rate_of_the_pretext(pretext, official):
    task, _ = _task(**{"ssl.pretext": pretext, "synthetic-action.frames": 64})
    assert task.pretext.lr == official
    chosen, _ = _task(
        **{"ssl.pretext": pretext, "synthetic-action.frames": 64, "ssl.lr": 0.05}
    )
    assert chosen.pretext.lr == 0.05
