"""Week 12 exercises: parameter-efficient fine-tuning (LoRA, NF4 and QLoRA, prefix tuning, adapters)."""
