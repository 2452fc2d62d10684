"""fedvideo ClientApp: task-agnostic local training and evaluation.

The run config names the task and the strategy; the ClientApp builds the task,
loads the global weights into its model and runs the core's
:func:`~fedvideo.fl.training.local_round` with the strategy's client-side hook.
Before its first round a client checks its whole training data once
(:meth:`~fedvideo.fl.task.Task.check_client_data`). A data or configuration
fault is answered with an input-error reply that names the client and the file
or setting (:mod:`fedvideo.fl.client_errors`), so that the server can stop a
run that cannot learn.
"""

from __future__ import annotations

from logging import ERROR

from flwr.app import ArrayRecord, Context, Error, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.logger import log
from torch import nn

from fedvideo.fl.client_errors import INPUT_ERRORS, check_once, input_error_reason
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.flower_compat import client_app_error_code
from fedvideo.fl.task import RoundInfo, Task
from fedvideo.fl.threads import adaptive_threads
from fedvideo.fl.training import local_round
from fedvideo.strategy import strategy_class
from fedvideo.tasks import build_task, federation_config
from fedvideo.utils import configure_threads, select_device

app = ClientApp()


def _receive(msg: Message, context: Context):
    """Validate the run config and build the task and model with the global weights."""
    federation = federation_config(context.run_config)
    configure_threads(federation.num_threads)
    task = build_task(context.run_config, federation)
    device = select_device(federation.device)
    model = task.build_model()
    task.load_global_state(model, msg.content["arrays"].to_torch_state_dict())
    client = ClientInfo.from_node_config(context.node_config)
    return federation, task, model.to(device), device, client


def _input_error_reply(msg: Message, context: Context, error: Exception) -> Message:
    """Answer ``msg`` with an error naming the client and the input at fault."""
    try:
        client = ClientInfo.from_node_config(context.node_config).label
    except INPUT_ERRORS:
        client = f"node {context.node_id}"
    reason = input_error_reason(client, error)
    log(ERROR, "%s", reason)
    error_record = Error(code=client_app_error_code(), reason=reason)
    return Message(error_record, reply_to=msg)


def _arrays(task: Task, model: nn.Module) -> ArrayRecord:
    state = task.global_state(model)
    return ArrayRecord({k: v.detach().cpu() for k, v in state.items()})


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Train the received global model on this client's partition for one round."""
    try:
        return _train(msg, context)
    except INPUT_ERRORS as err:
        return _input_error_reply(msg, context, err)


def _train(msg: Message, context: Context) -> Message:
    federation, task, model, device, client = _receive(msg, context)
    run_config = tuple(sorted(context.run_config.items()))
    check_once((run_config, client), lambda: task.check_client_data(client))
    config = msg.content["config"]
    round_info = RoundInfo(
        server_round=int(config["server-round"]),
        num_rounds=int(config["num-rounds"]),
        config=dict(config),
    )
    hook = strategy_class(federation.strategy).client_term
    result = local_round(task, model, client, round_info, device, context.state, hook)
    metrics = MetricRecord(
        {
            "train_loss": result.train_loss,
            "num-examples": result.num_examples,
            "partition_id": client.partition_id,
            **result.metrics,
        }
    )
    content = RecordDict({"arrays": _arrays(task, model), "metrics": metrics})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Evaluate the received global model on this client's local data."""
    try:
        federation, task, model, device, client = _receive(msg, context)
        policy = federation.thread_policy
        with adaptive_threads(policy, device, measure_first=True):
            result = task.evaluate(model, client, device)
    except INPUT_ERRORS as err:
        return _input_error_reply(msg, context, err)
    metrics = MetricRecord({**result.metrics, "num-examples": result.num_examples})
    return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)
