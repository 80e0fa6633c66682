"""Week 01: tensors, shapes, masks, and the loss: the project (given runtime)."""
