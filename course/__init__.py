"""Given runtime of the course: code the learner does not write and that has no twin.

- `course.data`: the dataset registry (pinned URLs and sha256), the cache and the fixtures' paths.
- `course.weekNN_topic.project`: each week's project (`python tracker.py project N`).
- Week commands such as `tiny-gpt-train` (`course.week05_gpt.train`).

Everything here reaches the learner's code through the seam (`roadmap.impl.load`), so it runs on
either tree (`--impl exercises|solutions`).
"""
