"""The feedback loop: verified chains fine-tune the reasoner (LoRA SFT), train a process reward
model, run RL with process rewards (GRPO), evaluate, and version the results.

Layout (see docs/TRAINING.md):

- entry points, each ``main(...)`` + ``make_parser()`` with TRL-style dataclass configs from YAML:
  :mod:`training.sft`, :mod:`training.prm_text`, :mod:`training.prm_trl`, :mod:`training.grpo`;
- data: :mod:`training.data` (export snapshots and splits), :mod:`training.step_errors` (the
  step-error task); rewards: :mod:`training.rewards`; PRM interface: :mod:`training.prm`;
- evaluation and the promotion gate: :mod:`training.evaluate`;
- bookkeeping: :mod:`training.runs` (training_runs, one job at a time), :mod:`training.registry`
  (model_versions, promotion);
- processes: :mod:`training.worker` (``python -m training.worker RUN_ID``), :mod:`training.launch`
  (spawning and following workers), :mod:`training.loop` (trigger and stages), :mod:`training.jobs`
  (what the CLI and the app call).

Never imports gradio; never runs inside the web process (the app calls :mod:`training.jobs`,
which starts a separate process).
"""
