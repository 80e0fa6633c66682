"""Week 11: supervised fine-tuning: chat formats, loss masking, packing, an SFT loop, trl."""
