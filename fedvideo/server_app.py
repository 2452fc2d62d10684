"""fedvideo ServerApp: task-agnostic federated training with results on disk.

A run ends with exactly one status in ``results.json``: ``completed``,
``failed`` (with the error, e.g. clients that cannot read their data) or
``stopped`` (``flwr stop`` or a signal; no round after it is recorded).
"""

from __future__ import annotations

import time
from logging import ERROR, INFO, WARNING

from flwr.app import ConfigRecord, Context
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

from fedvideo.fl.after_round import AfterRound
from fedvideo.fl.flower_compat import add_exit_handler
from fedvideo.fl.results import RunRecorder, time_breakdown
from fedvideo.fl.resume import start_point
from fedvideo.strategies.base import FedVideoStrategy
from fedvideo.strategies.run_health import RunFailed
from fedvideo.strategy import build_strategy
from fedvideo.tasks import build_task, federation_config
from fedvideo.utils import atomic_torch_save, save_weights, select_device

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run ``num-server-rounds`` rounds of the configured task and strategy.

    With ``resume`` or ``resume-from`` only the rounds after the checkpoint
    run; a checkpoint of the last round just finishes the run (final model and
    final evaluation).
    """
    started = time.perf_counter()
    run_config = dict(context.run_config)
    federation = federation_config(run_config)
    task = build_task(run_config, federation)
    strategy = build_strategy(federation, run_config)
    device = select_device(federation.device)
    model = task.initial_model()

    start = start_point(run_config, federation, task, model, strategy)
    run_dir, recorder = start.run_dir, start.recorder
    log(
        INFO,
        "fedvideo: %s with %s, results in %s",
        task.name,
        federation.strategy,
        run_dir,
    )
    # flwr stop (and SIGINT/SIGTERM) ends the process through Flower's exit
    # handlers: mark the run stopped before any later round could be recorded.
    add_exit_handler(
        lambda: _finish(recorder, strategy, "stopped", error="stopped by a signal"),
        run_before_force_exit=True,
    )
    recorder.start_heartbeat()
    round_config = ConfigRecord({"num-rounds": federation.num_server_rounds})
    final_arrays = start.arrays
    after_round = AfterRound(task, model, device, federation, strategy, recorder)
    startup_seconds = time.perf_counter() - started

    # A resumed run's results hold the earlier process's rounds too; the time
    # summary is this process's (round 0, the initial evaluation, runs only in
    # a fresh run's process).
    first_timed = 0 if start.first_round == 1 else start.first_round

    def times(saving: float = 0.0, final: float = 0.0) -> dict[str, float]:
        return time_breakdown(
            [r for r in recorder.data["rounds"] if r["round"] >= first_timed],
            startup_seconds,
            after_round.saving_seconds + saving,
            final,
            time.perf_counter() - started,
        )

    try:
        if start.first_round <= federation.num_server_rounds:
            result = strategy.start(
                grid=grid,
                initial_arrays=start.arrays,
                num_rounds=federation.num_server_rounds,
                timeout=federation.round_timeout,
                train_config=round_config,
                evaluate_config=ConfigRecord(round_config),
                evaluate_fn=after_round,
                first_round=start.first_round,
            )
            if not strategy.updated_rounds:
                raise RunFailed(
                    f"no round from {start.first_round} to "
                    f"{federation.num_server_rounds} accepted a client reply: the "
                    "global model never changed (see client_errors in "
                    f"{recorder.results_path})"
                )
            # Empty when no round updated the global model (all kept it).
            if len(result.arrays):
                final_arrays = result.arrays
    except BaseException as err:
        stopped = isinstance(err, (KeyboardInterrupt, SystemExit))
        status = "stopped" if stopped else "failed"
        error = f"{type(err).__name__}: {err}"
        _finish(recorder, strategy, status, error=error, time=times())
        if not stopped:
            log(ERROR, "fedvideo: run failed: %s", err)
            log(ERROR, "fedvideo: partial results in %s", recorder.results_path)
        raise

    saving = time.perf_counter()
    task.load_global_state(model, final_arrays.to_torch_state_dict())
    exported = task.export_state(model)
    atomic_torch_save(exported, run_dir / "model.pt")
    save_weights(exported, run_dir / "model.safetensors")
    final_start = time.perf_counter()
    final = task.final_evaluation(model.to(device), device, run_dir)
    final_seconds = time.perf_counter() - final_start
    if final:
        summary = "  ".join(f"{k} {v:.4f}" for k, v in final.items())
        log(INFO, "fedvideo: final evaluation: %s", summary)
    breakdown = times(saving=final_start - saving, final=final_seconds)
    _finish(recorder, strategy, "completed", final_evaluation=final, time=breakdown)
    log(INFO, "fedvideo: time  %s", _format_times(breakdown))
    log(INFO, "fedvideo: results  %s", recorder.results_path)
    log(INFO, "fedvideo: plots    %s, %s", recorder.plot_path, recorder.loss_plot_path)
    log(INFO, "fedvideo: model    %s (and model.safetensors)", run_dir / "model.pt")


def _format_times(breakdown: dict[str, float]) -> str:
    """``startup 3.1 s  rounds 120.4 s ...`` for the run's last log lines."""
    return "  ".join(
        f"{name.removesuffix('_seconds').replace('_', ' ')} {value:.1f} s"
        for name, value in breakdown.items()
    )


def _finish(
    recorder: RunRecorder, strategy: FedVideoStrategy, status: str, **extra
) -> None:
    """Record the final status once, with the clients that failed, and log them."""
    errors = strategy.client_errors.summary()
    if not recorder.finish(status, client_errors=errors, **extra):
        return
    for row in errors:
        log(
            WARNING,
            "fedvideo: %s failed %d of %d rounds%s; last error: %s",
            row["client"],
            row["failed_rounds"],
            row["of_rounds"],
            " (every round)" if row["every_round"] else "",
            row["last_error"],
        )
    if status != "failed":  # a failed run's error is logged by main()
        log(INFO if status == "completed" else WARNING, "fedvideo: run %s", status)
