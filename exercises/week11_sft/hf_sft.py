"""The same fine-tuning through transformers and trl: a chat template, an HF tokenizer, SFTTrainer.

Your week-06 BPE becomes a `PreTrainedTokenizerFast` (via its HF `tokenizers` JSON) that carries a
Jinja chat template; your week-05 GPT becomes a `GPT2LMHeadModel` (week-05 `export_hf`). trl's
`SFTTrainer` then renders each conversation with the template, and with `assistant_only_loss=True`
trains only the tokens the template marks with `{% generation %} ... {% endgeneration %}`: the same
labels as masking.chat_example. The checks need the hf extra (transformers, trl).
Check: `python tracker.py check w11.trl`
"""

from solutions.week06_tokenizers.export import to_hf_json
from solutions.week06_tokenizers.tokenizer import BPETokenizer

from .formatting import IM_END

PAD = "<PAD>"  # the padding token: a special that never occurs in text, so never a real token


def chatml_template() -> str:
    """A Jinja chat template that renders exactly like formatting.render_chatml.

    `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=g)` must equal
    render_chatml(messages, g) for any messages. Each assistant message's content and its
    "<|im_end|>" (not the "\\n" after it) sit inside `{% generation %} ... {% endgeneration %}`, so
    `return_assistant_tokens_mask=True` (and trl's assistant_only_loss) marks exactly those tokens.
    The template uses `messages` and `add_generation_prompt` only.

    Example: [{"role": "user", "content": "Hi"}] with add_generation_prompt=True renders
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n".
    """
    # TODO(w11.trl): return a Jinja template rendering like render_chatml, assistant marked
    raise NotImplementedError("w11.trl: write chatml_template in exercises/week11_sft/hf_sft.py")


def to_hf_tokenizer(tok: BPETokenizer):
    """Wrap the week-06 tokenizer as a transformers PreTrainedTokenizerFast for chat fine-tuning.

    Built from week-06 `to_hf_json(tok)`; eos_token "<|im_end|>" (where an answer ends), pad_token
    "<PAD>" (never a real token, so padding can not be mistaken for text), chat_template =
    chatml_template(). Encodes exactly like `tok.encode`.

    Example: for a tok with "<PAD>" 256 and "<|im_end|>" 258, hf(text,
    add_special_tokens=False)["input_ids"] == tok.encode(text), hf.eos_token_id == 258 and
    hf.pad_token_id == 256.

    Raises:
        ValueError: if tok lacks the special "<PAD>" or "<|im_end|>".
    """
    # TODO(w11.trl): return an HF tokenizer that encodes like tok and knows the specials
    raise NotImplementedError("w11.trl: write to_hf_tokenizer in exercises/week11_sft/hf_sft.py")


def sft_config(
    out_dir: str,
    *,
    max_steps: int,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    seed: int = 0,
):
    """A trl SFTConfig for CPU training on conversations with the loss on the assistant only.

    CPU settings: use_cpu=True, bf16=False, fp16=False, report_to="none", save_strategy="no".
    Training: assistant_only_loss=True, packing=False, max_steps, per_device_train_batch_size =
    batch_size, learning_rate with a constant schedule (lr_scheduler_type "constant", no warmup),
    weight_decay 0.0, max_length, logging_steps=1 (one loss per step in trainer.state.log_history),
    disable_tqdm=True, seed, output_dir = out_dir.

    Example: sft_config("runs/x", max_steps=7, learning_rate=3e-3, batch_size=3, max_length=99,
    seed=5) has .max_steps 7, .per_device_train_batch_size 3, .max_length 99, .seed 5.
    """
    # TODO(w11.trl): return the SFTConfig this docstring describes
    raise NotImplementedError("w11.trl: write sft_config in exercises/week11_sft/hf_sft.py")


def sft_trainer(model, tokenizer, conversations: list[list[dict[str, str]]], config):
    """An SFTTrainer on `conversations` (each a list of messages), ready for `.train()`.

    Given: the dataset is the conversational format trl expects, one {"messages": [...]} per row.
    """
    from datasets import Dataset
    from trl import SFTTrainer

    dataset = Dataset.from_list([{"messages": c} for c in conversations])
    return SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
