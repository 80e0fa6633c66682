"""Checks for w13.trl, and the week's agreement with trl (the one file of the week that imports
transformers, datasets and trl: about 10 s of imports on two busy cores).

- cpu_dpo_config sets what a CPU-only machine needs; make_dpo_trainer passes the reference model.
- trl's DPOTrainer loss on one collated batch (loss_type "sigmoid", and "ipo") equals the loss
  written out here from F.cross_entropy log-probs, and your dpo_loss / ipo_loss on your
  sequence_logprobs of the same weights (w13.dpo, w13.logprobs).
- trl's RewardTrainer on transformers' GPT2ForSequenceClassification(num_labels=1) holding your
  RewardModel's weights computes your bradley_terry_loss (w13.reward).
"""

import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import GPT2ForSequenceClassification
from trl import RewardConfig, RewardTrainer

from course.week13_alignment.data import EOS, char_vocab, hf_char_tokenizer
from roadmap.checking import assert_close, hf_gpt2_config, to_hf_gpt2
from roadmap.impl import load

from .support import logprob_oracle, tiny_gpt

trl_dpo = load("week13_alignment.trl_dpo")
dpo = load("week13_alignment.dpo")
logprobs = load("week13_alignment.logprobs")
reward = load("week13_alignment.reward")

PAIRS = [
    {"prompt": "ab ", "chosen": "cd", "rejected": "dcc"},
    {"prompt": "b a", "chosen": "a", "rejected": "bbd"},
    {"prompt": "dd", "chosen": "ab c", "rejected": "c"},
]
CHARS = char_vocab([p[k] for p in PAIRS for k in p])  # pad "\x00" = 0, EOS "\x03" = 1
V, BLOCK = len(CHARS), 16


def _hf(gpt):
    return to_hf_gpt2(gpt.state_dict(), V, BLOCK, 1, 2, 18)


def _trainer(tmp_path, loss_type="sigmoid", beta=0.3):
    policy, reference = tiny_gpt(0, V, BLOCK), tiny_gpt(1, V, BLOCK)
    cfg = trl_dpo.cpu_dpo_config(str(tmp_path), beta=beta, max_steps=1, batch_size=3)
    cfg.loss_type = [loss_type]
    hf_ref = _hf(reference)
    trainer = trl_dpo.make_dpo_trainer(
        _hf(policy), hf_ref, hf_char_tokenizer(CHARS), Dataset.from_list(PAIRS), cfg
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    return trainer, hf_ref, policy, reference, batch


def test_cpu_dpo_config(tmp_path):
    cfg = trl_dpo.cpu_dpo_config(
        str(tmp_path), beta=0.25, learning_rate=2e-3, max_steps=7, batch_size=5, seed=3
    )
    expected = {
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "save_strategy": "no",
        "beta": 0.25,
        "learning_rate": 2e-3,
        "max_steps": 7,
        "per_device_train_batch_size": 5,
        "seed": 3,
        "logging_steps": 1,
        "loss_type": ["sigmoid"],
    }
    for key, value in expected.items():
        got = getattr(cfg, key)
        got = getattr(got, "value", got)  # enums such as IntervalStrategy.NO
        assert got == value, f"cpu_dpo_config(...).{key} = {got!r}, expected {value!r}"
    assert cfg.report_to in ([], ["none"], "none"), (
        f"cpu_dpo_config(...).report_to = {cfg.report_to!r}: set report_to='none' (no trackers)"
    )


def test_dpo_trainer_loss_matches_ours_on_the_same_batch(tmp_path):
    trainer, hf_ref, policy, reference, batch = _trainer(tmp_path)
    assert trainer.ref_model is hf_ref, (
        "make_dpo_trainer must pass ref_model=ref_model to DPOTrainer (without it trl reloads a "
        "reference from model.config._name_or_path)"
    )
    assert abs(trainer.beta - 0.3) < 1e-12, f"the trainer's beta is {trainer.beta}, expected 0.3"
    trainer.model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, batch).item()
        ids, mask = batch["input_ids"], batch["completion_mask"]
        pol, ref = policy(ids)[0], reference(ids)[0]
        lp, lr = logprob_oracle(pol, ids, mask), logprob_oracle(ref, ids, mask)
        h = (lp[:3] - lr[:3]) - (lp[3:] - lr[3:])
        expected = F.softplus(-0.3 * h).mean().item()
        assert abs(trl_loss - expected) < 1e-4, (
            f"trl's DPO loss {trl_loss:.6f} differs from the loss written out here {expected:.6f}: "
            "is the trainer's loss_type 'sigmoid' and beta 0.3?"
        )
        ours_lp = logprobs.sequence_logprobs(pol, ids, mask)
        ours_lr = logprobs.sequence_logprobs(ref, ids, mask)
        ours, _, _ = dpo.dpo_loss(ours_lp[:3], ours_lp[3:], ours_lr[:3], ours_lr[3:], beta=0.3)
    assert abs(ours.item() - trl_loss) < 1e-4, (
        f"your dpo_loss on your sequence_logprobs gives {ours.item():.6f}, trl's DPOTrainer "
        f"{trl_loss:.6f} on the same batch (rows: 3 chosen then 3 rejected, completion_mask marks "
        "the response and its EOS)\n  likely cause: prompt tokens scored, the mask not shifted with "
        "the ids, or the reference terms swapped"
    )


