"""DPO with trl: a DPOConfig that runs on a CPU and a DPOTrainer with an explicit reference model.

trl's DPOTrainer computes the same loss as dpo.dpo_loss (loss_type "sigmoid") on the same summed
response log-probs; its check compares the two on one batch (it needs the hf extra:
transformers, trl).
Check: `python tracker.py check w13.trl`
"""

from trl import DPOConfig, DPOTrainer


def cpu_dpo_config(
    output_dir: str,
    beta: float = 0.1,
    learning_rate: float = 1e-3,
    max_steps: int = 10,
    batch_size: int = 4,
    seed: int = 0,
) -> DPOConfig:
    """A DPOConfig for a CPU-only machine.

    Besides the arguments (per_device_train_batch_size=batch_size), it sets use_cpu=True,
    bf16=False, fp16=False (trl defaults to bf16 and refuses without a GPU), report_to="none" (no
    tracker), save_strategy="no" (no checkpoints), logging_steps=1 (a loss per step in
    trainer.state.log_history) and loss_type="sigmoid" (plain DPO).
    Example: cpu_dpo_config("out", beta=0.25).beta == 0.25, and its use_cpu is True.
    """
    # TODO(w13.trl): return a DPOConfig with the arguments and the CPU settings listed above.
    raise NotImplementedError(
        "w13.trl: write cpu_dpo_config in exercises/week13_alignment/trl_dpo.py"
    )


def make_dpo_trainer(model, ref_model, tokenizer, train_dataset, config: DPOConfig) -> DPOTrainer:
    """A DPOTrainer over `train_dataset` (columns "prompt", "chosen", "rejected", plain text).

    `ref_model` is passed explicitly: without it trl reloads a reference from
    model.config._name_or_path, which fails for a model built in memory. `tokenizer` is the
    processing_class. Example: make_dpo_trainer(model, ref, tok, data, config).ref_model is ref.
    """
    # TODO(w13.trl): return a DPOTrainer that trains model against the given ref_model.
    raise NotImplementedError(
        "w13.trl: write make_dpo_trainer in exercises/week13_alignment/trl_dpo.py"
    )
