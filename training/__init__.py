"""The feedback loop: verified chains fine-tune the reasoner (LoRA SFT), train a process reward
model, run RL with process rewards (GRPO), evaluate, and version the results.

Layout (see docs/TRAINING.md):

- entry points, each ``main(...)`` + ``make_parser()`` with TRL-style dataclass configs from YAML:
  :mod:`training.sft`, :mod:`training.prm_text`, :mod:`training.prm_trl`, :mod:`training.grpo`,
  by name in :mod:`training.entry_points`;
- data: :mod:`training.snapshot` (export snapshots and splits), :mod:`training.data` (their rows),
  :mod:`training.step_errors` (the step-error task); rewards: :mod:`training.rewards`; PRM
  interface: :mod:`training.prm`, opened by :mod:`training.prm_loader`;
- evaluation: :mod:`training.evaluate`; the promotion gate: :mod:`training.gate`;
- bookkeeping: :mod:`training.runs` (training_runs, one job at a time), :mod:`training.registry`
  (model_versions, promotion);
- processes: :mod:`training.context` (what a worker needs, a run as its stage sees it),
  :mod:`training.worker` (``python -m training.worker RUN_ID --config FILE``),
  :mod:`training.launch` (spawning and following workers), :mod:`training.stages` (the stages),
  :mod:`training.loop` (its config, the trigger) and :mod:`training.loop_run` (one loop run).

The use case (start, follow, cancel, list jobs) is :mod:`services.training`, above this package.
Never imports gradio or the application (``chestx``): the composition root passes a
:class:`~training.context.WorkerConfig` down. Never runs inside the web process.
"""
