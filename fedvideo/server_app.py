"""fedvideo ServerApp: task-agnostic federated training with results on disk."""

from __future__ import annotations

from logging import ERROR, INFO

from flwr.app import ConfigRecord, Context
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

from fedvideo.config import FederationConfig, parse_section
from fedvideo.fl.after_round import AfterRound
from fedvideo.fl.resume import start_point
from fedvideo.strategy import build_strategy
from fedvideo.tasks import build_task
from fedvideo.utils import atomic_torch_save, select_device

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run ``num-server-rounds`` rounds of the configured task and strategy.

    With ``resume`` or ``resume-from`` only the rounds after the checkpoint
    run; a checkpoint of the last round just finishes the run (final model and
    final evaluation).
    """
    run_config = dict(context.run_config)
    federation = parse_section(run_config, FederationConfig)
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
    round_config = ConfigRecord({"num-rounds": federation.num_server_rounds})
    final_arrays = start.arrays
    try:
        if start.first_round <= federation.num_server_rounds:
            result = strategy.start(
                grid=grid,
                initial_arrays=start.arrays,
                num_rounds=federation.num_server_rounds,
                timeout=federation.round_timeout,
                train_config=round_config,
                evaluate_config=ConfigRecord(round_config),
                evaluate_fn=AfterRound(
                    task, model, device, federation, strategy, recorder
                ),
                first_round=start.first_round,
            )
            # Empty when no round updated the global model (all kept it).
            if len(result.arrays):
                final_arrays = result.arrays
    except BaseException as err:
        recorder.finish("failed", error=f"{type(err).__name__}: {err}")
        log(ERROR, "fedvideo: run failed; partial results in %s", recorder.results_path)
        raise

    task.load_global_state(model, final_arrays.to_torch_state_dict())
    atomic_torch_save(task.export_state(model), run_dir / "model.pt")
    final = task.final_evaluation(model.to(device), device, run_dir)
    if final:
        summary = "  ".join(f"{k} {v:.4f}" for k, v in final.items())
        log(INFO, "fedvideo: final evaluation: %s", summary)
    recorder.finish("completed", final_evaluation=final)
    log(INFO, "fedvideo: results  %s", recorder.results_path)
    log(INFO, "fedvideo: plot     %s", recorder.plot_path)
    log(INFO, "fedvideo: model    %s", run_dir / "model.pt")
