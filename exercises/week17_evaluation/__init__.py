"""Week 17: evaluation: perplexity, multiple-choice scoring, few-shot prompts, answer extraction,
safety, bootstrap intervals and model cards."""
