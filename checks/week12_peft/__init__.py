"""Week 12: parameter-efficient fine-tuning: LoRA, NF4 and QLoRA, prefix tuning, adapters."""
