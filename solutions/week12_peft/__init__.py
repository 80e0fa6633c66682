"""Week 12 reference: parameter-efficient fine-tuning (LoRA, NF4 and QLoRA, prefix tuning, adapters)."""
