"""Shared test helpers."""

import time

import pytest
import torch
from flwr.app import ArrayRecord, Error, Message, MessageType, Metadata, RecordDict


def make_reply(
    node_id: int, content: RecordDict | None = None, error: str | None = None
):
    """A training reply from ``node_id`` as the ServerApp receives it."""
    metadata = Metadata(
        run_id=1,
        message_id=f"m{node_id}",
        src_node_id=node_id,
        dst_node_id=0,
        reply_to_message_id="",
        group_id="1",
        created_at=time.time(),
        ttl=3600.0,
        message_type=MessageType.TRAIN,
    )
    if error is not None:
        return Message(error=Error(code=0, reason=error), metadata=metadata)
    return Message(content=content, metadata=metadata)


@pytest.fixture
def reply_factory():
    return make_reply


@pytest.fixture
def empty_arrays():
    return ArrayRecord()


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one torch thread (tiny tensors: as fast, and
    immune to an oversubscribed CPU); the previous count is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def seeded():
    """Seed torch's global generator with 0 before a test."""
    torch.manual_seed(0)
