"""Week 18: serve the learner's model: OpenAI-compatible API, Gradio UI, agent, Docker."""