def test_ipo_matches_trl_on_average_logprobs(tmp_path):
    trainer, _, policy, reference, batch = _trainer(tmp_path, loss_type="ipo", beta=0.4)
    trainer.model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, batch).item()
        ids, mask = batch["input_ids"], batch["completion_mask"]
        lp = logprobs.sequence_logprobs(policy(ids)[0], ids, mask, average=True)
        lr = logprobs.sequence_logprobs(reference(ids)[0], ids, mask, average=True)
        ours = dpo.ipo_loss(lp[:3], lp[3:], lr[:3], lr[3:], beta=0.4).item()
    assert abs(ours - trl_loss) < 1e-4, (
        f"your ipo_loss on per-token mean log-probs gives {ours:.6f}, trl's loss_type='ipo' "
        f"{trl_loss:.6f}\n  likely cause: (h - 1 / (2 beta))^2 with h from each side's own reference"
    )


def test_one_trl_step_trains_the_policy_not_the_reference(tmp_path):
    trainer, hf_ref, _, _, _ = _trainer(tmp_path)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    ref_before = {k: v.clone() for k, v in hf_ref.state_dict().items()}
    trainer.train()
    logged = [row for row in trainer.state.log_history if "loss" in row]
    assert logged, "trainer.train() logged no loss: logging_steps=1 in cpu_dpo_config"
    changed = any(not torch.equal(v, before[k]) for k, v in trainer.model.state_dict().items())
    assert changed, "one DPOTrainer step left the policy unchanged"
    for k, v in hf_ref.state_dict().items():
        assert torch.equal(v, ref_before[k]), f"the DPOTrainer step changed the reference ({k})"


def test_reward_trainer_agrees_with_our_reward_model(tmp_path):
    gpt = tiny_gpt(2, V, BLOCK)
    rm = reward.RewardModel(gpt).eval()
    with torch.no_grad():
        rm.head.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(0))
    config = hf_gpt2_config(V, BLOCK, 1, 2, 18)
    config.num_labels, config.pad_token_id = 1, 0
    hf = GPT2ForSequenceClassification(config).eval()
    hf.transformer.load_state_dict(_hf(gpt).transformer.state_dict())
    with torch.no_grad():
        hf.score.weight.copy_(rm.head.weight)
    tok = hf_char_tokenizer(CHARS)
    rows = [
        {"chosen_ids": tok(p["prompt"] + p["chosen"] + EOS)["input_ids"],
         "rejected_ids": tok(p["prompt"] + p["rejected"] + EOS)["input_ids"]}
        for p in PAIRS
    ]  # fmt: skip
    args = RewardConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        fp16=False,
        report_to="none",
        save_strategy="no",
        per_device_train_batch_size=3,
    )
    trainer = RewardTrainer(
        model=hf, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    trainer.model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, dict(batch)).item()
        r = rm(batch["input_ids"], batch["attention_mask"])
        ours = reward.bradley_terry_loss(r[:3], r[3:]).item()
        hf_r = hf(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    assert_close(
        r,
        hf_r,
        what="RewardModel vs GPT2ForSequenceClassification on the same right-padded batch",
        hint="the reward is the head applied to the final hidden state at the last real token",
        atol=1e-4,
    )
    assert abs(ours - trl_loss) < 1e-4, (
        f"your bradley_terry_loss of your RewardModel gives {ours:.6f}, trl's RewardTrainer "
        f"{trl_loss:.6f} on the same batch"
    )
