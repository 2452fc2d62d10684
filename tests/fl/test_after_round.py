"""What the server records after a round: the clients' mean loss and its parts."""

import pytest

from fedvideo.fl.after_round import _mean_train_loss, _mean_train_parts


def _client(train_loss, num_examples, **metrics):
    return {"train_loss": train_loss, "num_examples": num_examples, "metrics": metrics}


def test_mean_loss_parts_are_example_weighted_and_common_to_all_clients():
    clients = [
        _client(2.0, 1.0, loss_center=1.0, loss_no_motion=4.0, loss_prox=0.5, steps=3),
        _client(5.0, 3.0, loss_center=2.0, loss_no_motion=6.0, steps=3),
    ]
    assert _mean_train_loss(clients) == pytest.approx((2.0 + 15.0) / 4)
    # loss_prox is missing from one client; steps is no loss part.
    assert _mean_train_parts(clients) == pytest.approx(
        {"center": 1.75, "no_motion": 5.5}
    )
    assert _mean_train_parts([]) == {} and _mean_train_loss([]) is None
