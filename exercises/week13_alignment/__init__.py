"""Week 13: alignment: reward models, sequence log-probs, GAE, PPO, a toy RLHF loop, DPO, GRPO, trl."""
