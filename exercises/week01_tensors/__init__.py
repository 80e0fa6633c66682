"""Week 01: tensors, shapes, masks, and the loss."""
