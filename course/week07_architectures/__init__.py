"""Week 07: modern architectures (RoPE, RMSNorm, SwiGLU, GQA, MoE, LLaMA) and loading real models: the project (given runtime)."""
